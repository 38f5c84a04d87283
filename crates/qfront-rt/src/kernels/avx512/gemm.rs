//! Exact u8×i8 GEMM with `vpdpbusd`: `C[m, o] = Σ_k A[m, k]·W[o, k]`, for any number of rows
//! (one row is the batch-1 matrix–vector product), on weights kept at their width.
//!
//! Weights are packed once into panels of [`NR`] = 32 outputs, in one of three layouts
//! ([`PanelBits`]); this is the only copy of a layer's weights the AVX-512 set keeps:
//! - 8 bits (5- to 8-bit codes): for each group of four columns `4q..4q+4`, 32 outputs × 4
//!   bytes (two zmm), the codes as they are;
//! - 4 bits (3- and 4-bit codes): per quad one zmm whose byte `4j + t` holds
//!   `c + 8` of output `j` in its low nibble and of output `j + 16` in its high nibble;
//! - 2 bits: per pair of quads one zmm whose byte `4j + t` holds `c + 2` of (output `j`,
//!   quad `2p`), (`j + 16`, `2p`), (`j`, `2p + 1`), (`j + 16`, `2p + 1`) in its bit pairs.
//!
//! The micro-kernel unpacks nibbles and bit pairs in registers (an AND, or a shift and an
//! AND, per zmm) and multiplies the offset codes `u = c + z` (small non-negative i8) directly;
//! `Σ a·c = Σ a·u − z·Σ a` removes the offset with each row's activation sum when a tile is
//! stored. Activations are u8 rows padded to [`VnniPanels::padded_columns`] bytes; the
//! `MR × 32` micro-kernel (`MR` = 1..=8 rows) broadcasts four bytes of a row and keeps
//! `2·MR` zmm accumulators (Goto/BLIS blocking over [`KC`] columns).

use super::dot::{DotProduct, PairSums, Vnni};
use crate::kernels::aligned::AlignedBytes;
use std::arch::x86_64::*;

/// Outputs per panel.
pub const NR: usize = 32;
/// Most rows per micro-kernel call.
pub const MR: usize = 8;
/// Columns per cache block (a multiple of 8, so 2-bit quad pairs never straddle blocks).
pub const KC: usize = 1024;

/// How a panel stores its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelBits {
    /// One byte per code (5- to 8-bit codes).
    Eight,
    /// Two codes per byte, `c + 8` (3- and 4-bit codes).
    Four,
    /// Four codes per byte, `c + 2` (2-bit codes).
    Two,
}

impl PanelBits {
    /// The narrowest layout that holds codes of `bits` bits.
    pub fn for_bits(bits: u32) -> Self {
        match bits {
            ..=2 => PanelBits::Two,
            3 | 4 => PanelBits::Four,
            _ => PanelBits::Eight,
        }
    }

    /// The offset `z` added to each stored code.
    pub fn offset(self) -> i32 {
        match self {
            PanelBits::Eight => 0,
            PanelBits::Four => 8,
            PanelBits::Two => 2,
        }
    }

    /// Quads (groups of four columns) a stored step covers.
    fn quads_per_step(self) -> usize {
        match self {
            PanelBits::Two => 2,
            _ => 1,
        }
    }

    /// Bytes per panel per quad.
    fn bytes_per_quad(self) -> usize {
        match self {
            PanelBits::Eight => 128,
            PanelBits::Four => 64,
            PanelBits::Two => 32,
        }
    }
}

/// Weight panels `[⌈rows/32⌉][quads][…]` in one of the [`PanelBits`] layouts.
#[derive(Debug, Clone)]
pub struct VnniPanels {
    data: Vec<u8>,
    rows: usize,
    quads: usize,
    bits: PanelBits,
}

impl VnniPanels {
    /// Packs row-major codes `[rows, columns]` of `bits` bits (2..=8).
    pub fn pack(codes: &[i8], rows: usize, columns: usize, bits: u32) -> Self {
        Self::pack_rows(rows, columns, bits, |first, out| {
            out.copy_from_slice(&codes[first * columns..first * columns + out.len()])
        })
    }

    /// Packs a `[rows, columns]` matrix of `bits`-bit codes that `fill(first_row, out)`
    /// writes 32 rows at a time (row-major into `out`), so no full 8-bit copy of the matrix
    /// ever exists.
    pub fn pack_rows(
        rows: usize,
        columns: usize,
        bits: u32,
        fill: impl FnMut(usize, &mut [i8]),
    ) -> Self {
        Self::pack_rows_aligned(rows, columns, bits, 1, fill)
    }

