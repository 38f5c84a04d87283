//! AVX2 requantization epilogue (8 channels per step): i64 products by `vpmuldq` on the even
//! and odd lanes, a per-lane variable right shift made arithmetic by OR-ing the sign bits
//! back in, clamping and narrowing to bytes. Identical to
//! [`requantize_one`](crate::kernels::requant::requantize_one).

use crate::kernels::requant::{requantize_tail, LaneTable, RequantParams};
use std::arch::x86_64::*;

/// The lane table of the AVX2 epilogue: 8-channel blocks.
pub fn lanes(p: &RequantParams) -> LaneTable {
    LaneTable::new(p, 8)
}

#[inline(always)]
unsafe fn load(v: &[i64], block: usize) -> __m256i {
    _mm256_loadu_si256(v.as_ptr().add(block * 4) as *const __m256i)
}

/// Arithmetic right shift of 64-bit lanes by per-lane amounts in 1..=63.
#[inline(always)]
unsafe fn shift_right(x: __m256i, shift: __m256i, sign_bits: __m256i) -> __m256i {
    let logical = _mm256_srlv_epi64(x, shift);
    let negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
    _mm256_or_si256(logical, _mm256_and_si256(negative, sign_bits))
}

/// The epilogue over `m_rows` rows of `products` (`[m_rows, channels]`).
///
/// # Safety
/// AVX2 must be available; slices sized as for
/// [`requantize_scalar`](crate::kernels::requant::requantize_scalar).
#[target_feature(enable = "avx2")]
pub unsafe fn requantize(
    p: &RequantParams,
    lanes: &LaneTable,
    products: &[i32],
    m_rows: usize,
    row_sums: &[i32],
    residual: Option<(&[u8], i32)>,
    out: &mut [u8],
) {
    let c = p.channels;
    let zero_point = _mm256_set1_epi32(p.zero_point);
    let max_code = _mm256_set1_epi32(p.max_code);
    let zero = _mm256_setzero_si256();
    let use_sums = !row_sums.is_empty();
    for r in 0..m_rows {
        let sum = row_sums.get(r).copied().unwrap_or(0);
        let sums = _mm256_set1_epi32(sum);
        let row = products.as_ptr().add(r * c);
        for b in 0..lanes.blocks {
            let prod = _mm256_loadu_si256(row.add(b * 8) as *const __m256i);
            let mut acc = _mm256_slli_epi32(prod, 1);
            if use_sums {
                let z2 = _mm256_loadu_si256(lanes.z2.as_ptr().add(b * 8) as *const __m256i);
                acc = _mm256_sub_epi32(acc, _mm256_mullo_epi32(z2, sums));
            }
            let mut even = _mm256_add_epi64(
                _mm256_mul_epi32(acc, load(&lanes.m[0], b)),
                load(&lanes.b[0], b),
            );
            let mut odd = _mm256_add_epi64(
                _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), load(&lanes.m[1], b)),
                load(&lanes.b[1], b),
            );
            if let Some((u, z)) = residual {
                let bytes = _mm_loadl_epi64(u.as_ptr().add(r * c + b * 8) as *const __m128i);
                let res = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32(z));
                even = _mm256_add_epi64(even, _mm256_mul_epi32(res, load(&lanes.r[0], b)));
                odd = _mm256_add_epi64(
                    odd,
                    _mm256_mul_epi32(_mm256_srli_epi64(res, 32), load(&lanes.r[1], b)),
                );
            }
            let even = shift_right(even, load(&lanes.s[0], b), load(&lanes.sign[0], b));
            let odd = shift_right(odd, load(&lanes.s[1], b), load(&lanes.sign[1], b));
            // Low halves: even results stay in lanes 0,2,4,6, odd results move to 1,3,5,7.
            let v = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b1010_1010);
            let v = _mm256_min_epi32(
                _mm256_max_epi32(_mm256_add_epi32(v, zero_point), zero),
                max_code,
            );
            // Narrow 8 × i32 (each 0..=255) to 8 bytes.
            let bytes = _mm256_shuffle_epi8(
                v,
                _mm256_setr_epi8(
                    0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                ),
            );
            let lo = _mm256_castsi256_si128(bytes);
            let hi = _mm256_extracti128_si256(bytes, 1);
            let packed = _mm_unpacklo_epi32(lo, hi);
            _mm_storel_epi64(out.as_mut_ptr().add(r * c + b * 8) as *mut __m128i, packed);
        }
        requantize_tail(p, products, r, lanes.blocks * 8, sum, residual, out);
    }
}
