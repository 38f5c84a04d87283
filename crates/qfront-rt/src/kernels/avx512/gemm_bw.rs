//! Exact u8×i8 GEMM for x86-64 CPUs with AVX-512 F/BW but no VNNI (Skylake-SP and its
//! kin): the AVX2 kernel's arithmetic at twice the width, on the same weight panels.
//!
//! `C[m, o] = Σ_k A[m, k]·W[o, k]`, with `vpmaddwd` on i16 pairs as in
//! [`avx2::gemm`](crate::kernels::avx2::gemm): 32 multiply-adds per instruction (16 for AVX2),
//! never saturating. (ONNX Runtime's path for these CPUs, `vpmaddubsw` + `vpmaddwd`,
//! reaches 64 multiply-adds in three instructions, but `vpmaddubsw` saturates its i16 pair
//! sums when 8-bit weights meet large activations, so its 8-bit results are not exact.)
//!
//! The panels are [`Avx2Panels`] unchanged, so this set keeps the AVX2 set's memory: for a
//! column pair `q` the AVX2 kernel extracts `b0` (outputs 0–7) from field `2q` and `b1`
//! (outputs 8–15) from field `2q + 1` of the same 16 lanes. Here the 32-byte vector is
//! broadcast to both halves of a zmm register and one variable shift (`vpsllvw`) lifts field
//! `2q` in the lower half and `2q + 1` in the upper, so one arithmetic shift leaves all 16
//! outputs' pairs, sign-extended, in one register. The micro-kernel covers 6 rows × 2 panels
//! (12 zmm accumulators, 32 outputs); the activations are the AVX2 kernel's widened i16 rows
//! (padded to a multiple of [`MR`] rows), so convolutions' im2col feeds both sets alike.

use crate::kernels::avx2::gemm::{Avx2Panels, KC, MR, NR};
use std::arch::x86_64::*;

/// Panels per full micro-kernel call: 32 outputs, two accumulators per row.
const PANELS: usize = 2;

/// Per-lane left shifts that lift field `2q` (lower 16 lanes) and `2q + 1` (upper 16 lanes)
/// of `BITS`-bit fields to the top of each i16 lane, for each column pair `q` of a vector.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn lift_counts<const BITS: u32>() -> [__m512i; 4] {
    let mut counts = [_mm512_setzero_si512(); 4];
    for (q, count) in counts.iter_mut().enumerate().take(8 / BITS as usize) {
        let low = 16 - BITS as i32 * (2 * q as i32 + 1);
        let high = 16 - BITS as i32 * (2 * q as i32 + 2);
        *count = _mm512_inserti64x4::<1>(
            _mm512_set1_epi16(low as i16),
            _mm256_set1_epi16(high as i16),
        );
    }
    counts
}

/// The 16 outputs' sign-extended code pairs of one column pair: `vector` (a panel vector in
/// both halves) lifted by `count` and shifted back down by `16 − BITS`.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn pair_weights<const BITS: u32>(vector: __m512i, count: __m512i) -> __m512i {
    _mm512_sra_epi16(
        _mm512_sllv_epi16(vector, count),
        _mm_cvtsi32_si128(16 - BITS as i32),
    )
}

/// The `ROWS`×(16·`P`) micro-kernel over `pairs` column pairs of `P` adjacent panels of
/// `BITS`-bit codes (`panel_bytes` apart): `a` points at row 0 of `ROWS` widened rows
/// `row_stride` words apart; writes (or, with `accumulate`, adds) the results at `c_out`,
/// whose rows are `ldc` apart.
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_kernel<const ROWS: usize, const P: usize, const BITS: u32>(
    pairs: usize,
    a: *const i32,
    row_stride: usize,
    b: *const u8,
    panel_bytes: usize,
    c_out: *mut i32,
    ldc: usize,
    accumulate: bool,
) {
    let mut c = [[_mm512_setzero_si512(); P]; ROWS];
    let per_vector = 8 / BITS as usize;
    let counts = lift_counts::<BITS>();
    let whole = pairs / per_vector;
    let left = pairs - whole * per_vector;
    for vector in 0..whole + usize::from(left > 0) {
        if ROWS <= 2 {
            // Few rows stream the panels from memory: fetch 2 KiB ahead.
            for panel in 0..P {
                _mm_prefetch::<_MM_HINT_T0>(
                    b.add(panel * panel_bytes + vector * 32 + 2048) as *const i8
                );
            }
        }
        let mut v = [_mm512_setzero_si512(); P];
        for (panel, v) in v.iter_mut().enumerate() {
            let at = b.add(panel * panel_bytes + vector * 32) as *const __m256i;
            *v = _mm512_broadcast_i64x4(_mm256_loadu_si256(at));
        }
        // The last vector holds only the pairs that exist (its other fields are zero codes).
        let in_vector = if vector < whole { per_vector } else { left };
        for (q, &count) in counts.iter().enumerate().take(in_vector) {
            let mut w = [_mm512_setzero_si512(); P];
            for (w, &v) in w.iter_mut().zip(&v) {
                *w = pair_weights::<BITS>(v, count);
            }
            let p = vector * per_vector + q;
            for (r, row) in c.iter_mut().enumerate() {
                let av = _mm512_set1_epi32(*a.add(r * row_stride + p));
                for (acc, &w) in row.iter_mut().zip(&w) {
                    *acc = _mm512_add_epi32(*acc, _mm512_madd_epi16(av, w));
                }
            }
        }
    }
    for (r, row) in c.iter().enumerate() {
        for (panel, &acc) in row.iter().enumerate() {
            let t = c_out.add(r * ldc + panel * NR) as *mut __m512i;
            let value = if accumulate {
                _mm512_add_epi32(_mm512_loadu_si512(t as *const __m512i), acc)
            } else {
                acc
            };
            _mm512_storeu_si512(t, value);
        }
    }
}