    /// [`VnniPanels::pack_rows`] with the quads (and so [`VnniPanels::padded_columns`])
    /// rounded up to a multiple of `quad_multiple` (a power of two), zero codes in the
    /// padding: the AMX kernels read whole 64-byte (16-quad) tiles.
    pub fn pack_rows_aligned(
        rows: usize,
        columns: usize,
        bits: u32,
        quad_multiple: usize,
        mut fill: impl FnMut(usize, &mut [i8]),
    ) -> Self {
        let layout = PanelBits::for_bits(bits);
        let multiple = quad_multiple.max(layout.quads_per_step());
        let quads = columns.div_ceil(4).div_ceil(multiple) * multiple;
        let blocks = rows.div_ceil(NR);
        let per_quad = layout.bytes_per_quad();
        let offset = layout.offset();
        // Padding outputs and columns hold the code 0 (stored as the offset).
        let filler = match layout {
            PanelBits::Eight => 0u8,
            PanelBits::Four => 0x88,
            PanelBits::Two => 0xAA,
        };
        let mut data = vec![filler; blocks * quads * per_quad];
        let mut block_codes = vec![0i8; NR * columns];
        for (block, panel) in data.chunks_exact_mut(quads * per_quad).enumerate() {
            let first = block * NR;
            let count = NR.min(rows - first);
            fill(first, &mut block_codes[..count * columns]);
            for (j, row) in block_codes[..count * columns]
                .chunks_exact(columns)
                .enumerate()
            {
                for (k, &code) in row.iter().enumerate() {
                    let (q, t) = (k / 4, k % 4);
                    let u = (code as i32 + offset) as u8;
                    match layout {
                        PanelBits::Eight => panel[q * 128 + j * 4 + t] = u,
                        PanelBits::Four => {
                            let byte = &mut panel[q * 64 + (j % 16) * 4 + t];
                            let shift = if j < 16 { 0 } else { 4 };
                            *byte = (*byte & !(0x0F << shift)) | (u << shift);
                        }
                        PanelBits::Two => {
                            let byte = &mut panel[(q / 2) * 64 + (j % 16) * 4 + t];
                            let shift = 2 * ((j / 16) + 2 * (q % 2));
                            *byte = (*byte & !(0x03 << shift)) | (u << shift);
                        }
                    }
                }
            }
        }
        Self {
            data,
            rows,
            quads,
            bits: layout,
        }
    }

    /// Row length of the activations the GEMM reads: the columns rounded up to whole quads
    /// (to an even number of quads for 2-bit panels).
    pub fn padded_columns(&self) -> usize {
        self.quads * 4
    }

    /// Bytes of packed weights.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// The layout.
    pub fn bits(&self) -> PanelBits {
        self.bits
    }

    /// Output rows (weight rows) packed.
    pub fn output_rows(&self) -> usize {
        self.rows
    }

    /// `z·Σ_k a[m, k]` for each of the `m_rows` rows of `a` (rows of
    /// [`VnniPanels::padded_columns`] bytes, zero tail): the offset the 4- and 2-bit layouts
    /// add to every code, removed from each output of row `m`. Empty for the 8-bit layout,
    /// which has no offset.
    pub fn offset_corrections(&self, a: &[u8], m_rows: usize) -> Vec<i32> {
        let offset = self.bits.offset();
        if offset == 0 {
            return Vec::new();
        }
        let stride = self.padded_columns();
        a[..m_rows * stride]
            .chunks_exact(stride)
            .map(|row| offset * crate::kernels::byte_sum(row))
            .collect()
    }

    /// Groups of four columns stored (padding included).
    pub fn quads(&self) -> usize {
        self.quads
    }

    /// Where the panel of output block `block` (32 outputs) starts at quad `quad` (even for
    /// 2-bit panels).
    pub fn panel_at(&self, block: usize, quad: usize) -> *const u8 {
        let per_quad = self.bits.bytes_per_quad();
        self.data[block * self.quads * per_quad + quad * per_quad..].as_ptr()
    }
}

/// Copies `a` (`[m_rows, k_len]`) into rows of `stride` bytes, zero-padded, in a buffer that
/// starts on a cache line (so the AMX tiles read it in place).
pub fn pad_activations(
    a: &[u8],
    m_rows: usize,
    k_len: usize,
    stride: usize,
    out: &mut AlignedBytes,
) {
    out.ensure_len(m_rows * stride);
    for m in 0..m_rows {
        out[m * stride..m * stride + k_len].copy_from_slice(&a[m * k_len..(m + 1) * k_len]);
        out[m * stride + k_len..(m + 1) * stride].fill(0);
    }
}

