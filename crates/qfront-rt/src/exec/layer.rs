//! A weighted layer prepared for execution: unpacked codes in kernel layouts, and the
//! epilogue that turns `Σ c·u` into the accumulator `acc = 2·Σc·u − z₂·Σu`, adds the bias and then
//! into u8 codes (fixed-point requantization) or float logits.

use crate::fixed_point::rounding_shift;
use crate::format::{LayerParams, OutputStage, WeightSpec};
use crate::kernels::{KernelSet, PreparedWeights, Scratch};
use qfront_quant::packing::unpack_codes;
use qfront_quant::BitWidth;

/// Broadcasts a per-channel-or-one list to `rows` entries.
pub(crate) fn per_row<T: Copy>(values: &[T], rows: usize) -> Vec<T> {
    if values.len() == 1 {
        vec![values[0]; rows]
    } else {
        values.to_vec()
    }
}

/// Unpacks a validated weight matrix from the blob.
pub(crate) fn unpack(weights: &WeightSpec, blob: &[u8]) -> Vec<i8> {
    let start = weights.data.offset as usize;
    let bytes = &blob[start..start + weights.data.length as usize];
    let bits = BitWidth::new(weights.bits).expect("validated");
    unpack_codes(bytes, weights.rows * weights.columns, bits).expect("validated length")
}

/// What the epilogue produces.
#[derive(Debug)]
pub(crate) enum Epilogue {
    Requantize {
        multiplier: Vec<i64>,
        /// `round(bias·m·2^(−fraction bits))`: the bias in the product's units.
        bias_term: Vec<i64>,
        shift: Vec<u32>,
        residual: Option<Vec<i64>>,
        zero_point: i32,
        max_code: i32,
    },
    Logits {
        scale: Vec<f32>,
        /// The bias in accumulator units.
        bias: Vec<f64>,
    },
}

/// A weighted layer (its weights may be split into groups).
#[derive(Debug)]
pub(crate) struct PreparedLayer {
    pub groups: Vec<PreparedWeights>,
    pub rows: usize,
    pub columns: usize,
    pub zero_point_x2: Vec<i32>,
    pub needs_row_sums: bool,
    pub epilogue: Epilogue,
}

impl PreparedLayer {
    pub fn new(params: &LayerParams, groups: usize, blob: &[u8], kernels: KernelSet) -> Self {
        let w = &params.weights;
        let codes = unpack(w, blob);
        let per_group = w.rows / groups;
        let prepared = (0..groups)
            .map(|g| {
                let slice =
                    codes[g * per_group * w.columns..(g + 1) * per_group * w.columns].to_vec();
                PreparedWeights::new(slice, per_group, w.columns, w.bits, kernels)
            })
            .collect();
        let zero_point_x2 = per_row(&w.zero_point_x2, w.rows);
        let fraction = params.bias_fraction_bits;
        let epilogue = match &params.output {
            OutputStage::Requantize {
                multiplier,
                shift,
                residual_multiplier,
                output,
            } => Epilogue::Requantize {
                bias_term: params
                    .bias
                    .iter()
                    .zip(per_row(multiplier, w.rows))
                    .map(|(&b, m)| {
                        let product = b as i64 * m as i64;
                        if fraction == 0 {
                            product
                        } else {
                            rounding_shift(product, fraction)
                        }
                    })
                    .collect(),
                multiplier: per_row(multiplier, w.rows)
                    .into_iter()
                    .map(i64::from)
                    .collect(),
                shift: per_row(shift, w.rows),
                residual: residual_multiplier
                    .as_ref()
                    .map(|r| per_row(r, w.rows).into_iter().map(i64::from).collect()),
                zero_point: output.zero_point,
                max_code: (1 << output.bits) - 1,
            },
            OutputStage::Logits { scale } => Epilogue::Logits {
                scale: per_row(scale, w.rows),
                bias: params
                    .bias
                    .iter()
                    .map(|&b| b as f64 / (fraction as f64).exp2())
                    .collect(),
            },
        };
        Self {
            groups: prepared,
            rows: w.rows,
            columns: w.columns,
            needs_row_sums: zero_point_x2.iter().any(|&z| z != 0),
            zero_point_x2,
            epilogue,
        }
    }

