//! AVX2 kernels (x86-64, detected at run time). Every function here is `unsafe` and must be
//! called only after `is_x86_feature_detected!("avx2")`; the safe wrappers in
//! [`crate::kernels`] do that.
//!
//! Saturation: `vpmaddubsw` adds two u8×i8 products into a saturating i16. With u8
//! activations up to 255 that is exact only for weight codes of magnitude ≤ 64, so the 4-
//! and 2-bit GEMV kernels use it (codes ≤ 15 after the offset) and every 8-bit path widens
//! to i16 and uses `vpmaddwd`, which is exact.

pub mod gemm;
pub mod gemv;
pub mod requant;

use std::arch::x86_64::*;

/// Sum of the eight i32 lanes.
#[inline(always)]
pub(crate) unsafe fn horizontal_sum(v: __m256i) -> i32 {
    let lo = _mm256_castsi256_si128(v);
    let hi = _mm256_extracti128_si256(v, 1);
    let s = _mm_add_epi32(lo, hi);
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}