/// Where a micro-kernel call reads and writes.
struct Tile {
    /// First activation row, at the block's first column.
    a: *const u8,
    /// Activation row stride.
    stride: usize,
    /// The panel at the block's first quad.
    b: *const u8,
    /// Quads in the block.
    quads: usize,
    /// First output.
    c: *mut i32,
    /// Output row stride.
    ldc: usize,
    /// Add to the outputs (later column blocks) instead of storing.
    accumulate: bool,
    /// Valid outputs of the two 16-output halves.
    masks: [u16; 2],
    /// `z·Σ_k a[r, k]` per row, subtracted when the first column block is stored.
    corrections: [i32; MR],
}

/// Broadcasts the four activation bytes of quad `q` of row `r`.
#[inline(always)]
unsafe fn broadcast(t: &Tile, r: usize, q: usize) -> __m512i {
    _mm512_set1_epi32((t.a.add(r * t.stride + q * 4) as *const i32).read_unaligned())
}

/// One `ROWS × 32` tile over one column block, for panels of `BITS` (8, 4 or 2) bits;
/// without `BOTH`, only its first 16 outputs (the block holds no more), and the second
/// half's dot products are skipped.
/// (`#[inline(always)]`, as everything below the entry points [`gemm_padded`] and
/// [`gemm_padded_pair_sums`]: it takes their target features, see [`super::dot`].)
#[inline(always)]
unsafe fn micro_kernel<D: DotProduct, const ROWS: usize, const BITS: u32, const BOTH: bool>(
    t: &Tile,
) {
    let mut c = [[_mm512_setzero_si512(); 2]; ROWS];
    let b = t.b;
    if BITS == 8 {
        for q in 0..t.quads {
            let b0 = _mm512_loadu_si512(b.add(q * 128) as *const __m512i);
            let b1 = if BOTH {
                _mm512_loadu_si512(b.add(q * 128 + 64) as *const __m512i)
            } else {
                b0
            };
            for (r, row) in c.iter_mut().enumerate() {
                let av = broadcast(t, r, q);
                row[0] = D::dot(row[0], av, b0);
                if BOTH {
                    row[1] = D::dot(row[1], av, b1);
                }
            }
        }
    } else if BITS == 4 {
        let nibble = _mm512_set1_epi8(0x0F);
        for q in 0..t.quads {
            let w = _mm512_loadu_si512(b.add(q * 64) as *const __m512i);
            let b0 = _mm512_and_si512(w, nibble);
            let b1 = _mm512_and_si512(_mm512_srli_epi16::<4>(w), nibble);
            for (r, row) in c.iter_mut().enumerate() {
                let av = broadcast(t, r, q);
                row[0] = D::dot(row[0], av, b0);
                if BOTH {
                    row[1] = D::dot(row[1], av, b1);
                }
            }
        }
    } else {
        let crumb = _mm512_set1_epi8(0x03);
        for p in 0..t.quads / 2 {
            let w = _mm512_loadu_si512(b.add(p * 64) as *const __m512i);
            let b00 = _mm512_and_si512(w, crumb);
            let b01 = _mm512_and_si512(_mm512_srli_epi16::<2>(w), crumb);
            let b10 = _mm512_and_si512(_mm512_srli_epi16::<4>(w), crumb);
            let b11 = _mm512_and_si512(_mm512_srli_epi16::<6>(w), crumb);
            for (r, row) in c.iter_mut().enumerate() {
                let a0 = broadcast(t, r, 2 * p);
                let a1 = broadcast(t, r, 2 * p + 1);
                row[0] = D::dot_two(row[0], a0, b00, a1, b10);
                if BOTH {
                    row[1] = D::dot_two(row[1], a0, b01, a1, b11);
                }
            }
        }
    }
    for (r, row) in c.iter().enumerate() {
        store_row(t, r, row[0], row[1]);
    }
}

/// Bytes ahead of the weight stream the one-row tile prefetches.
const PREFETCH_AHEAD: usize = 2048;

