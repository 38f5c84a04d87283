//! The machine's int8 multiply-add peak for a kernel set, measured with register-only loops
//! of the instructions the GEMMs use, so a kernel's throughput can be stated as a fraction
//! of it: AVX-512 VNNI `vpdpbusd` (64 multiply-adds each), AVX2 `vpmaddwd` (16 each, the
//! exact 8-bit GEMM's instruction; `vpmaddubsw`+`vpmaddwd` reaches the same rate) and its
//! 512-bit form for the AVX-512 BW set (32 each), and AMX `tdpbusd` (16,384 each).

use crate::KernelSet;
#[cfg(target_arch = "x86_64")]
use std::time::Instant;

/// Multiply-add operations per second (2 per multiply-add), in GOP/s; `None` for the
/// reference set and the aarch64 sets (their peak is not measured: this runs on x86).
pub fn int8_peak_gops(kernels: KernelSet) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let iterations = 2_000_000u64;
        let (seconds, macs_per_iteration) = match kernels {
            // SAFETY: the set is chosen only when its instructions are present.
            KernelSet::Avx2 => (
                unsafe { time(|| avx2_loop(iterations)) },
                AVX2_CHAINS as u64 * 16,
            ),
            KernelSet::Avx512Bw => (
                unsafe { time(|| avx512bw_loop(iterations)) },
                CHAINS as u64 * 32,
            ),
            KernelSet::Avx512Amx => (
                unsafe { time(|| crate::kernels::avx512::amx::peak_loop(iterations / 64)) },
                crate::kernels::avx512::amx::PEAK_MACS_PER_ITERATION / 64,
            ),
            KernelSet::Avx512Vnni => (
                unsafe { time(|| vnni_loop(iterations)) },
                CHAINS as u64 * 64,
            ),
            KernelSet::Reference | KernelSet::Neon | KernelSet::NeonDot | KernelSet::NeonI8mm => {
                return None
            }
        };
        Some(2.0 * (iterations * macs_per_iteration) as f64 / seconds / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = kernels;
        None
    }
}

/// Independent dependency chains: enough to cover the instructions' latency (4–5 cycles) at
/// two per cycle.
#[cfg(target_arch = "x86_64")]
const CHAINS: usize = 16;

/// AVX2 has 16 ymm registers: 12 chains plus the constant leave room without spills.
#[cfg(target_arch = "x86_64")]
const AVX2_CHAINS: usize = 12;

#[cfg(target_arch = "x86_64")]
unsafe fn time(f: impl Fn() -> i32) -> f64 {
    std::hint::black_box(f());
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2_loop(iterations: u64) -> i32 {
    use std::arch::x86_64::*;
    let b = std::hint::black_box(_mm256_set1_epi16(5));
    // Each chain feeds its own result back in, so nothing can be hoisted out of the loop.
    let mut acc = [_mm256_set1_epi16(3); AVX2_CHAINS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm256_madd_epi16(*v, b);
        }
    }
    let mut s = _mm256_setzero_si256();
    for v in acc {
        s = _mm256_add_epi32(s, v);
    }
    _mm256_extract_epi32(s, 0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn avx512bw_loop(iterations: u64) -> i32 {
    use std::arch::x86_64::*;
    let b = std::hint::black_box(_mm512_set1_epi16(5));
    // Each chain feeds its own result back in, so nothing can be hoisted out of the loop.
    let mut acc = [_mm512_set1_epi16(3); CHAINS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm512_madd_epi16(*v, b);
        }
    }
    let mut s = _mm512_setzero_si512();
    for v in acc {
        s = _mm512_add_epi32(s, v);
    }
    _mm512_reduce_add_epi32(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn vnni_loop(iterations: u64) -> i32 {
    use std::arch::x86_64::*;
    let a = std::hint::black_box(_mm512_set1_epi8(3));
    let b = std::hint::black_box(_mm512_set1_epi8(5));
    let mut acc = [_mm512_setzero_si512(); CHAINS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm512_dpbusd_epi32(*v, a, b);
        }
    }
    let mut s = _mm512_setzero_si512();
    for v in acc {
        s = _mm512_add_epi32(s, v);
    }
    _mm512_reduce_add_epi32(s)
}
