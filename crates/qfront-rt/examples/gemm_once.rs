//! Runs one integer GEMM shape a given number of times with a given kernel set, for
//! instruction counting under emulation (`bench/arm_instructions.py` runs it under
//! `qemu-aarch64` twice, with two repeat counts, and divides the difference by the
//! multiply-adds).
//!
//! `gemm_once <kernel set> <m rows> <outputs> <columns> <repeats> [<weight bits, 8>]`

use qfront_rt::kernels::{KernelSet, PreparedWeights, Scratch};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: gemm_once <kernel set> <m rows> <outputs> <columns> <repeats> [<bits>]";
    if args.len() != 6 && args.len() != 7 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let Some(kernels) = KernelSet::from_name(&args[1]) else {
        eprintln!("unknown kernel set '{}'; {usage}", args[1]);
        std::process::exit(2);
    };
    if !KernelSet::available().contains(&kernels) {
        eprintln!(
            "this CPU lacks the {} kernels (it has {:?})",
            kernels.name(),
            KernelSet::available()
        );
        std::process::exit(2);
    }
    let number = |i: usize| -> usize {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!("'{}' is not a count; {usage}", args[i]);
            std::process::exit(2)
        })
    };
    let (m_rows, rows, columns, repeats) = (number(2), number(3), number(4), number(5));
    let bits = if args.len() == 7 { number(6) as u32 } else { 8 };
    if !(2..=8).contains(&bits) {
        eprintln!("weight bits {bits}: give 2..=8; {usage}");
        std::process::exit(2);
    }
    // Reproducible codes and activations (an LCG: no dependency).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let (low, high) = (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1);
    let codes: Vec<i8> = (0..rows * columns)
        .map(|_| (low + (next() as i32).rem_euclid(high - low + 1)) as i8)
        .collect();
    let a: Vec<u8> = (0..m_rows * columns).map(|_| next() as u8).collect();
    let weights = PreparedWeights::new(codes, rows, columns, bits, kernels);
    let mut out = vec![0i32; m_rows * rows];
    let mut scratch = Scratch::default();
    let mut check = 0i64;
    for _ in 0..repeats {
        weights.matmul(&a, m_rows, &mut out, &mut scratch);
        check += out[0] as i64;
    }
    println!("{check}");
}
