//! Exact u8×i8 GEMM with i16 `vpmaddwd` (16 multiply-adds per instruction, the same rate as
//! `vpmaddubsw` + `vpmaddwd`, without its i16 saturation), on weights kept at their width.
//!
//! `C[m, o] = Σ_k A[m, k]·W[o, k]`. The weights are packed once into panels of [`NR`] = 16
//! outputs. For each pair of columns `(2p, 2p+1)` the micro-kernel needs two ymm registers of
//! 16 i16 each: `b0` holds outputs 0–7 and `b1` outputs 8–15, each output's two codes side by
//! side. The panels store those codes at their width and the kernel sign-extends them in
//! registers (see [`Avx2Panels`]): one byte per code for 5- to 8-bit weights, a nibble for 3-
//! and 4-bit, a bit pair for 2-bit. The activations are widened once to i16 rows, so each
//! aligned i32 word is the pair `(A[m,2p], A[m,2p+1])`, broadcast one row at a time. The
//! 6×16 micro-kernel keeps 12 accumulators in registers (Goto/BLIS blocking: the panel chunk
//! of `KC` columns stays in L1 while the row blocks stream past it); the last rows of a
//! product (1 to 5, or the single row of a matrix–vector product) run a micro-kernel of
//! exactly that many rows over the same panels.

use std::arch::x86_64::*;

/// Outputs per panel.
pub const NR: usize = 16;
/// Rows per micro-kernel call.
pub const MR: usize = 6;
/// Columns per cache block (a multiple of 4, so a block starts on a pair of column pairs).
pub const KC: usize = 512;

/// Weight panels at the codes' width, `[⌈rows/16⌉]` blocks of 16 outputs, each a run of
/// 32-byte vectors of 16 i16 lanes. Each lane holds `16/bits` fields of `bits` bits (two's
/// complement): field `2q` is lane `i` of `b0` and field `2q + 1` lane `i` of `b1` for the
/// vector's `q`-th column pair, where lane `i` of `b0` is output `i/2` at column `2p + i%2`
/// and lane `i` of `b1` output `8 + i/2`. A vector so holds one column pair at 8 bits, two at
/// 4 and four at 2 (the pair count is rounded up with zero codes), and the kernel extracts
/// each field with two shifts (`vpsllw`, `vpsraw`). Codes of 3 bits are stored in 4, of 5
/// to 7 bits in 8.
#[derive(Debug, Clone)]
pub struct Avx2Panels {
    data: Vec<u8>,
    rows: usize,
    pairs: usize,
    stored_bits: u32,
}

impl Avx2Panels {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Output rows (weight rows) packed.
    pub fn output_rows(&self) -> usize {
        self.rows
    }

    /// Bits each code of these panels takes (2, 4 or 8).
    pub fn stored_bits_per_code(&self) -> u32 {
        self.stored_bits
    }

    /// Bytes of one panel (16 outputs, every column pair).
    pub fn panel_bytes(&self) -> usize {
        Self::block_bytes(self.pairs, self.stored_bits)
    }

    /// Where the panel of output block `block` starts at column pair `pair` (a multiple of
    /// the pairs per vector).
    pub fn panel_at(&self, block: usize, pair: usize) -> *const u8 {
        self.data[self.offset(block, pair)..].as_ptr()
    }

    /// Bits each code takes in the panels (2, 4 or 8) for `bits`-bit codes.
    pub fn stored_bits(bits: u32) -> u32 {
        match bits {
            2 => 2,
            3 | 4 => 4,
            _ => 8,
        }
    }

    /// Column pairs per 32-byte vector.
    fn pairs_per_vector(stored_bits: u32) -> usize {
        8 / stored_bits as usize
    }

    /// Bytes of one block's run of vectors.
    fn block_bytes(pairs: usize, stored_bits: u32) -> usize {
        pairs.div_ceil(Self::pairs_per_vector(stored_bits)) * 32
    }

    /// Where the panel of output block `block` starts at column pair `pair` (a multiple of
    /// the pairs per vector).
    fn offset(&self, block: usize, pair: usize) -> usize {
        block * Self::block_bytes(self.pairs, self.stored_bits)
            + pair / Self::pairs_per_vector(self.stored_bits) * 32
    }

