//! The u8×i8 four-way dot-product step of the AVX-512 panel GEMM ([`super::gemm`]), in the
//! two forms x86-64 CPUs offer: `vpdpbusd` (AVX-512 VNNI) and, on AVX-512 F/BW CPUs without
//! VNNI, the same sum from `vpmaddubsw` + `vpmaddwd` (three instructions instead of one).
//!
//! `dot(acc, a, b)[i] = acc[i] + Σ_{t<4} a[4i + t]·b[4i + t]` with `a` u8 and `b` i8.
//! `vpmaddubsw` adds its two products into a saturating i16, so the second form is exact
//! only when `|a₀b₀ + a₁b₁| ≤ 32767`: always for codes of at most 7 bits (`2·255·64 =
//! 32640`) and for the offset nibbles and bit pairs of the 4- and 2-bit layouts (at most
//! 15), never guaranteed for 8-bit codes (`2·255·128 = 65280`). The AVX-512 BW set therefore
//! uses these panels only for codes of at most 7 bits (see
//! [`KernelSet::Avx512Bw`](crate::kernels::KernelSet::Avx512Bw)).
//!
//! The implementations are `#[inline(always)]` without target features of their own: they are
//! inlined into the GEMM's entry points, which enable the features of their form.

use std::arch::x86_64::*;

/// One form of the four-way dot-product step.
pub trait DotProduct {
    /// `acc + dot(a, b)` per i32 lane.
    ///
    /// # Safety
    /// The form's instructions must be available (the caller's entry point checks this).
    unsafe fn dot(acc: __m512i, a: __m512i, b: __m512i) -> __m512i;

    /// `acc + dot(a0, b0) + dot(a1, b1)`, for weights whose every product is at most
    /// `255·3` in magnitude (the 2-bit layout), where the second form may add in i16 first.
    ///
    /// # Safety
    /// As for [`DotProduct::dot`].
    unsafe fn dot_two(acc: __m512i, a0: __m512i, b0: __m512i, a1: __m512i, b1: __m512i) -> __m512i;
}

/// `vpdpbusd` (AVX-512 VNNI): exact for every code width.
pub struct Vnni;

impl DotProduct for Vnni {
    #[inline(always)]
    unsafe fn dot(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
        _mm512_dpbusd_epi32(acc, a, b)
    }

    #[inline(always)]
    unsafe fn dot_two(acc: __m512i, a0: __m512i, b0: __m512i, a1: __m512i, b1: __m512i) -> __m512i {
        _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc, a0, b0), a1, b1)
    }
}

/// `vpmaddubsw` (u8×i8 pairs into i16) then `vpmaddwd` with ones (pairs of i16 into i32) and
/// `vpaddd` (AVX-512 BW): exact for codes of at most 7 bits.
pub struct PairSums;

impl DotProduct for PairSums {
    #[inline(always)]
    unsafe fn dot(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
        let pairs = _mm512_maddubs_epi16(a, b);
        _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)))
    }

    #[inline(always)]
    unsafe fn dot_two(acc: __m512i, a0: __m512i, b0: __m512i, a1: __m512i, b1: __m512i) -> __m512i {
        // Each i16 pair sum is at most 2·255·3 = 1530, so two of them add exactly in i16.
        let pairs = _mm512_add_epi16(_mm512_maddubs_epi16(a0, b0), _mm512_maddubs_epi16(a1, b1));
        _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)))
    }
}
