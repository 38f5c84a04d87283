//! Exact u8×i8 GEMM with i16 `vpmaddwd` (16 multiply-adds per instruction, the same rate as
//! `vpmaddubsw` + `vpmaddwd`, without its i16 saturation).
//!
//! `C[m, o] = Σ_k A[m, k]·W[o, k]`. The weights are packed once into panels of
//! [`NR`] = 16 outputs: for each pair of columns `(2p, 2p+1)`, 16 interleaved i16 pairs (two
//! ymm registers). The activations are widened once to i16 rows, so each aligned i32 word is
//! the pair `(A[m,2p], A[m,2p+1])`, broadcast one row at a time. The 6×16 micro-kernel keeps
//! 12 accumulators in registers (Goto/BLIS blocking: the panel chunk of `KC` columns, 16 KiB,
//! stays in L1 while the row blocks stream past it).

use std::arch::x86_64::*;

/// Outputs per panel.
pub const NR: usize = 16;
/// Rows per micro-kernel call.
pub const MR: usize = 6;
/// Columns per cache block (even).
pub const KC: usize = 512;

/// Weight panels: `[⌈rows/16⌉][⌈columns/2⌉][16 outputs × 2]` i16.
#[derive(Debug, Clone)]
pub struct GemmPanels {
    data: Vec<i16>,
    rows: usize,
    pairs: usize,
}

impl GemmPanels {
    /// Bytes held (two per code: the panels store widened i16 pairs).
    pub fn bytes(&self) -> usize {
        2 * self.data.len()
    }

    /// Packs row-major codes `[rows, columns]`.
    pub fn pack(codes: &[i8], rows: usize, columns: usize) -> Self {
        let pairs = columns.div_ceil(2);
        let blocks = rows.div_ceil(NR);
        let mut data = vec![0i16; blocks * pairs * NR * 2];
        for o in 0..rows {
            let (nb, j) = (o / NR, o % NR);
            for k in 0..columns {
                let (p, t) = (k / 2, k % 2);
                data[(nb * pairs + p) * NR * 2 + j * 2 + t] = codes[o * columns + k] as i16;
            }
        }
        Self { data, rows, pairs }
    }
}

/// Widens `A` (`[m_rows, k_len]` u8) to i16 rows of `2·⌈k_len/2⌉` (zero-padded), so that
/// each aligned pair of i16 is the i32 word `(A[m,2p], A[m,2p+1])` the micro-kernel
/// broadcasts; rows are padded to a multiple of `MR` with zeros.
///
/// # Safety
/// AVX2 must be available; `a.len() ≥ m_rows·k_len`.
#[target_feature(enable = "avx2")]
pub unsafe fn widen_activations(
    a: &[u8],
    m_rows: usize,
    k_len: usize,
    out: &mut Vec<i32>,
) -> usize {
    let pairs = k_len.div_ceil(2);
    let padded_rows = m_rows.div_ceil(MR) * MR;
    if out.len() < padded_rows * pairs {
        out.resize(padded_rows * pairs, 0);
    }
    // Every word of the used region is written below: rows, their odd tail, padding rows.
    out[m_rows * pairs..padded_rows * pairs].fill(0);
    let dst = out.as_mut_ptr() as *mut i16;
    for m in 0..m_rows {
        let src = a.as_ptr().add(m * k_len);
        let row = dst.add(m * pairs * 2);
        let mut k = 0;
        while k + 16 <= k_len {
            let v = _mm256_cvtepu8_epi16(_mm_loadu_si128(src.add(k) as *const __m128i));
            _mm256_storeu_si256(row.add(k) as *mut __m256i, v);
            k += 16;
        }
        while k < k_len {
            *row.add(k) = *src.add(k) as i16;
            k += 1;
        }
        if k_len % 2 == 1 {
            *row.add(k_len) = 0;
        }
    }
    pairs
}

