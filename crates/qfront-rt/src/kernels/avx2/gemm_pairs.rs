//! Exact u8×i8 GEMM for AVX2 CPUs on codes of at most 7 bits, on the AVX-512 sets' panels
//! ([`VnniPanels`]): `vpmaddubsw` (u8×i8 pairs into i16) + `vpmaddwd` with ones + `vpaddd`,
//! 32 multiply-adds in three instructions where the 8-bit path ([`super::gemm`], `vpmaddwd`
//! on i16 pairs) needs four.
//!
//! `vpmaddubsw` saturates its i16 pair sums, so this is exact only where `|a₀c₀ + a₁c₁| ≤
//! 32767` for every activation `a ≤ 255`: codes of at most 7 bits (`|c| ≤ 64`: 32640) and
//! the offset nibbles and bit pairs of the 4- and 2-bit layouts (at most 15); see
//! [`crate::kernels::avx512::dot`]. The panels are the AVX-512 sets' byte for byte (32
//! outputs per panel, four columns per i32 lane, nibbles and bit pairs unpacked in registers,
//! the offset removed with each row's activation sum when a tile is stored); a 32-output
//! quad is four ymm registers here instead of two zmm. The micro-kernel is 2 rows × 32
//! outputs: 8 ymm accumulators, 4 weight registers, a broadcast and the ones, inside AVX2's
//! 16 registers.

use crate::kernels::avx512::gemm::{PanelBits, VnniPanels, KC, NR};
use std::arch::x86_64::*;

/// Rows per micro-kernel call.
pub const MR: usize = 2;

/// Bytes ahead of the weight stream the one-row tile prefetches.
const PREFETCH_AHEAD: usize = 2048;

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
    /// Valid outputs of the panel (32, or fewer for the last one).
    cols: usize,
    /// Add to the outputs (later column blocks) instead of storing.
    accumulate: bool,
    /// `z·Σ_k a[r, k]` per row, subtracted when the first column block is stored.
    corrections: [i32; MR],
}

/// Broadcasts the four activation bytes of quad `q` of row `r`.
#[inline(always)]
unsafe fn broadcast(t: &Tile, r: usize, q: usize) -> __m256i {
    _mm256_set1_epi32((t.a.add(r * t.stride + q * 4) as *const i32).read_unaligned())
}

/// `acc + Σ_{t<4} a[4i+t]·w[4i+t]` per i32 lane.
#[inline(always)]
unsafe fn dot(acc: __m256i, a: __m256i, w: __m256i, ones: __m256i) -> __m256i {
    _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, w), ones))
}

/// `acc + dot(a0, w0) + dot(a1, w1)`, for bit pairs (each i16 pair sum at most 2·255·3, so
/// two add exactly in i16 first).
#[inline(always)]
unsafe fn dot_two(
    acc: __m256i,
    a0: __m256i,
    w0: __m256i,
    a1: __m256i,
    w1: __m256i,
    ones: __m256i,
) -> __m256i {
    let pairs = _mm256_add_epi16(_mm256_maddubs_epi16(a0, w0), _mm256_maddubs_epi16(a1, w1));
    _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones))
}