/// The one-row tile (batch 1, a matrix–vector product): four independent accumulator pairs
/// over consecutive steps, so the `vpdpbusd` latency chain does not bound the weight stream,
/// summed at the end.
#[inline(always)]
unsafe fn one_row_kernel<D: DotProduct, const BITS: u32>(t: &Tile) {
    const SETS: usize = 4;
    let mut c = [[_mm512_setzero_si512(); 2]; SETS];
    // Quads per step and bytes per step of the layout.
    let (per_step, step_bytes) = match BITS {
        8 => (1, 128),
        4 => (1, 64),
        _ => (2, 64),
    };
    let steps = t.quads / per_step;
    let mut s = 0;
    while s + SETS <= steps {
        for (i, set) in c.iter_mut().enumerate() {
            one_row_step::<D, BITS>(t, set, s + i, per_step, step_bytes);
        }
        s += SETS;
    }
    for (i, set) in c.iter_mut().enumerate().take(steps - s) {
        one_row_step::<D, BITS>(t, set, s + i, per_step, step_bytes);
    }
    // Plain statements, not a closure (see `one_row_step`).
    let v0 = _mm512_add_epi32(
        _mm512_add_epi32(c[0][0], c[1][0]),
        _mm512_add_epi32(c[2][0], c[3][0]),
    );
    let v1 = _mm512_add_epi32(
        _mm512_add_epi32(c[0][1], c[1][1]),
        _mm512_add_epi32(c[2][1], c[3][1]),
    );
    store_row(t, 0, v0, v1);
}

/// One step of [`one_row_kernel`]: the quad(s) of step `s` into the accumulator pair `set`.
/// (A function, not a closure: a closure in an `#[inline(always)]` function has no target
/// features, so the intrinsics in it would not be inlined.)
#[inline(always)]
unsafe fn one_row_step<D: DotProduct, const BITS: u32>(
    t: &Tile,
    set: &mut [__m512i; 2],
    s: usize,
    per_step: usize,
    step_bytes: usize,
) {
    let b = t.b;
    let nibble = _mm512_set1_epi8(0x0F);
    let crumb = _mm512_set1_epi8(0x03);
    let w = b.add(s * step_bytes);
    _mm_prefetch::<_MM_HINT_T0>(w.wrapping_add(PREFETCH_AHEAD) as *const i8);
    let q = s * per_step;
    if BITS == 8 {
        let av = broadcast(t, 0, q);
        let b0 = _mm512_loadu_si512(w as *const __m512i);
        let b1 = _mm512_loadu_si512(w.add(64) as *const __m512i);
        set[0] = D::dot(set[0], av, b0);
        set[1] = D::dot(set[1], av, b1);
    } else if BITS == 4 {
        let av = broadcast(t, 0, q);
        let v = _mm512_loadu_si512(w as *const __m512i);
        let b0 = _mm512_and_si512(v, nibble);
        let b1 = _mm512_and_si512(_mm512_srli_epi16::<4>(v), nibble);
        set[0] = D::dot(set[0], av, b0);
        set[1] = D::dot(set[1], av, b1);
    } else {
        let (a0, a1) = (broadcast(t, 0, q), broadcast(t, 0, q + 1));
        let v = _mm512_loadu_si512(w as *const __m512i);
        let b00 = _mm512_and_si512(v, crumb);
        let b01 = _mm512_and_si512(_mm512_srli_epi16::<2>(v), crumb);
        let b10 = _mm512_and_si512(_mm512_srli_epi16::<4>(v), crumb);
        let b11 = _mm512_and_si512(_mm512_srli_epi16::<6>(v), crumb);
        set[0] = D::dot_two(set[0], a0, b00, a1, b10);
        set[1] = D::dot_two(set[1], a0, b01, a1, b11);
    }
}

/// Stores (or adds, for later column blocks) row `r`'s two 16-output halves, removing the
/// offset correction at the first block.
#[inline(always)]
unsafe fn store_row(t: &Tile, r: usize, v0: __m512i, v1: __m512i) {
    let out = t.c.add(r * t.ldc);
    let (mut v0, mut v1) = (v0, v1);
    if t.accumulate {
        v0 = _mm512_add_epi32(v0, _mm512_maskz_loadu_epi32(t.masks[0], out));
        v1 = _mm512_add_epi32(v1, _mm512_maskz_loadu_epi32(t.masks[1], out.add(16)));
    } else if t.corrections[r] != 0 {
        let fix = _mm512_set1_epi32(t.corrections[r]);
        v0 = _mm512_sub_epi32(v0, fix);
        v1 = _mm512_sub_epi32(v1, fix);
    }
    _mm512_mask_storeu_epi32(out, t.masks[0], v0);
    _mm512_mask_storeu_epi32(out.add(16), t.masks[1], v1);
}