/// The 6×16 micro-kernel over `pairs` column pairs: `a` points at row 0 of a block of `MR`
/// widened rows `row_stride` words apart; writes (or, with `accumulate`, adds) the 6×16
/// results at `c`, whose rows are `ldc` apart.
#[target_feature(enable = "avx2")]
unsafe fn micro_kernel(
    pairs: usize,
    a: *const i32,
    row_stride: usize,
    b: *const i16,
    c_out: *mut i32,
    ldc: usize,
    accumulate: bool,
) {
    let mut c = [[_mm256_setzero_si256(); 2]; MR];
    for p in 0..pairs {
        let b0 = _mm256_loadu_si256(b.add(p * 32) as *const __m256i);
        let b1 = _mm256_loadu_si256(b.add(p * 32 + 16) as *const __m256i);
        for (r, row) in c.iter_mut().enumerate() {
            let av = _mm256_set1_epi32(*a.add(r * row_stride + p));
            row[0] = _mm256_add_epi32(row[0], _mm256_madd_epi16(av, b0));
            row[1] = _mm256_add_epi32(row[1], _mm256_madd_epi16(av, b1));
        }
    }
    for (r, row) in c.iter().enumerate() {
        let t = c_out.add(r * ldc);
        if accumulate {
            _mm256_storeu_si256(
                t as *mut __m256i,
                _mm256_add_epi32(_mm256_loadu_si256(t as *const __m256i), row[0]),
            );
            _mm256_storeu_si256(
                t.add(8) as *mut __m256i,
                _mm256_add_epi32(_mm256_loadu_si256(t.add(8) as *const __m256i), row[1]),
            );
        } else {
            _mm256_storeu_si256(t as *mut __m256i, row[0]);
            _mm256_storeu_si256(t.add(8) as *mut __m256i, row[1]);
        }
    }
}

/// `out[m·rows + o] = Σ_k a[m·k_len + k]·W[o, k]` for `m < m_rows`, with `W` in `panels`.
/// `scratch` is reused between calls.
///
/// # Safety
/// AVX2 must be available; `a.len() ≥ m_rows·k_len`, `out.len() ≥ m_rows·rows`, and
/// `panels` packed from a `[rows, k_len]` matrix.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm(
    a: &[u8],
    m_rows: usize,
    k_len: usize,
    panels: &GemmPanels,
    out: &mut [i32],
    scratch: &mut Vec<i32>,
) {
    let pairs = widen_activations(a, m_rows, k_len, scratch);
    gemm_widened(scratch, m_rows, pairs, panels, out);
}

/// The GEMM on activations already widened to i16 rows of `pairs` words (see
/// [`widen_activations`]; rows padded with zeros to a multiple of [`MR`]).
///
/// # Safety
/// AVX2 must be available; `widened.len() ≥ ⌈m_rows/MR⌉·MR·pairs`, `pairs` equal to the
/// panels' pair count, `out.len() ≥ m_rows·rows`.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm_widened(
    widened: &[i32],
    m_rows: usize,
    pairs_total: usize,
    panels: &GemmPanels,
    out: &mut [i32],
) {
    let rows = panels.rows;
    let n_blocks = rows.div_ceil(NR);
    let m_blocks = m_rows.div_ceil(MR);
    let row_stride = pairs_total;
    let mut p0 = 0;
    while p0 < pairs_total {
        let pairs = (KC / 2).min(pairs_total - p0);
        for nb in 0..n_blocks {
            let b = panels.data.as_ptr().add((nb * panels.pairs + p0) * NR * 2);
            let cols = NR.min(rows - nb * NR);
            for mb in 0..m_blocks {
                let m_count = MR.min(m_rows - mb * MR);
                let a_block = widened.as_ptr().add(mb * MR * row_stride + p0);
                if m_count == MR && cols == NR {
                    // A full tile goes straight to the output.
                    let c = out.as_mut_ptr().add(mb * MR * rows + nb * NR);
                    micro_kernel(pairs, a_block, row_stride, b, c, rows, p0 > 0);
                    continue;
                }
                let mut tile = [[0i32; NR]; MR];
                micro_kernel(
                    pairs,
                    a_block,
                    row_stride,
                    b,
                    tile.as_mut_ptr() as *mut i32,
                    NR,
                    false,
                );
                for (r, t) in tile.iter().enumerate().take(m_count) {
                    let row = (mb * MR + r) * rows + nb * NR;
                    let dst = &mut out[row..row + cols];
                    if p0 == 0 {
                        for (o, v) in dst.iter_mut().zip(t) {
                            *o = *v;
                        }
                    } else {
                        for (o, v) in dst.iter_mut().zip(t) {
                            *o += v;
                        }
                    }
                }
            }
        }
        p0 += pairs;
    }
}
