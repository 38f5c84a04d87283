//! Matrix–vector kernels for batch-1 inference, one per weight layout: 8-bit (exact i16
//! `vpmaddwd`), 4-bit nibbles and 2-bit crumbs (`vpmaddubsw` on unpacked offset codes, then
//! the offset removed with the activation sum). Weights stay packed in memory, so a layer
//! larger than the caches streams 2× (4-bit) or 4× (2-bit) fewer bytes than at 8 bits. Each
//! cache line is prefetched one group of four rows ahead: packed rows are short (one 4 KiB
//! page at 8192 columns and 4 bits) and the hardware prefetcher restarts at every page.

use super::horizontal_sum;
use std::arch::x86_64::*;

/// Codes per 4-bit block (32 bytes: low nibbles hold codes 0..32, high nibbles 32..64).
pub const W4_BLOCK: usize = 64;
/// Codes per 2-bit block (32 bytes: bit pairs 0,2,4,6 hold codes 0..32, 32..64, 64..96, 96..128).
pub const W2_BLOCK: usize = 128;
/// Codes per 8-bit step.
pub const W8_BLOCK: usize = 16;

/// Lays out codes `[rows, columns]` for the 4-bit kernels: rows padded to blocks of
/// `2·half` codes (`half` bytes: low nibbles hold codes `0..half`, high nibbles
/// `half..2·half`), each code stored as `c + 8`. `half` is 32 for AVX2, 64 for AVX-512.
pub fn layout_w4(codes: &[i8], rows: usize, columns: usize, half: usize) -> (Vec<u8>, usize) {
    let block = 2 * half;
    let padded = columns.div_ceil(block) * block;
    let row_bytes = padded / 2;
    let mut out = vec![0x88u8; rows * row_bytes];
    for r in 0..rows {
        for k in 0..columns {
            let nibble = (codes[r * columns + k] + 8) as u8;
            let (b, within) = (k / block, k % block);
            let byte = r * row_bytes + b * half + within % half;
            if within < half {
                out[byte] = (out[byte] & 0xF0) | nibble;
            } else {
                out[byte] = (out[byte] & 0x0F) | (nibble << 4);
            }
        }
    }
    (out, row_bytes)
}

/// Lays out codes for the 2-bit kernels: rows padded to blocks of `4·quarter` codes
/// (`quarter` bytes; bit pairs 0, 2, 4, 6 hold codes `j·quarter..(j+1)·quarter`), `c + 2` in
/// each pair. `quarter` is 32 for AVX2, 64 for AVX-512.
pub fn layout_w2(codes: &[i8], rows: usize, columns: usize, quarter: usize) -> (Vec<u8>, usize) {
    let block = 4 * quarter;
    let padded = columns.div_ceil(block) * block;
    let row_bytes = padded / 4;
    let mut out = vec![0xAAu8; rows * row_bytes];
    for r in 0..rows {
        for k in 0..columns {
            let crumb = (codes[r * columns + k] + 2) as u8;
            let (b, within) = (k / block, k % block);
            let byte = r * row_bytes + b * quarter + within % quarter;
            let shift = 2 * (within / quarter);
            out[byte] = (out[byte] & !(0b11 << shift)) | (crumb << shift);
        }
    }
    (out, row_bytes)
}

/// Lays out codes for the 8-bit kernels: rows padded with zeros to a multiple of `block`
/// (16 for AVX2, 64 for AVX-512).
pub fn layout_w8(codes: &[i8], rows: usize, columns: usize, block: usize) -> (Vec<i8>, usize) {
    let stride = columns.div_ceil(block) * block;
    let mut out = vec![0i8; rows * stride];
    for r in 0..rows {
        out[r * stride..r * stride + columns]
            .copy_from_slice(&codes[r * columns..(r + 1) * columns]);
    }
    (out, stride)
}

/// `out[r] = Σ_k w[r,k]·x[k]` for 8-bit weights; `x16` holds the activations widened to i16,
/// zero-padded to `stride`.
///
/// # Safety
/// AVX2 must be available; `x16.len() ≥ stride`, `w.len() ≥ rows·stride`, `out.len() ≥ rows`,
/// `stride` a multiple of 16.
#[target_feature(enable = "avx2")]
pub unsafe fn gemv_w8(x16: &[i16], w: &[i8], rows: usize, stride: usize, out: &mut [i32]) {
    let xp = x16.as_ptr();
    let mut r = 0;
    while r + 4 <= rows {
        let base = w.as_ptr().add(r * stride);
        let mut acc = [_mm256_setzero_si256(); 4];
        let mut k = 0;
        while k < stride {
            let xv = _mm256_loadu_si256(xp.add(k) as *const __m256i);
            for (i, a) in acc.iter_mut().enumerate() {
                let at = base.add(i * stride + k);
                if k % 64 == 0 {
                    _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(4 * stride));
                }
                let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(at as *const __m128i));
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xv));
            }
            k += W8_BLOCK;
        }
        for i in 0..4 {
            out[r + i] = horizontal_sum(acc[i]);
        }
        r += 4;
    }
    while r < rows {
        let base = w.as_ptr().add(r * stride);
        let mut acc = _mm256_setzero_si256();
        let mut k = 0;
        while k < stride {
            let xv = _mm256_loadu_si256(xp.add(k) as *const __m256i);
            let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(base.add(k) as *const __m128i));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(wv, xv));
            k += W8_BLOCK;
        }
        out[r] = horizontal_sum(acc);
        r += 1;
    }
}

