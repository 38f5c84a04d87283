//! Matrix–vector kernels with `vpdpbusd` for batch-1 inference: 8-bit rows used as they are,
//! 4-bit nibbles and 2-bit crumbs unpacked to their offset codes (`c + 8`, `c + 2`, small
//! non-negative i8) and multiplied directly, the offset removed with the activation sum.
//! Layouts are those of the AVX2 kernels with 64-byte blocks. Each step prefetches the same
//! place in the next group of four rows: rows of packed low-bit weights are short (4 KiB at
//! 8192 columns and 4 bits, one page), and the hardware prefetcher restarts at every page.

use std::arch::x86_64::*;

/// Codes per 8-bit step.
pub const W8_BLOCK: usize = 64;

#[inline(always)]
unsafe fn hsum(v: __m512i) -> i32 {
    _mm512_reduce_add_epi32(v)
}

/// `out[r] = Σ_k w[r,k]·x[k]`, 8-bit rows padded to `stride` (multiple of 64), `x` u8
/// zero-padded to `stride`.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available; sizes as described.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemv_w8(x: &[u8], w: &[i8], rows: usize, stride: usize, out: &mut [i32]) {
    let mut r = 0;
    while r < rows {
        let lanes = (rows - r).min(4);
        let mut acc = [_mm512_setzero_si512(); 4];
        let mut k = 0;
        while k < stride {
            let xv = _mm512_loadu_si512(x.as_ptr().add(k) as *const __m512i);
            for (i, a) in acc.iter_mut().enumerate().take(lanes) {
                let at = w.as_ptr().add((r + i) * stride + k);
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(4 * stride));
                let wv = _mm512_loadu_si512(at as *const __m512i);
                *a = _mm512_dpbusd_epi32(*a, xv, wv);
            }
            k += W8_BLOCK;
        }
        for i in 0..lanes {
            out[r + i] = hsum(acc[i]);
        }
        r += lanes;
    }
}

/// 4-bit weights in the nibble layout with 64-byte blocks (128 codes): `out[r] =
/// Σ (c+8)·x − 8·Σx`.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available; `x` zero-padded to `2·row_bytes`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemv_w4(
    x: &[u8],
    x_sum: i32,
    w: &[u8],
    rows: usize,
    row_bytes: usize,
    out: &mut [i32],
) {
    let mask = _mm512_set1_epi8(0x0F);
    let blocks = row_bytes / 64;
    let mut r = 0;
    while r < rows {
        let lanes = (rows - r).min(4);
        let mut acc = [_mm512_setzero_si512(); 4];
        for b in 0..blocks {
            let x0 = _mm512_loadu_si512(x.as_ptr().add(b * 128) as *const __m512i);
            let x1 = _mm512_loadu_si512(x.as_ptr().add(b * 128 + 64) as *const __m512i);
            for (i, a) in acc.iter_mut().enumerate().take(lanes) {
                let at = w.as_ptr().add((r + i) * row_bytes + b * 64);
                // The same place in the next group of four rows.
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(4 * row_bytes) as *const i8);
                let wv = _mm512_loadu_si512(at as *const __m512i);
                let lo = _mm512_and_si512(wv, mask);
                let hi = _mm512_and_si512(_mm512_srli_epi16(wv, 4), mask);
                *a = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(*a, x0, lo), x1, hi);
            }
        }
        for i in 0..lanes {
            out[r + i] = hsum(acc[i]) - 8 * x_sum;
        }
        r += lanes;
    }
}

/// 2-bit weights in the crumb layout with 64-byte blocks (256 codes): `out[r] =
/// Σ (c+2)·x − 2·Σx`.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available; `x` zero-padded to `4·row_bytes`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemv_w2(
    x: &[u8],
    x_sum: i32,
    w: &[u8],
    rows: usize,
    row_bytes: usize,
    out: &mut [i32],
) {
    let mask = _mm512_set1_epi8(0x03);
    let blocks = row_bytes / 64;
    let mut r = 0;
    while r < rows {
        let lanes = (rows - r).min(4);
        let mut acc = [_mm512_setzero_si512(); 4];
        for b in 0..blocks {
            let xs = [0, 1, 2, 3]
                .map(|j| _mm512_loadu_si512(x.as_ptr().add(b * 256 + j * 64) as *const __m512i));
            for (i, a) in acc.iter_mut().enumerate().take(lanes) {
                let at = w.as_ptr().add((r + i) * row_bytes + b * 64);
                // The same place in the next group of four rows.
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(4 * row_bytes) as *const i8);
                let wv = _mm512_loadu_si512(at as *const __m512i);
                let s0 = _mm512_and_si512(wv, mask);
                let s1 = _mm512_and_si512(_mm512_srli_epi16(wv, 2), mask);
                let s2 = _mm512_and_si512(_mm512_srli_epi16(wv, 4), mask);
                let s3 = _mm512_and_si512(_mm512_srli_epi16(wv, 6), mask);
                let v = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(*a, xs[0], s0), xs[1], s1);
                *a = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(v, xs[2], s2), xs[3], s3);
            }
        }
        for i in 0..lanes {
            out[r + i] = hsum(acc[i]) - 2 * x_sum;
        }
        r += lanes;
    }
}