/// The GEMM on activations already widened to i16 rows of `pairs` words (see
/// [`widen_activations`](crate::kernels::avx2::gemm::widen_activations); rows padded with zeros to a multiple of [`MR`]).
///
/// # Safety
/// AVX-512 F/BW must be available; `widened.len() ≥ ⌈m_rows/MR⌉·MR·pairs`, `pairs` equal to
/// the panels' pair count, `out.len() ≥ m_rows·rows`.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn gemm_widened(
    widened: &[i32],
    m_rows: usize,
    pairs_total: usize,
    panels: &Avx2Panels,
    out: &mut [i32],
) {
    match panels.stored_bits_per_code() {
        8 => gemm_widened_at::<8>(widened, m_rows, pairs_total, panels, out),
        4 => gemm_widened_at::<4>(widened, m_rows, pairs_total, panels, out),
        _ => gemm_widened_at::<2>(widened, m_rows, pairs_total, panels, out),
    }
}

/// A tile of `m_count` (1..=6) rows by 16·`P` outputs: the micro-kernel of exactly that
/// many rows.
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const P: usize, const BITS: u32>(
    m_count: usize,
    pairs: usize,
    a: *const i32,
    row_stride: usize,
    b: *const u8,
    panel_bytes: usize,
    c: *mut i32,
    ldc: usize,
    accumulate: bool,
) {
    let run = match m_count {
        6 => micro_kernel::<6, P, BITS>,
        5 => micro_kernel::<5, P, BITS>,
        4 => micro_kernel::<4, P, BITS>,
        3 => micro_kernel::<3, P, BITS>,
        2 => micro_kernel::<2, P, BITS>,
        _ => micro_kernel::<1, P, BITS>,
    };
    run(pairs, a, row_stride, b, panel_bytes, c, ldc, accumulate)
}

/// [`gemm_widened`] for panels of `BITS`-bit codes.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn gemm_widened_at<const BITS: u32>(
    widened: &[i32],
    m_rows: usize,
    pairs_total: usize,
    panels: &Avx2Panels,
    out: &mut [i32],
) {
    let rows = panels.output_rows();
    let n_blocks = rows.div_ceil(NR);
    let m_blocks = m_rows.div_ceil(MR);
    let row_stride = pairs_total;
    let panel_bytes = panels.panel_bytes();
    // Cache blocking pays when several row blocks reuse a panel chunk; a single block (a
    // matrix–vector product, or a few rows) streams each panel once from start to end.
    let chunk = if m_blocks > 1 { KC / 2 } else { pairs_total };
    let mut p0 = 0;
    while p0 < pairs_total {
        let pairs = chunk.min(pairs_total - p0);
        let mut nb = 0;
        while nb < n_blocks {
            let b = panels.panel_at(nb, p0);
            // Two whole panels go straight to the output; a last single or partial panel
            // runs alone.
            let both_whole = (nb + PANELS) * NR <= rows;
            let cols = if both_whole {
                PANELS * NR
            } else {
                NR.min(rows - nb * NR)
            };
            for mb in 0..m_blocks {
                let m_count = MR.min(m_rows - mb * MR);
                let a_block = widened.as_ptr().add(mb * MR * row_stride + p0);
                let c = out.as_mut_ptr().add(mb * MR * rows + nb * NR);
                if both_whole {
                    tile::<PANELS, BITS>(
                        m_count,
                        pairs,
                        a_block,
                        row_stride,
                        b,
                        panel_bytes,
                        c,
                        rows,
                        p0 > 0,
                    );
                    continue;
                }
                // A whole panel goes to the output, a partial one through a buffer.
                let mut tile_out = [[0i32; NR]; MR];
                let (target, ldc, accumulate) = if cols == NR {
                    (c, rows, p0 > 0)
                } else {
                    (tile_out.as_mut_ptr() as *mut i32, NR, false)
                };
                tile::<1, BITS>(
                    m_count,
                    pairs,
                    a_block,
                    row_stride,
                    b,
                    panel_bytes,
                    target,
                    ldc,
                    accumulate,
                );
                if cols < NR {
                    for (r, t) in tile_out.iter().enumerate().take(m_count) {
                        let row = (mb * MR + r) * rows + nb * NR;
                        for (o, v) in out[row..row + cols].iter_mut().zip(t) {
                            *o = if p0 == 0 { *v } else { *o + v };
                        }
                    }
                }
            }
            nb += cols.div_ceil(NR);
        }
        p0 += pairs;
    }
}