    /// Runs group `g` on `m_rows` rows of `a` (`[m_rows, columns]`) and writes
    /// `acc = 2·Σc·u − z₂·Σu` into `acc[m·rows + g·per_group + j]`.
    pub fn accumulate(
        &self,
        g: usize,
        a: &[u8],
        m_rows: usize,
        products: &mut Vec<i32>,
        acc: &mut [i32],
        scratch: &mut Scratch,
    ) {
        let weights = &self.groups[g];
        let per_group = weights.rows;
        products.clear();
        products.resize(m_rows * per_group, 0);
        weights.matmul(a, m_rows, products, scratch);
        let offset = g * per_group;
        let z2 = &self.zero_point_x2[offset..offset + per_group];
        for m in 0..m_rows {
            let row_sum: i32 = if self.needs_row_sums {
                a[m * self.columns..(m + 1) * self.columns]
                    .iter()
                    .map(|&v| v as i32)
                    .sum()
            } else {
                0
            };
            let out = &mut acc[m * self.rows + offset..m * self.rows + offset + per_group];
            let prod = &products[m * per_group..(m + 1) * per_group];
            for j in 0..per_group {
                out[j] = 2 * prod[j] - z2[j] * row_sum;
            }
        }
    }

    /// Requantizes accumulators `[m_rows, rows]` into u8 codes, adding the residual
    /// `(u_res − z_res)` terms when the layer has one.
    pub fn requantize(&self, acc: &[i32], residual: Option<(&[u8], i32)>, out: &mut [u8]) {
        let Epilogue::Requantize {
            multiplier,
            bias_term,
            shift,
            residual: residual_multiplier,
            zero_point,
            max_code,
        } = &self.epilogue
        else {
            unreachable!("validated: requantizing layer")
        };
        let rows = self.rows;
        for (i, (&a, o)) in acc.iter().zip(out.iter_mut()).enumerate() {
            let j = i % rows;
            let mut x = a as i64 * multiplier[j] + bias_term[j];
            if let (Some((res, res_zero)), Some(rm)) = (residual, residual_multiplier) {
                x += (res[i] as i64 - res_zero as i64) * rm[j];
            }
            let v = rounding_shift(x, shift[j]) + *zero_point as i64;
            *o = v.clamp(0, *max_code as i64) as u8;
        }
    }

    /// Float logits `scale_o·(acc_o + bias_o)`.
    pub fn logits(&self, acc: &[i32], out: &mut [f32]) {
        let Epilogue::Logits { scale, bias } = &self.epilogue else {
            unreachable!("validated: logits layer")
        };
        for (i, (&a, o)) in acc.iter().zip(out.iter_mut()).enumerate() {
            let j = i % self.rows;
            *o = (scale[j] as f64 * (a as f64 + bias[j])) as f32;
        }
    }

    /// Logits from pooled sums `[batch, columns]` and counts: `scale_o·(acc_raw/count + bias_o)`
    /// with `acc_raw = 2·Σc·S − z₂·ΣS`, exact in i64 (scalar: the classifier is small).
    pub fn logits_from_sums(&self, sums: &[i32], counts: &[u32], out: &mut [f32]) {
        let Epilogue::Logits { scale, bias } = &self.epilogue else {
            unreachable!("validated: logits layer")
        };
        let codes = &self.groups[0].codes;
        for (b, &count) in counts.iter().enumerate() {
            let s = &sums[b * self.columns..(b + 1) * self.columns];
            let total: i64 = s.iter().map(|&v| v as i64).sum();
            for o in 0..self.rows {
                let w = &codes[o * self.columns..(o + 1) * self.columns];
                let dot: i64 = w.iter().zip(s).map(|(&c, &v)| c as i64 * v as i64).sum();
                let raw = 2 * dot - self.zero_point_x2[o] as i64 * total;
                let value = raw as f64 / count.max(1) as f64 + bias[o];
                out[b * self.rows + o] = (scale[o] as f64 * value) as f32;
            }
        }
    }
}
