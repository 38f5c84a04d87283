//! The requantization epilogue of a layer: from the products `P = Σ c·u` of a row to u8
//! codes, `u = clamp(((2P − z₂·R)·m + bias + (u_res − z_res)·m_res) >> s + z_out, 0, max)`
//! with `R = Σ u` of the row, the bias already in product units and holding the rounding
//! term `2^(s−1)`, and `>>` an arithmetic shift (so the division rounds half up). A scalar
//! form, and SIMD forms (AVX2, AVX-512, NEON) that give identical bytes; [`PreparedRequant`]
//! picks the one of a kernel set.

use crate::KernelSet;

/// Per-channel parameters, with the channels padded to a multiple of 8 (padding is inert).
#[derive(Debug, Clone)]
pub struct RequantParams {
    /// Channels.
    pub channels: usize,
    /// Doubled weight zero points.
    pub zero_point_x2: Vec<i32>,
    /// Mantissas.
    pub multiplier: Vec<i32>,
    /// `bias·m·2^(−F) + 2^(s−1)`, in product units.
    pub bias: Vec<i64>,
    /// Right shifts.
    pub shift: Vec<u32>,
    /// Mantissas of the residual input, when there is one.
    pub residual: Option<Vec<i32>>,
    /// Output zero point.
    pub zero_point: i32,
    /// Largest output code.
    pub max_code: i32,
}

impl RequantParams {
    /// Whether any channel needs the row sums `Σ u`.
    pub fn needs_row_sums(&self) -> bool {
        self.zero_point_x2.iter().any(|&z| z != 0)
    }
}

/// One output code (the definition every path reproduces).
#[inline(always)]
pub fn requantize_one(
    p: &RequantParams,
    j: usize,
    product: i32,
    row_sum: i32,
    residual: i32,
) -> u8 {
    let acc = 2 * product - p.zero_point_x2[j] * row_sum;
    let mut x = acc as i64 * p.multiplier[j] as i64 + p.bias[j];
    if let Some(r) = &p.residual {
        x += residual as i64 * r[j] as i64;
    }
    ((x >> p.shift[j]) + p.zero_point as i64).clamp(0, p.max_code as i64) as u8
}

/// The channels `from..` of row `r` (those a SIMD epilogue's full blocks leave), one by one.
#[inline]
pub fn requantize_tail(
    p: &RequantParams,
    products: &[i32],
    r: usize,
    from: usize,
    row_sum: i32,
    residual: Option<(&[u8], i32)>,
    out: &mut [u8],
) {
    let c = p.channels;
    for j in from..c {
        let res = residual.map_or(0, |(u, z)| u[r * c + j] as i32 - z);
        out[r * c + j] = requantize_one(p, j, products[r * c + j], row_sum, res);
    }
}

/// Scalar epilogue over `m_rows` rows of `products` (`[m_rows, channels]`).
pub fn requantize_scalar(
    p: &RequantParams,
    products: &[i32],
    m_rows: usize,
    row_sums: &[i32],
    residual: Option<(&[u8], i32)>,
    out: &mut [u8],
) {
    for r in 0..m_rows {
        let sum = row_sums.get(r).copied().unwrap_or(0);
        requantize_tail(p, products, r, 0, sum, residual, out);
    }
}

/// [`RequantParams`] rearranged for SIMD epilogues that handle `width` channels per step:
/// the i64 products are formed on even and odd i32 lanes separately, so each per-channel
/// array is split into its even (`[0]`) and odd (`[1]`) channels. Only full blocks are kept;
/// the tail goes through [`requantize_one`].
#[derive(Debug, Clone)]
pub struct LaneTable {
    /// Full blocks of `width` channels.
    pub blocks: usize,
    /// Doubled weight zero points, in channel order.
    pub z2: Vec<i32>,
    /// Mantissas.
    pub m: [Vec<i64>; 2],
    /// Biases (with the rounding term).
    pub b: [Vec<i64>; 2],
    /// Shifts.
    pub s: [Vec<i64>; 2],
    /// `!0 << (64 − shift)`: the bits an arithmetic shift fills (for shifts done logically).
    pub sign: [Vec<i64>; 2],
    /// Residual mantissas (0 without a residual).
    pub r: [Vec<i64>; 2],
}

