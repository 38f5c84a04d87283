//! Weight panels and activation rows in the layouts the aarch64 tiles read. A panel holds 8
//! output channels over the whole (zero-padded) reduction, so a tile streams it once per
//! block of activation rows; channels past the matrix and reduction steps past its columns
//! hold zero codes, which add nothing.

use super::PANEL_CHANNELS;
use crate::kernels::aligned::AlignedBytes;
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
    /// Reduction length padded to the layout's step (8 or 16; 16 for `Mmla` nibbles and 32
    /// for its bit pairs, whose bytes hold two and four 8-step blocks).
    pub depth: usize,
    /// Bits per stored code: 8 (5- to 8-bit codes, one byte each), 4 (3- and 4-bit codes) or
    /// 2 (2-bit codes). How the narrow ones are stored depends on the layout:
    /// - `Widen`: two's complement fields, steps `k` of a panel in byte
    ///   `(k / (8/bits))·8 + channel`, field `k mod (8/bits)` from the low bits up;
    /// - `Dot` and `Mmla`: offset codes `u = c + z` (nibbles, `z` = 8; bit pairs, `z` = 2),
    ///   `8 / bits` units of the 8-bit layout sharing each byte, the earliest in the low bits
    ///   (see [`NeonPanels::pack_rows`]).
    pub stored_bits: u32,
    /// The packed codes, `⌈rows/8⌉` panels of `depth·stored_bits` bytes.
    pub data: Vec<i8>,
    /// `NeonDot` only: `128·Σ_k w[o, k]` per output channel (padded to whole panels), the
    /// term that turns the `(a − 128)·w` dot products back into `a·w` (with offset codes, `w`
    /// is the stored `u`, and the row's `−z·Σ a`, `z` the offset, is added by the GEMM).
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
    /// Packs row-major `codes` (`[rows, columns]`, `bits` bits) for `layout`.
    pub fn pack(codes: &[i8], rows: usize, columns: usize, bits: u32, layout: PanelLayout) -> Self {
        Self::pack_rows(rows, columns, bits, layout, |first, out| {
            out.copy_from_slice(&codes[first * columns..first * columns + out.len()])
        })
    }

    /// Packs a `[rows, columns]` matrix of `bits`-bit codes that `fill(first_row, out)`
    /// writes 8 rows at a time (row-major into `out`), so no full copy of the matrix exists
    /// beside the panels. With 2- to 4-bit codes the `Dot` and `Mmla` layouts store offset
    /// codes `u = c + z` (nibbles, `z` = 8, for 3 and 4 bits; bit pairs, `z` = 2, for 2
    /// bits). The 8-bit layout is cut into units, 32 bytes for `Dot` (a 4-step group) and 64
    /// for `Mmla` (an 8-step block); `n = 8 / bits` consecutive units share one unit's bytes,
    /// byte `j` holding byte `j` of unit `i` (`i < n`) in bits `bits·i ..`; padding steps
    /// hold `u = 0` (their activations are zero). The `Widen` layout stores 2-bit codes in
    /// bit pairs and 3- and 4-bit codes in nibbles, signed (see [`NeonPanels::stored_bits`]).
    pub fn pack_rows(
        rows: usize,
        columns: usize,
        bits: u32,
        layout: PanelLayout,
        mut fill: impl FnMut(usize, &mut [i8]),
    ) -> Self {
        let stored_bits = match bits {
            2 => 2,
            3 | 4 => 4,
            _ => 8,
        };
        let (widen_bits, offset_bits) = match layout {
            PanelLayout::Widen => (stored_bits, 8),
            _ => (8, stored_bits),
        };
        // Units of the 8-bit layout sharing bytes: the depth pads to a whole group of them.
        let units_per_byte = (8 / offset_bits) as usize;
        let unit_steps = match layout {
            PanelLayout::Dot => 4,
            _ => 8,
        };
        let step = layout.depth_step().max(unit_steps * units_per_byte);
        let depth = columns.div_ceil(step) * step;
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
        if widen_bits < 8 {
            // Several steps per byte: rebuild each panel's bytes from the 8-bit layout
            // (`[k][8 channels]`) just packed.
            let per_byte = (8 / widen_bits) as usize;
            let mask = (1u8 << widen_bits) - 1;
            let panel_bytes = PANEL_CHANNELS * depth;
            let mut packed = vec![0i8; panels * panel_bytes / per_byte];
            for (panel, codes) in data.chunks_exact(panel_bytes).enumerate() {
                let out = &mut packed[panel * panel_bytes / per_byte..];
                for k in 0..depth {
                    for c in 0..PANEL_CHANNELS {
                        let field = (codes[k * PANEL_CHANNELS + c] as u8 & mask)
                            << (widen_bits as usize * (k % per_byte));
                        out[(k / per_byte) * PANEL_CHANNELS + c] |= field as i8;
                    }
                }
            }
            data = packed;
        }
        if offset_bits < 8 {
            // The stored value is u = c + z (0 at padding steps): rebuild the bytes from the
            // 8-bit layout just packed, and the corrections from u.
            let zero_point = 1i32 << (offset_bits - 1);
            let unit = PANEL_CHANNELS * unit_steps;
            let offset_code = |position: usize, code: i8| -> u8 {
                // The step of a byte of the 8-bit layout inside its panel.
                let within = position % (PANEL_CHANNELS * depth);
                let k = (within / unit) * unit_steps + within % unit_steps;
                if k < columns {
                    (code as i32 + zero_point) as u8
                } else {
                    0
                }
            };
            let mut packed = Vec::with_capacity(data.len() / units_per_byte);
            for (group, chunk) in data.chunks_exact(units_per_byte * unit).enumerate() {
                let base = group * units_per_byte * unit;
                for j in 0..unit {
                    let byte = (0..units_per_byte).fold(0u8, |byte, i| {
                        let u = offset_code(base + i * unit + j, chunk[i * unit + j]);
                        byte | u << (offset_bits as usize * i)
                    });
                    packed.push(byte as i8);
                }
            }
            if layout == PanelLayout::Dot {
                // 128·Σ_k u over the real steps: Σ u = Σ c + z·columns.
                for fix in correction.iter_mut() {
                    *fix = fix.wrapping_add(128 * zero_point * columns as i32);
                }
            }
            data = packed;
        }
        Self {
            layout,
            rows,
            columns,
            depth,
            stored_bits,
            data,
            correction,
        }
    }

    /// Bytes of one 8-channel panel.
    pub fn panel_bytes(&self) -> usize {
        PANEL_CHANNELS * self.depth * self.stored_bits as usize / 8
    }

    /// Whole panels (8 channels each).
    pub fn panels(&self) -> usize {
        self.rows.div_ceil(PANEL_CHANNELS)
    }

    /// `z·Σ_k a` per row of prepared activations, the term panels of offset codes subtract
    /// (`z` = 8 for nibbles, 2 for bit pairs); empty for 8-bit panels.
    pub fn row_corrections(&self, prepared: &[u8], m_rows: usize) -> Vec<i32> {
        if self.layout == PanelLayout::Widen || self.stored_bits == 8 {
            return Vec::new();
        }
        let zero_point = 1i32 << (self.stored_bits - 1);
        let depth = self.depth;
        (0..m_rows)
            .map(|m| {
                let sum: i32 = match self.layout {
                    // Stored as a − 128 (zero at padding steps).
                    PanelLayout::Dot => {
                        prepared[m * depth..(m + 1) * depth]
                            .iter()
                            .map(|&v| v as i8 as i32)
                            .sum::<i32>()
                            + 128 * self.columns as i32
                    }
                    // Row pairs interleaved per 8 steps.
                    _ => {
                        let pair = &prepared[(m / 2) * 2 * depth..(m / 2 + 1) * 2 * depth];
                        pair.chunks_exact(16)
                            .map(|block| {
                                block[(m % 2) * 8..(m % 2) * 8 + 8]
                                    .iter()
                                    .map(|&v| v as i32)
                                    .sum::<i32>()
                            })
                            .sum()
                    }
                };
                zero_point * sum
            })
            .collect()
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
    pub fn prepare_activations(&self, a: &[u8], m_rows: usize, prepared: &mut AlignedBytes) {
        let (columns, depth) = (self.columns, self.depth);
        prepared.resize(0);
        prepared.resize(self.prepared_len(m_rows));
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