    /// Packs `[rows, columns]` codes of `bits` bits that `fill(first_row, out)` writes 16 rows
    /// at a time (row-major), so no 8-bit copy of the whole matrix is made.
    pub fn pack_rows(
        rows: usize,
        columns: usize,
        bits: u32,
        fill: &mut impl FnMut(usize, &mut [i8]),
    ) -> Self {
        let stored_bits = Self::stored_bits(bits);
        let per_vector = Self::pairs_per_vector(stored_bits);
        let mask = (1u16 << stored_bits) - 1;
        let pairs = columns.div_ceil(2);
        let blocks = rows.div_ceil(NR);
        let block_bytes = Self::block_bytes(pairs, stored_bits);
        let mut data = vec![0u8; blocks * block_bytes];
        let mut codes = vec![0i8; NR * columns];
        for block in 0..blocks {
            let count = NR.min(rows - block * NR);
            fill(block * NR, &mut codes[..count * columns]);
            let panel = &mut data[block * block_bytes..(block + 1) * block_bytes];
            for j in 0..count {
                for k in 0..columns {
                    let (p, t) = (k / 2, k % 2);
                    let (vector, q) = (p / per_vector, p % per_vector);
                    let field = 2 * q + usize::from(j >= 8);
                    let lane = (j % 8) * 2 + t;
                    let at = vector * 32 + lane * 2;
                    let bits_in =
                        ((codes[j * columns + k] as u16) & mask) << (stored_bits as usize * field);
                    let word = u16::from_le_bytes([panel[at], panel[at + 1]]) | bits_in;
                    panel[at..at + 2].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
        Self {
            data,
            rows,
            pairs,
            stored_bits,
        }
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

/// Field `FIELD` of each i16 lane of `v`, `BITS` wide, sign-extended.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn field<const BITS: u32, const FIELD: u32>(v: __m256i) -> __m256i {
    let top = 16 - BITS * (FIELD + 1);
    // The shift counts are constants after inlining and monomorphisation.
    let up = _mm256_sll_epi16(v, _mm_cvtsi32_si128(top as i32));
    _mm256_sra_epi16(up, _mm_cvtsi32_si128(16 - BITS as i32))
}

/// `b0` and `b1` of the vector's `q`-th column pair: fields `2q` and `2q + 1` (`q` is a
/// constant after unrolling, so the match folds away).
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn pair_fields<const BITS: u32>(v: __m256i, q: usize) -> (__m256i, __m256i) {
    match q {
        0 => (field::<BITS, 0>(v), field::<BITS, 1>(v)),
        1 => (field::<BITS, 2>(v), field::<BITS, 3>(v)),
        2 => (field::<BITS, 4>(v), field::<BITS, 5>(v)),
        _ => (field::<BITS, 6>(v), field::<BITS, 7>(v)),
    }
}

/// Adds `a_word · (b0, b1)` of one column pair to each row's accumulators.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn multiply_add<const ROWS: usize>(
    c: &mut [[__m256i; 2]; ROWS],
    a: *const i32,
    row_stride: usize,
    p: usize,
    b0: __m256i,
    b1: __m256i,
) {
    for (r, row) in c.iter_mut().enumerate() {
        let av = _mm256_set1_epi32(*a.add(r * row_stride + p));
        row[0] = _mm256_add_epi32(row[0], _mm256_madd_epi16(av, b0));
        row[1] = _mm256_add_epi32(row[1], _mm256_madd_epi16(av, b1));
    }
}

/// The `ROWS`×16 micro-kernel over `pairs` column pairs of a panel of `BITS`-bit codes: `a`
/// points at row 0 of `ROWS` widened rows `row_stride` words apart, `b` at the panel; writes
/// (or, with `accumulate`, adds) the results at `c`, whose rows are `ldc` apart.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_kernel<const ROWS: usize, const BITS: u32>(
    pairs: usize,
    a: *const i32,
    row_stride: usize,
    b: *const u8,
    c_out: *mut i32,
    ldc: usize,
    accumulate: bool,
) {
    let mut c = [[_mm256_setzero_si256(); 2]; ROWS];
    let per_vector = 8 / BITS as usize;
    let whole = pairs / per_vector;
    for vector in 0..whole {
        if ROWS <= 2 {
            // Few rows stream the panels from memory: fetch 2 KiB ahead.
            _mm_prefetch::<_MM_HINT_T0>(b.add(vector * 32 + 2048) as *const i8);
        }
        let v = _mm256_loadu_si256(b.add(vector * 32) as *const __m256i);
        for q in 0..per_vector {
            let (b0, b1) = pair_fields::<BITS>(v, q);
            multiply_add(&mut c, a, row_stride, vector * per_vector + q, b0, b1);
        }
    }
    // The last vector's pairs that exist (its other fields are zero codes).
    let left = pairs - whole * per_vector;
    if left > 0 {
        let v = _mm256_loadu_si256(b.add(whole * 32) as *const __m256i);
        for q in 0..left {
            let (b0, b1) = pair_fields::<BITS>(v, q);
            multiply_add(&mut c, a, row_stride, whole * per_vector + q, b0, b1);
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
    panels: &Avx2Panels,
    out: &mut [i32],
) {
    match panels.stored_bits {
        8 => gemm_widened_at::<8>(widened, m_rows, pairs_total, panels, out),
        4 => gemm_widened_at::<4>(widened, m_rows, pairs_total, panels, out),
        _ => gemm_widened_at::<2>(widened, m_rows, pairs_total, panels, out),
    }
}

/// A tile of `m_count` (1..=6) rows by 16 outputs: the micro-kernel of exactly that many rows.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const BITS: u32>(
    m_count: usize,
    pairs: usize,
    a: *const i32,
    row_stride: usize,
    b: *const u8,
    c: *mut i32,
    ldc: usize,
    accumulate: bool,
) {
    match m_count {
        6 => micro_kernel::<6, BITS>(pairs, a, row_stride, b, c, ldc, accumulate),
        5 => micro_kernel::<5, BITS>(pairs, a, row_stride, b, c, ldc, accumulate),
        4 => micro_kernel::<4, BITS>(pairs, a, row_stride, b, c, ldc, accumulate),
        3 => micro_kernel::<3, BITS>(pairs, a, row_stride, b, c, ldc, accumulate),
        2 => micro_kernel::<2, BITS>(pairs, a, row_stride, b, c, ldc, accumulate),
        _ => micro_kernel::<1, BITS>(pairs, a, row_stride, b, c, ldc, accumulate),
    }
}

/// [`gemm_widened`] for panels of `BITS`-bit codes.
#[target_feature(enable = "avx2")]
unsafe fn gemm_widened_at<const BITS: u32>(
    widened: &[i32],
    m_rows: usize,
    pairs_total: usize,
    panels: &Avx2Panels,
    out: &mut [i32],
) {
    let rows = panels.rows;
    let n_blocks = rows.div_ceil(NR);
    let m_blocks = m_rows.div_ceil(MR);
    let row_stride = pairs_total;
    // Cache blocking pays when several row blocks reuse a panel chunk; a single block (a
    // matrix–vector product, or a few rows) streams each panel once from start to end.
    let chunk = if m_blocks > 1 { KC / 2 } else { pairs_total };
    let mut p0 = 0;
    while p0 < pairs_total {
        let pairs = chunk.min(pairs_total - p0);
        for nb in 0..n_blocks {
            let b = panels.data.as_ptr().add(panels.offset(nb, p0));
            let cols = NR.min(rows - nb * NR);
            for mb in 0..m_blocks {
                let m_count = MR.min(m_rows - mb * MR);
                let a_block = widened.as_ptr().add(mb * MR * row_stride + p0);
                if cols == NR {
                    // A full-width tile goes straight to the output.
                    let c = out.as_mut_ptr().add(mb * MR * rows + nb * NR);
                    tile::<BITS>(m_count, pairs, a_block, row_stride, b, c, rows, p0 > 0);
                    continue;
                }
                let mut tile_out = [[0i32; NR]; MR];
                tile::<BITS>(
                    m_count,
                    pairs,
                    a_block,
                    row_stride,
                    b,
                    tile_out.as_mut_ptr() as *mut i32,
                    NR,
                    false,
                );
                for (r, t) in tile_out.iter().enumerate().take(m_count) {
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
