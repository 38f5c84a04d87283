//! The NEON requantization epilogue, 8 channels per step in two 4-lane halves: i64
//! products by `smull`/`smull2`, the bias added in i64, the per-channel right shift as
//! `sshl` by a negative amount (an arithmetic shift, so the division rounds as the scalar
//! `>>` does), then a saturating narrow to i32, the zero point, clamping, and narrowing to
//! bytes. Identical to [`requantize_one`](crate::kernels::requant::requantize_one) for every
//! input: a value that does not fit i32 after the shift saturates, and lands on the same
//! clamp bound as the scalar i64 result would.

use crate::kernels::requant::{requantize_tail, RequantParams};
use std::arch::aarch64::*;

/// Per-channel parameters of the full 8-channel blocks, in the types the lanes use.
#[derive(Debug, Clone)]
pub struct NeonLanes {
    /// Full blocks of 8 channels (the rest goes through the scalar definition).
    pub blocks: usize,
    /// Doubled weight zero points.
    pub zero_point_x2: Vec<i32>,
    /// Mantissas.
    pub multiplier: Vec<i32>,
    /// Biases in product units, with the rounding term.
    pub bias: Vec<i64>,
    /// Negated right shifts (`sshl` by a negative amount shifts right).
    pub negative_shift: Vec<i64>,
    /// Residual mantissas (0 without a residual).
    pub residual: Vec<i32>,
}

/// Arranges `p`'s full 8-channel blocks for [`requantize`].
pub fn lanes(p: &RequantParams) -> NeonLanes {
    let blocks = p.channels / 8;
    let n = blocks * 8;
    NeonLanes {
        blocks,
        zero_point_x2: p.zero_point_x2[..n].to_vec(),
        multiplier: p.multiplier[..n].to_vec(),
        bias: p.bias[..n].to_vec(),
        negative_shift: p.shift[..n].iter().map(|&s| -(s as i64)).collect(),
        residual: (0..n)
            .map(|j| p.residual.as_ref().map_or(0, |r| r[j]))
            .collect(),
    }
}

/// Four channels `j..j+4` of one row: `acc` holds `2P − z₂·R`, `residual` `u_res − z_res`.
#[inline(always)]
unsafe fn four_channels(
    lanes: &NeonLanes,
    j: usize,
    acc: int32x4_t,
    residual: Option<int32x4_t>,
    zero_point: int32x4_t,
    max_code: int32x4_t,
) -> uint32x4_t {
    let m = vld1q_s32(lanes.multiplier.as_ptr().add(j));
    let mut low = vaddq_s64(
        vmull_s32(vget_low_s32(acc), vget_low_s32(m)),
        vld1q_s64(lanes.bias.as_ptr().add(j)),
    );
    let mut high = vaddq_s64(
        vmull_high_s32(acc, m),
        vld1q_s64(lanes.bias.as_ptr().add(j + 2)),
    );
    if let Some(res) = residual {
        let r = vld1q_s32(lanes.residual.as_ptr().add(j));
        low = vmlal_s32(low, vget_low_s32(res), vget_low_s32(r));
        high = vmlal_high_s32(high, res, r);
    }
    let low = vshlq_s64(low, vld1q_s64(lanes.negative_shift.as_ptr().add(j)));
    let high = vshlq_s64(high, vld1q_s64(lanes.negative_shift.as_ptr().add(j + 2)));
    let v = vqaddq_s32(vcombine_s32(vqmovn_s64(low), vqmovn_s64(high)), zero_point);
    vreinterpretq_u32_s32(vminq_s32(vmaxq_s32(v, vdupq_n_s32(0)), max_code))
}

/// The epilogue over `m_rows` rows of `products` (`[m_rows, channels]`).
///
/// # Safety
/// Only on aarch64; slices sized as for
/// [`requantize_scalar`](crate::kernels::requant::requantize_scalar).
pub unsafe fn requantize(
    p: &RequantParams,
    lanes: &NeonLanes,
    products: &[i32],
    m_rows: usize,
    row_sums: &[i32],
    residual: Option<(&[u8], i32)>,
    out: &mut [u8],
) {
    let c = p.channels;
    assert!(products.len() >= m_rows * c && out.len() >= m_rows * c);
    if let Some((u, _)) = residual {
        assert!(u.len() >= m_rows * c);
    }
    let zero_point = vdupq_n_s32(p.zero_point);
    let max_code = vdupq_n_s32(p.max_code);
    let use_sums = !row_sums.is_empty();
    for r in 0..m_rows {
        let sum = row_sums.get(r).copied().unwrap_or(0);
        let sums = vdupq_n_s32(sum);
        let row = products.as_ptr().add(r * c);
        for b in 0..lanes.blocks {
            let residual = residual.map(|(u, z)| {
                let bytes = vmovl_u8(vld1_u8(u.as_ptr().add(r * c + b * 8)));
                let z = vdupq_n_s32(z);
                let low = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(bytes)));
                let high = vreinterpretq_s32_u32(vmovl_high_u16(bytes));
                (vsubq_s32(low, z), vsubq_s32(high, z))
            });
            let mut halves = [vdupq_n_u32(0); 2];
            for (half, lanes_out) in halves.iter_mut().enumerate() {
                let j = b * 8 + half * 4;
                let mut acc = vshlq_n_s32::<1>(vld1q_s32(row.add(j)));
                if use_sums {
                    acc = vmlsq_s32(acc, vld1q_s32(lanes.zero_point_x2.as_ptr().add(j)), sums);
                }
                let res = residual.map(|(low, high)| if half == 0 { low } else { high });
                *lanes_out = four_channels(lanes, j, acc, res, zero_point, max_code);
            }
            let words = vcombine_u16(vmovn_u32(halves[0]), vmovn_u32(halves[1]));
            vst1_u8(out.as_mut_ptr().add(r * c + b * 8), vmovn_u16(words));
        }
        requantize_tail(p, products, r, lanes.blocks * 8, sum, residual, out);
    }
}
