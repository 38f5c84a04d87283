//! Weight panels and activation rows in the layouts the aarch64 tiles read. A panel holds 8
//! output channels over the whole (zero-padded) reduction, so a tile streams it once per
//! block of activation rows; channels past the matrix and reduction steps past its columns
//! hold zero codes, which add nothing.

use super::PANEL_CHANNELS;
use crate::KernelSet;

/// A weight matrix `[rows, columns]` packed for one aarch64 kernel set.
#[derive(Debug)]
pub struct NeonPanels {
    /// Which tile reads it (and so the layout below).
    pub layout: PanelLayout,
    /// Output channels of the matrix.
    pub rows: usize,
    /// Reduction length of the matrix.
    pub columns: usize,
    /// Reduction length padded to the layout's step (8 or 16).
    pub depth: usize,
    /// The packed codes, `⌈rows/8⌉` panels of `8·depth` bytes.
    pub data: Vec<i8>,
    /// `NeonDot` only: `128·Σ_k w[o, k]` per output channel (padded to whole panels), the
    /// term that turns the `(a − 128)·w` dot products back into `a·w`.
    pub correction: Vec<i32>,
}

/// The three panel layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelLayout {
    /// `[k][8 channels]` per panel, depth padded to 8: one 8-byte load widens to the
    /// 8 channels' codes at reduction step `k` (`smlal` by lane).
    Widen,
    /// `[k/4][8 channels][4]` per panel, depth padded to 16: two 16-byte loads give 4
    /// consecutive codes of 8 channels (`sdot` by lane).
    Dot,
    /// `[k/8][4 channel pairs][2][8]` per panel, depth padded to 8: each 16-byte load is a
    /// 2-channel × 8-step block (`usmmla`).
    Mmla,
}

impl PanelLayout {
    /// The layout a kernel set's tiles read; `None` off aarch64's sets.
    pub fn for_kernels(kernels: KernelSet) -> Option<Self> {
        match kernels {
            KernelSet::Neon => Some(PanelLayout::Widen),
            KernelSet::NeonDot => Some(PanelLayout::Dot),
            KernelSet::NeonI8mm => Some(PanelLayout::Mmla),
            _ => None,
        }
    }

    /// The reduction step the layout pads to.
    pub fn depth_step(self) -> usize {
        match self {
            PanelLayout::Widen | PanelLayout::Mmla => 8,
            PanelLayout::Dot => 16,
        }
    }
}

impl NeonPanels {
    /// Packs row-major `codes` (`[rows, columns]`) for `layout`.
    pub fn pack(codes: &[i8], rows: usize, columns: usize, layout: PanelLayout) -> Self {
        Self::pack_rows(rows, columns, layout, |first, out| {
            out.copy_from_slice(&codes[first * columns..first * columns + out.len()])
        })
    }

    /// Packs a `[rows, columns]` matrix whose codes `fill(first_row, out)` writes 8 rows at
    /// a time (row-major into `out`), so no full copy of the matrix exists beside the panels.
    pub fn pack_rows(
        rows: usize,
        columns: usize,
        layout: PanelLayout,
        mut fill: impl FnMut(usize, &mut [i8]),
    ) -> Self {
        let depth = columns.div_ceil(layout.depth_step()) * layout.depth_step();
        let panels = rows.div_ceil(PANEL_CHANNELS);
        let mut data = Vec::with_capacity(panels * PANEL_CHANNELS * depth);
        let mut correction = Vec::new();
        let mut block = vec![0i8; PANEL_CHANNELS * columns];
        for panel in 0..panels {
            let first = panel * PANEL_CHANNELS;
            let count = PANEL_CHANNELS.min(rows - first);
            fill(first, &mut block[..count * columns]);
            let code = |c: usize, k: usize| -> i8 {
                if c < count && k < columns {
                    block[c * columns + k]
                } else {
                    0
                }
            };
            match layout {
                PanelLayout::Widen => {
                    for k in 0..depth {
                        data.extend((0..PANEL_CHANNELS).map(|c| code(c, k)));
                    }
                }
                PanelLayout::Dot => {
                    for group in 0..depth / 4 {
                        for c in 0..PANEL_CHANNELS {
                            data.extend((0..4).map(|i| code(c, 4 * group + i)));
                        }
                    }
                    correction.extend((0..PANEL_CHANNELS).map(|c| {
                        let sum: i32 = (0..columns).map(|k| code(c, k) as i32).sum();
                        sum.wrapping_mul(128)
                    }));
                }
                PanelLayout::Mmla => {
                    for step in 0..depth / 8 {
                        for c in 0..PANEL_CHANNELS {
                            data.extend((0..8).map(|i| code(c, 8 * step + i)));
                        }
                    }
                }
            }
        }
        Self {
            layout,
            rows,
            columns,
            depth,
            data,
            correction,
        }
    }

    /// Whole panels (8 channels each).
    pub fn panels(&self) -> usize {
        self.rows.div_ceil(PANEL_CHANNELS)
    }

    /// Bytes of activations [`NeonPanels::prepare_activations`] writes for `m_rows` rows.
    pub fn prepared_len(&self, m_rows: usize) -> usize {
        match self.layout {
            PanelLayout::Widen => 2 * m_rows * self.depth,
            PanelLayout::Dot => m_rows * self.depth,
            PanelLayout::Mmla => m_rows.div_ceil(2) * 2 * self.depth,
        }
    }

    /// Rewrites u8 activation rows `a` (`[m_rows, columns]`) into `prepared` as the tiles
    /// read them, each row padded with zeros to `depth`:
    /// - `Widen`: i16 rows (native-endian bytes);
    /// - `Dot`: `a − 128` as i8 rows (`a ^ 0x80`);
    /// - `Mmla`: rows in pairs (the last one paired with a zero row), each 8-step block of
    ///   the pair stored as the first row's 8 bytes then the second's.
    pub fn prepare_activations(&self, a: &[u8], m_rows: usize, prepared: &mut Vec<u8>) {
        let (columns, depth) = (self.columns, self.depth);
        prepared.clear();
        prepared.resize(self.prepared_len(m_rows), 0);
        match self.layout {
            PanelLayout::Widen => {
                for (row, out) in a[..m_rows * columns]
                    .chunks_exact(columns)
                    .zip(prepared.chunks_exact_mut(2 * depth))
                {
                    for (&v, word) in row.iter().zip(out.chunks_exact_mut(2)) {
                        word.copy_from_slice(&(v as i16).to_ne_bytes());
                    }
                }
            }
            PanelLayout::Dot => {
                for (row, out) in a[..m_rows * columns]
                    .chunks_exact(columns)
                    .zip(prepared.chunks_exact_mut(depth))
                {
                    for (&v, byte) in row.iter().zip(out.iter_mut()) {
                        *byte = v ^ 0x80;
                    }
                }
            }
            PanelLayout::Mmla => {
                for (m, row) in a[..m_rows * columns].chunks_exact(columns).enumerate() {
                    let pair = &mut prepared[(m / 2) * 2 * depth..(m / 2 + 1) * 2 * depth];
                    for (block, values) in row.chunks(8).enumerate() {
                        let at = block * 16 + (m % 2) * 8;
                        pair[at..at + values.len()].copy_from_slice(values);
                    }
                }
            }
        }
    }
}
