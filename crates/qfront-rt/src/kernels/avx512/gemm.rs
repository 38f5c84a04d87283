//! Exact u8×i8 GEMM with `vpdpbusd`: `C[m, o] = Σ_k A[m, k]·W[o, k]`.
//!
//! Weights are packed once into panels of [`NR`] = 32 outputs: for each group of four
//! columns `4q..4q+4`, 32 outputs × 4 bytes (two zmm). Activations are u8 rows padded to a
//! multiple of four columns ([`padded_columns`]) and of [`MR`] rows; the 8×32 micro-kernel
//! broadcasts four bytes of a row and keeps 16 zmm accumulators (Goto/BLIS blocking over
//! [`KC`] columns).

use std::arch::x86_64::*;

/// Outputs per panel.
pub const NR: usize = 32;
/// Rows per micro-kernel call.
pub const MR: usize = 8;
/// Columns per cache block (multiple of 4).
pub const KC: usize = 1024;

/// Row length of the activations the GEMM reads: `⌈k/4⌉·4`.
pub fn padded_columns(k: usize) -> usize {
    k.div_ceil(4) * 4
}

/// Weight panels `[⌈rows/32⌉][⌈columns/4⌉][32 outputs × 4]` i8.
#[derive(Debug, Clone)]
pub struct VnniPanels {
    data: Vec<i8>,
    rows: usize,
    quads: usize,
}

impl VnniPanels {
    /// Packs row-major codes `[rows, columns]`.
    pub fn pack(codes: &[i8], rows: usize, columns: usize) -> Self {
        let quads = columns.div_ceil(4);
        let blocks = rows.div_ceil(NR);
        let mut data = vec![0i8; blocks * quads * NR * 4];
        for o in 0..rows {
            let (nb, j) = (o / NR, o % NR);
            for k in 0..columns {
                let (q, t) = (k / 4, k % 4);
                data[(nb * quads + q) * NR * 4 + j * 4 + t] = codes[o * columns + k];
            }
        }
        Self { data, rows, quads }
    }
}

/// Copies `a` (`[m_rows, k_len]`) into rows of [`padded_columns`] bytes, zero-padded, with
/// the row count padded to a multiple of [`MR`].
pub fn pad_activations(a: &[u8], m_rows: usize, k_len: usize, out: &mut Vec<u8>) {
    let stride = padded_columns(k_len);
    let padded_rows = m_rows.div_ceil(MR) * MR;
    if out.len() < padded_rows * stride {
        out.resize(padded_rows * stride, 0);
    }
    for m in 0..m_rows {
        out[m * stride..m * stride + k_len].copy_from_slice(&a[m * k_len..(m + 1) * k_len]);
        out[m * stride + k_len..(m + 1) * stride].fill(0);
    }
    out[m_rows * stride..padded_rows * stride].fill(0);
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn micro_kernel(
    quads: usize,
    a: *const u8,
    stride: usize,
    b: *const i8,
    c_out: *mut i32,
    ldc: usize,
    accumulate: bool,
    mask0: u16,
    mask1: u16,
) {
    let mut c = [[_mm512_setzero_si512(); 2]; MR];
    for q in 0..quads {
        let b0 = _mm512_loadu_si512(b.add(q * 128) as *const __m512i);
        let b1 = _mm512_loadu_si512(b.add(q * 128 + 64) as *const __m512i);
        for (r, row) in c.iter_mut().enumerate() {
            let av = _mm512_set1_epi32((a.add(r * stride + q * 4) as *const i32).read_unaligned());
            row[0] = _mm512_dpbusd_epi32(row[0], av, b0);
            row[1] = _mm512_dpbusd_epi32(row[1], av, b1);
        }
    }
    for (r, row) in c.iter().enumerate() {
        let t = c_out.add(r * ldc);
        let (mut v0, mut v1) = (row[0], row[1]);
        if accumulate {
            v0 = _mm512_add_epi32(v0, _mm512_maskz_loadu_epi32(mask0, t as *const i32));
            v1 = _mm512_add_epi32(v1, _mm512_maskz_loadu_epi32(mask1, t.add(16) as *const i32));
        }
        _mm512_mask_storeu_epi32(t, mask0, v0);
        _mm512_mask_storeu_epi32(t.add(16), mask1, v1);
    }
}

/// The GEMM on activations padded by [`pad_activations`] (or written in that form).
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available; `a` holds `⌈m_rows/MR⌉·MR` rows of
/// `padded_columns(k)` bytes for the panels' `k`; `out.len() ≥ m_rows·rows`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemm_padded(a: &[u8], m_rows: usize, panels: &VnniPanels, out: &mut [i32]) {
    let rows = panels.rows;
    let stride = panels.quads * 4;
    let n_blocks = rows.div_ceil(NR);
    let m_blocks = m_rows.div_ceil(MR);
    let mut q0 = 0;
    while q0 < panels.quads {
        let quads = (KC / 4).min(panels.quads - q0);
        for nb in 0..n_blocks {
            let b = panels.data.as_ptr().add((nb * panels.quads + q0) * NR * 4);
            let cols = NR.min(rows - nb * NR);
            let mask0 = if cols >= 16 {
                u16::MAX
            } else {
                (1u16 << cols) - 1
            };
            let mask1 = if cols >= 32 {
                u16::MAX
            } else if cols > 16 {
                (1u16 << (cols - 16)) - 1
            } else {
                0
            };
            for mb in 0..m_blocks {
                let m_count = MR.min(m_rows - mb * MR);
                let a_block = a.as_ptr().add(mb * MR * stride + q0 * 4);
                let c = out.as_mut_ptr().add(mb * MR * rows + nb * NR);
                if m_count == MR {
                    micro_kernel(quads, a_block, stride, b, c, rows, q0 > 0, mask0, mask1);
                } else {
                    let mut tile = [[0i32; NR]; MR];
                    micro_kernel(
                        quads,
                        a_block,
                        stride,
                        b,
                        tile.as_mut_ptr() as *mut i32,
                        NR,
                        false,
                        u16::MAX,
                        u16::MAX,
                    );
                    for (r, t) in tile.iter().enumerate().take(m_count) {
                        let dst = &mut out
                            [(mb * MR + r) * rows + nb * NR..(mb * MR + r) * rows + nb * NR + cols];
                        for (o, v) in dst.iter_mut().zip(t) {
                            if q0 > 0 {
                                *o += v;
                            } else {
                                *o = *v;
                            }
                        }
                    }
                }
            }
        }
        q0 += quads;
    }
}
