//! AVX2 kernels (x86-64, detected at run time). Every function here is `unsafe` and must be
//! called only after `is_x86_feature_detected!("avx2")`; the safe wrappers in
//! [`crate::kernels`] do that.
//!
//! Saturation: `vpmaddubsw` adds two u8×i8 products into a saturating i16. With u8
//! activations up to 255 that is exact only for weight codes of magnitude ≤ 64, so the GEMM
//! on codes of at most 7 bits ([`gemm_pairs`]) uses it, and the GEMM on 8-bit codes widens
//! to i16 and uses `vpmaddwd`, which is exact ([`gemm`]: its panels keep the codes at their
//! width and sign-extend them in registers). Both serve every row count, one row included.

pub mod gemm;
pub mod gemm_pairs;
pub mod requant;

use std::arch::x86_64::*;

/// `Σ bytes` with `vpsadbw` (32 bytes per step).
///
/// # Safety
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
pub unsafe fn byte_sum(bytes: &[u8]) -> i32 {
    let mut acc = _mm256_setzero_si256();
    let chunks = bytes.chunks_exact(32);
    let tail: i32 = chunks.remainder().iter().map(|&v| v as i32).sum();
    for chunk in chunks {
        let v = _mm256_loadu_si256(chunk.as_ptr() as *const __m256i);
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, _mm256_setzero_si256()));
    }
    let lo = _mm256_castsi256_si128(acc);
    let hi = _mm256_extracti128_si256(acc, 1);
    let s = _mm_add_epi64(lo, hi);
    (_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1)) as i32 + tail
}
