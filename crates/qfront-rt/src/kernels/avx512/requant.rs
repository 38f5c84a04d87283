//! AVX-512 requantization epilogue (16 channels per step): the AVX2 epilogue's arithmetic
//! with `vpsravq` (an arithmetic 64-bit shift AVX2 lacks) and `vpmovusdb` narrowing.
//! Identical to [`requantize_one`](crate::kernels::requant::requantize_one).

use crate::kernels::requant::{requantize_tail, LaneTable, RequantParams};
use std::arch::x86_64::*;

/// The lane table of the AVX-512 epilogue: 16-channel blocks.
pub fn lanes(p: &RequantParams) -> LaneTable {
    LaneTable::new(p, 16)
}

#[inline(always)]
unsafe fn load(v: &[i64], block: usize) -> __m512i {
    _mm512_loadu_si512(v.as_ptr().add(block * 8) as *const __m512i)
}

/// The epilogue over `m_rows` rows of `products` (`[m_rows, channels]`).
///
/// # Safety
/// AVX-512 F/BW must be available; slices sized as for
/// [`requantize_scalar`](crate::kernels::requant::requantize_scalar).
#[target_feature(enable = "avx512f,avx512bw")]
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
    let zero_point = _mm512_set1_epi32(p.zero_point);
    let max_code = _mm512_set1_epi32(p.max_code);
    let zero = _mm512_setzero_si512();
    let use_sums = !row_sums.is_empty();
    for r in 0..m_rows {
        let sum = row_sums.get(r).copied().unwrap_or(0);
        let sums = _mm512_set1_epi32(sum);
        let row = products.as_ptr().add(r * c);
        for b in 0..lanes.blocks {
            let prod = _mm512_loadu_si512(row.add(b * 16) as *const __m512i);
            let mut acc = _mm512_slli_epi32(prod, 1);
            if use_sums {
                let z2 = _mm512_loadu_si512(lanes.z2.as_ptr().add(b * 16) as *const __m512i);
                acc = _mm512_sub_epi32(acc, _mm512_mullo_epi32(z2, sums));
            }
            let mut even = _mm512_add_epi64(
                _mm512_mul_epi32(acc, load(&lanes.m[0], b)),
                load(&lanes.b[0], b),
            );
            let mut odd = _mm512_add_epi64(
                _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), load(&lanes.m[1], b)),
                load(&lanes.b[1], b),
            );
            if let Some((u, z)) = residual {
                let bytes = _mm_loadu_si128(u.as_ptr().add(r * c + b * 16) as *const __m128i);
                let res = _mm512_sub_epi32(_mm512_cvtepu8_epi32(bytes), _mm512_set1_epi32(z));
                even = _mm512_add_epi64(even, _mm512_mul_epi32(res, load(&lanes.r[0], b)));
                odd = _mm512_add_epi64(
                    odd,
                    _mm512_mul_epi32(_mm512_srli_epi64(res, 32), load(&lanes.r[1], b)),
                );
            }
            let even = _mm512_srav_epi64(even, load(&lanes.s[0], b));
            let odd = _mm512_srav_epi64(odd, load(&lanes.s[1], b));
            let v =
                _mm512_mask_blend_epi32(0b1010_1010_1010_1010, even, _mm512_slli_epi64(odd, 32));
            let v = _mm512_min_epi32(
                _mm512_max_epi32(_mm512_add_epi32(v, zero_point), zero),
                max_code,
            );
            _mm_storeu_si128(
                out.as_mut_ptr().add(r * c + b * 16) as *mut __m128i,
                _mm512_cvtusepi32_epi8(v),
            );
        }
        requantize_tail(p, products, r, lanes.blocks * 16, sum, residual, out);
    }
}