impl LaneTable {
    /// Arranges the full `width`-channel blocks of `p`.
    pub fn new(p: &RequantParams, width: usize) -> Self {
        let blocks = p.channels / width;
        let mut l = LaneTable {
            blocks,
            z2: p.zero_point_x2[..blocks * width].to_vec(),
            m: Default::default(),
            b: Default::default(),
            s: Default::default(),
            sign: Default::default(),
            r: Default::default(),
        };
        for j in 0..blocks * width {
            let half = j % 2;
            l.m[half].push(p.multiplier[j] as i64);
            l.b[half].push(p.bias[j]);
            l.s[half].push(p.shift[j] as i64);
            l.sign[half].push((u64::MAX << (64 - p.shift[j])) as i64);
            l.r[half].push(p.residual.as_ref().map_or(0, |r| r[j] as i64));
        }
        l
    }
}

/// A layer's epilogue parameters with the lane tables of the widest epilogue its kernel set
/// runs (built once per layer).
#[derive(Debug, Clone)]
pub struct PreparedRequant {
    /// The per-channel parameters (the scalar definition reads them).
    pub params: RequantParams,
    #[cfg(target_arch = "x86_64")]
    lanes8: Option<LaneTable>,
    #[cfg(target_arch = "x86_64")]
    lanes16: Option<LaneTable>,
    #[cfg(target_arch = "aarch64")]
    neon: Option<crate::kernels::neon::requant::NeonLanes>,
}

impl PreparedRequant {
    /// Prepares `params` for `kernels` (a set this CPU has, as the GEMMs require).
    pub fn new(params: RequantParams, kernels: KernelSet) -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            lanes16: matches!(
                kernels,
                KernelSet::Avx512Vnni | KernelSet::Avx512Bw | KernelSet::Avx512Amx
            )
            .then(|| crate::kernels::avx512::requant::lanes(&params)),
            #[cfg(target_arch = "x86_64")]
            lanes8: kernels
                .is_x86_simd()
                .then(|| crate::kernels::avx2::requant::lanes(&params)),
            #[cfg(target_arch = "aarch64")]
            neon: matches!(
                kernels,
                KernelSet::Neon | KernelSet::NeonDot | KernelSet::NeonI8mm
            )
            .then(|| crate::kernels::neon::requant::lanes(&params)),
            params,
        }
    }

    /// The epilogue over `m_rows` rows of `products` (`[m_rows, channels]`), with the row
    /// sums (empty when no channel has a weight zero point) and the residual input and its
    /// zero point, as [`requantize_scalar`] defines it, on the widest lanes prepared.
    pub fn run(
        &self,
        products: &[i32],
        m_rows: usize,
        row_sums: &[i32],
        residual: Option<(&[u8], i32)>,
        out: &mut [u8],
    ) {
        let p = &self.params;
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(lanes) = &self.lanes16 {
                // SAFETY: 16-lane tables exist only for the AVX-512 set, chosen only when
                // the CPU has it.
                unsafe {
                    crate::kernels::avx512::requant::requantize(
                        p, lanes, products, m_rows, row_sums, residual, out,
                    )
                };
                return;
            }
            if let Some(lanes) = &self.lanes8 {
                // SAFETY: 8-lane tables exist only for the x86 SIMD sets, chosen only when
                // AVX2 is present.
                unsafe {
                    crate::kernels::avx2::requant::requantize(
                        p, lanes, products, m_rows, row_sums, residual, out,
                    )
                };
                return;
            }
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(lanes) = &self.neon {
            // SAFETY: NEON is part of every aarch64 core.
            unsafe {
                crate::kernels::neon::requant::requantize(
                    p, lanes, products, m_rows, row_sums, residual, out,
                )
            };
            return;
        }
        requantize_scalar(p, products, m_rows, row_sums, residual, out);
    }
}