/// Calls the micro-kernel for `rows` (1..=[`MR`]) rows and the panels' layout.
#[inline(always)]
unsafe fn tile<D: DotProduct>(bits: PanelBits, rows: usize, t: &Tile) {
    // A panel whose second half holds no output (16 or fewer in its block, e.g. a
    // 16-channel convolution) skips that half's dot products: half the work. (The one-row
    // kernel, a matrix–vector product bound by the weight stream, computes both halves.)
    macro_rules! by_rows {
        ($bits:literal, $both:literal) => {
            match rows {
                1 => one_row_kernel::<D, $bits>(t),
                2 => micro_kernel::<D, 2, $bits, $both>(t),
                3 => micro_kernel::<D, 3, $bits, $both>(t),
                4 => micro_kernel::<D, 4, $bits, $both>(t),
                5 => micro_kernel::<D, 5, $bits, $both>(t),
                6 => micro_kernel::<D, 6, $bits, $both>(t),
                7 => micro_kernel::<D, 7, $bits, $both>(t),
                _ => micro_kernel::<D, 8, $bits, $both>(t),
            }
        };
    }
    match (bits, t.masks[1] != 0) {
        (PanelBits::Eight, true) => by_rows!(8, true),
        (PanelBits::Eight, false) => by_rows!(8, false),
        (PanelBits::Four, true) => by_rows!(4, true),
        (PanelBits::Four, false) => by_rows!(4, false),
        (PanelBits::Two, true) => by_rows!(2, true),
        (PanelBits::Two, false) => by_rows!(2, false),
    }
}

/// Masks of the valid outputs among the two 16-output halves of a panel with `cols` valid.
fn output_masks(cols: usize) -> [u16; 2] {
    let half = |n: usize| {
        if n >= 16 {
            u16::MAX
        } else {
            (1u16 << n) - 1
        }
    };
    [half(cols), half(cols.saturating_sub(16))]
}

/// The GEMM on `m_rows` activation rows of [`VnniPanels::padded_columns`] bytes each (zero
/// tail), as [`pad_activations`] or `exec`'s im2col write them; rows past `m_rows` are
/// never read.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available; `a` holds `m_rows` rows of `padded_columns()` bytes
/// and `out.len() ≥ m_rows·rows`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemm_padded(a: &[u8], m_rows: usize, panels: &VnniPanels, out: &mut [i32]) {
    gemm_padded_with::<Vnni>(a, m_rows, panels, out)
}

/// [`gemm_padded`] for AVX-512 F/BW CPUs without VNNI, with the dot-product step made of
/// `vpmaddubsw` + `vpmaddwd` ([`PairSums`]).
///
/// # Safety
/// AVX-512 F/BW must be available; the panels' codes must be of at most 7 bits (8-bit codes
/// can saturate `vpmaddubsw`: [`PairSums`]); `a` and `out` as for [`gemm_padded`].
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn gemm_padded_pair_sums(a: &[u8], m_rows: usize, panels: &VnniPanels, out: &mut [i32]) {
    gemm_padded_with::<PairSums>(a, m_rows, panels, out)
}

/// The body of [`gemm_padded`] and [`gemm_padded_pair_sums`], inlined into each.
#[inline(always)]
unsafe fn gemm_padded_with<D: DotProduct>(
    a: &[u8],
    m_rows: usize,
    panels: &VnniPanels,
    out: &mut [i32],
) {
    let rows = panels.rows;
    let stride = panels.padded_columns();
    assert!(a.len() >= m_rows * stride && out.len() >= m_rows * rows);
    let corrections = panels.offset_corrections(a, m_rows);
    let per_quad = panels.bits.bytes_per_quad();
    let n_blocks = rows.div_ceil(NR);
    // A matrix–vector product (one or two rows) streams each panel whole: its activations
    // stay in L1 at any length, and one stream keeps the prefetcher running. More rows are
    // blocked by columns so their activation block stays in L1 while the panels stream.
    let block = if m_rows <= 2 { panels.quads } else { KC / 4 };
    let mut q0 = 0;
    while q0 < panels.quads {
        let quads = block.min(panels.quads - q0);
        for nb in 0..n_blocks {
            let b = panels
                .data
                .as_ptr()
                .add(nb * panels.quads * per_quad + q0 * per_quad);
            let masks = output_masks(NR.min(rows - nb * NR));
            for first in (0..m_rows).step_by(MR) {
                let count = MR.min(m_rows - first);
                let mut fixes = [0i32; MR];
                if !corrections.is_empty() {
                    fixes[..count].copy_from_slice(&corrections[first..first + count]);
                }
                let t = Tile {
                    a: a.as_ptr().add(first * stride + q0 * 4),
                    stride,
                    b,
                    quads,
                    c: out.as_mut_ptr().add(first * rows + nb * NR),
                    ldc: rows,
                    accumulate: q0 > 0,
                    masks,
                    corrections: fixes,
                };
                tile::<D>(panels.bits, count, &t);
            }
        }
        q0 += quads;
    }
}