/// `out[r] = Σ_k w[r,k]·x[k]` for 4-bit weights in [`layout_w4`]; `x` zero-padded to
/// `2·row_bytes`, `x_sum = Σ x`.
///
/// # Safety
/// AVX2 must be available; slices as laid out by [`layout_w4`].
#[target_feature(enable = "avx2")]
pub unsafe fn gemv_w4(
    x: &[u8],
    x_sum: i32,
    w: &[u8],
    rows: usize,
    row_bytes: usize,
    out: &mut [i32],
) {
    let mask = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let xp = x.as_ptr();
    let blocks = row_bytes / 32;
    let correction = 8 * x_sum;
    let mut r = 0;
    while r < rows {
        let lanes = (rows - r).min(4);
        let mut acc = [_mm256_setzero_si256(); 4];
        for b in 0..blocks {
            let x0 = _mm256_loadu_si256(xp.add(b * 64) as *const __m256i);
            let x1 = _mm256_loadu_si256(xp.add(b * 64 + 32) as *const __m256i);
            for (i, a) in acc.iter_mut().enumerate().take(lanes) {
                let at = w.as_ptr().add((r + i) * row_bytes + b * 32);
                if b % 2 == 0 {
                    // One line per two steps: the same place in the next group of rows.
                    _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(4 * row_bytes) as *const i8);
                }
                let wv = _mm256_loadu_si256(at as *const __m256i);
                let lo = _mm256_and_si256(wv, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16(wv, 4), mask);
                // Pairs ≤ 2·255·15 = 7650; two of them stay below 2^15.
                let p =
                    _mm256_add_epi16(_mm256_maddubs_epi16(x0, lo), _mm256_maddubs_epi16(x1, hi));
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(p, ones));
            }
        }
        for i in 0..lanes {
            out[r + i] = horizontal_sum(acc[i]) - correction;
        }
        r += lanes;
    }
}

/// `out[r] = Σ_k w[r,k]·x[k]` for 2-bit weights in [`layout_w2`]; `x` zero-padded to
/// `4·row_bytes`, `x_sum = Σ x`.
///
/// # Safety
/// AVX2 must be available; slices as laid out by [`layout_w2`].
#[target_feature(enable = "avx2")]
pub unsafe fn gemv_w2(
    x: &[u8],
    x_sum: i32,
    w: &[u8],
    rows: usize,
    row_bytes: usize,
    out: &mut [i32],
) {
    let mask = _mm256_set1_epi8(0x03);
    let ones = _mm256_set1_epi16(1);
    let xp = x.as_ptr();
    let blocks = row_bytes / 32;
    let correction = 2 * x_sum;
    let mut r = 0;
    while r < rows {
        let lanes = (rows - r).min(4);
        let mut acc = [_mm256_setzero_si256(); 4];
        for b in 0..blocks {
            let x0 = _mm256_loadu_si256(xp.add(b * 128) as *const __m256i);
            let x1 = _mm256_loadu_si256(xp.add(b * 128 + 32) as *const __m256i);
            let x2 = _mm256_loadu_si256(xp.add(b * 128 + 64) as *const __m256i);
            let x3 = _mm256_loadu_si256(xp.add(b * 128 + 96) as *const __m256i);
            for (i, a) in acc.iter_mut().enumerate().take(lanes) {
                let at = w.as_ptr().add((r + i) * row_bytes + b * 32);
                if b % 2 == 0 {
                    // One line per two steps: the same place in the next group of rows.
                    _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(4 * row_bytes) as *const i8);
                }
                let wv = _mm256_loadu_si256(at as *const __m256i);
                let s0 = _mm256_and_si256(wv, mask);
                let s1 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), mask);
                let s2 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), mask);
                let s3 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), mask);
                // Pairs ≤ 2·255·3 = 1530; four of them stay below 2^15.
                let p = _mm256_add_epi16(
                    _mm256_add_epi16(_mm256_maddubs_epi16(x0, s0), _mm256_maddubs_epi16(x1, s1)),
                    _mm256_add_epi16(_mm256_maddubs_epi16(x2, s2), _mm256_maddubs_epi16(x3, s3)),
                );
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(p, ones));
            }
        }
        for i in 0..lanes {
            out[r + i] = horizontal_sum(acc[i]) - correction;
        }
        r += lanes;
    }
}
