//! Criterion benches of the integer kernels, per kernel set the CPU has: the int8 GEMM at
//! 256×1024×1024 and batch-1 GEMV at 1024×1024 for 8-, 4- and 2-bit weights. The peer
//! comparisons (ONNX Runtime, tract) are in `bench/runtime_peers.py`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use qfront_quant::packing::code_range;
use qfront_quant::BitWidth;
use qfront_rt::kernels::{KernelSet, PreparedWeights, Scratch};

fn data(m: usize, k: usize, n: usize, bits: u32) -> (Vec<u8>, Vec<i8>) {
    let mut state = 1u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let (lo, hi) = code_range(BitWidth::new(bits).unwrap());
    let a = (0..m * k).map(|_| next() as u8).collect();
    let w = (0..n * k)
        .map(|_| (lo + (next() % (hi - lo + 1) as u32) as i32) as i8)
        .collect();
    (a, w)
}

fn matmul(c: &mut Criterion) {
    for set in KernelSet::available()
        .into_iter()
        .filter(|s| *s != KernelSet::Reference)
    {
        let mut group = c.benchmark_group(format!("gemm_256x1024x1024/{}", set.name()));
        group.throughput(Throughput::Elements(2 * 256 * 1024 * 1024));
        group.sample_size(20);
        let (a, w) = data(256, 1024, 1024, 8);
        let weights = PreparedWeights::new(w, 1024, 1024, 8, set);
        let mut out = vec![0i32; 256 * 1024];
        let mut scratch = Scratch::default();
        group.bench_function("w8a8", |b| {
            b.iter(|| weights.matmul(black_box(&a), 256, &mut out, &mut scratch))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("gemv_1024x1024/{}", set.name()));
        group.throughput(Throughput::Elements(2 * 1024 * 1024));
        for bits in [8, 4, 2] {
            let (a, w) = data(1, 1024, 1024, bits);
            let weights = PreparedWeights::new(w, 1024, 1024, bits, set);
            let mut out = vec![0i32; 1024];
            let mut scratch = Scratch::default();
            group.bench_function(format!("w{bits}a8"), |b| {
                b.iter(|| weights.matmul(black_box(&a), 1, &mut out, &mut scratch))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, matmul);
criterion_main!(benches);