/// One `ROWS × 32` tile over one column block, for panels of `BITS` (8, 4 or 2) bits.
#[target_feature(enable = "avx2")]
unsafe fn micro_kernel<const ROWS: usize, const BITS: u32>(t: &Tile) {
    let mut c = [[_mm256_setzero_si256(); 4]; ROWS];
    let ones = _mm256_set1_epi16(1);
    let b = t.b;
    let load = |at: usize| _mm256_loadu_si256(b.add(at) as *const __m256i);
    // One row streams the panels from memory: fetch 2 KiB ahead (one 64-byte line per
    // 64 bytes read).
    let prefetch = |at: usize| {
        if ROWS == 1 {
            _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(at + PREFETCH_AHEAD) as *const i8);
        }
    };
    if BITS == 8 {
        for q in 0..t.quads {
            prefetch(q * 128);
            prefetch(q * 128 + 64);
            let w = [
                load(q * 128),
                load(q * 128 + 32),
                load(q * 128 + 64),
                load(q * 128 + 96),
            ];
            for (r, row) in c.iter_mut().enumerate() {
                let av = broadcast(t, r, q);
                for (acc, &w) in row.iter_mut().zip(&w) {
                    *acc = dot(*acc, av, w, ones);
                }
            }
        }
    } else if BITS == 4 {
        let nibble = _mm256_set1_epi8(0x0F);
        for q in 0..t.quads {
            prefetch(q * 64);
            let (v0, v1) = (load(q * 64), load(q * 64 + 32));
            let w = [
                _mm256_and_si256(v0, nibble),
                _mm256_and_si256(v1, nibble),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v0), nibble),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v1), nibble),
            ];
            for (r, row) in c.iter_mut().enumerate() {
                let av = broadcast(t, r, q);
                for (acc, &w) in row.iter_mut().zip(&w) {
                    *acc = dot(*acc, av, w, ones);
                }
            }
        }
    } else {
        let crumb = _mm256_set1_epi8(0x03);
        for p in 0..t.quads / 2 {
            prefetch(p * 64);
            let (v0, v1) = (load(p * 64), load(p * 64 + 32));
            let field = |v: __m256i, shift: i32| {
                _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), crumb)
            };
            // Quad 2p in bit pairs 0 (outputs 0–15) and 1 (16–31), quad 2p + 1 in 2 and 3.
            let even = [field(v0, 0), field(v1, 0), field(v0, 2), field(v1, 2)];
            let odd = [field(v0, 4), field(v1, 4), field(v0, 6), field(v1, 6)];
            for (r, row) in c.iter_mut().enumerate() {
                let (a0, a1) = (broadcast(t, r, 2 * p), broadcast(t, r, 2 * p + 1));
                for (i, acc) in row.iter_mut().enumerate() {
                    *acc = dot_two(*acc, a0, even[i], a1, odd[i], ones);
                }
            }
        }
    }
    for (r, row) in c.iter().enumerate() {
        store_row(t, r, row);
    }
}

/// Stores (or adds, for later column blocks) row `r`'s 32 outputs, removing the offset
/// correction at the first block; a last panel with fewer than 32 outputs goes through a
/// buffer.
#[target_feature(enable = "avx2")]
unsafe fn store_row(t: &Tile, r: usize, row: &[__m256i; 4]) {
    let fix = _mm256_set1_epi32(if t.accumulate { 0 } else { t.corrections[r] });
    let mut values = [0i32; NR];
    for (i, &v) in row.iter().enumerate() {
        let v = _mm256_sub_epi32(v, fix);
        _mm256_storeu_si256(values.as_mut_ptr().add(8 * i) as *mut __m256i, v);
    }
    let out = std::slice::from_raw_parts_mut(t.c.add(r * t.ldc), t.cols);
    if t.accumulate {
        for (o, v) in out.iter_mut().zip(values) {
            *o += v;
        }
    } else {
        out.copy_from_slice(&values[..t.cols]);
    }
}

/// The GEMM on `m_rows` activation rows of [`VnniPanels::padded_columns`] bytes each (zero
/// tail), as [`pad_activations`](crate::kernels::avx512::gemm::pad_activations) or `exec`'s
/// im2col write them; rows past `m_rows` are never read.
///
/// # Safety
/// AVX2 must be available; the panels' codes must be of at most 7 bits; `a` holds `m_rows`
/// rows of `padded_columns()` bytes and `out.len() ≥ m_rows·rows`.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm_padded(a: &[u8], m_rows: usize, panels: &VnniPanels, out: &mut [i32]) {
    let rows = panels.output_rows();
    let stride = panels.padded_columns();
    let quads_total = stride / 4;
    assert!(a.len() >= m_rows * stride && out.len() >= m_rows * rows);
    let corrections = panels.offset_corrections(a, m_rows);
    // A matrix–vector product (one or two rows) streams each panel whole, in one stream the
    // prefetcher follows; more rows are blocked by columns so that their activation block
    // stays in L1 while the panels stream past it.
    let block = if m_rows <= MR { quads_total } else { KC / 4 };
    let mut q0 = 0;
    while q0 < quads_total {
        let quads = block.min(quads_total - q0);
        for nb in 0..rows.div_ceil(NR) {
            let b = panels.panel_at(nb, q0);
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
                    cols: NR.min(rows - nb * NR),
                    accumulate: q0 > 0,
                    corrections: fixes,
                };
                match (panels.bits(), count) {
                    (PanelBits::Eight, 2) => micro_kernel::<2, 8>(&t),
                    (PanelBits::Eight, _) => micro_kernel::<1, 8>(&t),
                    (PanelBits::Four, 2) => micro_kernel::<2, 4>(&t),
                    (PanelBits::Four, _) => micro_kernel::<1, 4>(&t),
                    (PanelBits::Two, 2) => micro_kernel::<2, 2>(&t),
                    (PanelBits::Two, _) => micro_kernel::<1, 2>(&t),
                }
            }
        }
        q0 += quads;
    }
}
