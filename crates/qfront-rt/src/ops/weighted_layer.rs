//! A weighted layer prepared for execution: unpacked codes in kernel layouts, and the
//! epilogue that turns `Σ c·u` into the accumulator `acc = 2·Σc·u − z₂·Σu`, adds the bias and then
//! into u8 codes (fixed-point requantization) or float logits.

use super::CheckContext;
use crate::fixed_point::rounding_shift;
use crate::format::{LayerParams, OutputStage, ValueType, MAX_COLUMNS};
use crate::kernels::byte_sum;
use crate::kernels::requant::{requantize_one, PreparedRequant, RequantParams};
use crate::kernels::{KernelSet, PreparedWeights, Scratch};
use crate::Result;

/// Checks a weighted layer's parameters for a reduction of `columns` inputs per output:
/// its weights, that `|2·Σc·u − z₂·Σu + bias|` stays inside i32 for every input, the bias,
/// and the output stage.
pub(crate) fn validate_layer(cx: &CheckContext<'_>, p: &LayerParams, columns: usize) -> Result<()> {
    cx.weights(&p.weights)?;
    cx.ensure(p.weights.columns == columns, || {
        format!(
            "weights have {} columns; the input gives {columns} per output",
            p.weights.columns
        )
    })?;
    cx.ensure(columns <= MAX_COLUMNS, || {
        format!("reduction length {columns} exceeds {MAX_COLUMNS}")
    })?;
    let z2_max = p
        .weights
        .zero_point_x2
        .iter()
        .map(|z| z.unsigned_abs() as u64)
        .max()
        .unwrap_or(0);
    cx.ensure(p.bias_fraction_bits <= 24, || {
        format!("bias_fraction_bits {} exceeds 24", p.bias_fraction_bits)
    })?;
    let bias_max = p
        .bias
        .iter()
        .map(|b| b.unsigned_abs() as u64)
        .max()
        .unwrap_or(0)
        >> p.bias_fraction_bits;
    let bound = columns as u64 * 255 * (2 * 128 + z2_max) + bias_max + 1;
    cx.ensure(bound < i32::MAX as u64, || {
        format!(
            "the accumulator could overflow i32 (bound {bound}); split the layer or lower its bias"
        )
    })?;
    cx.ensure(p.bias.len() == p.weights.rows, || {
        format!(
            "bias has {} entries for {} outputs",
            p.bias.len(),
            p.weights.rows
        )
    })?;
    match &p.output {
        OutputStage::Requantize {
            multiplier,
            shift,
            residual_multiplier,
            output,
        } => {
            cx.per_channel_len("multiplier", multiplier.len(), p.weights.rows)?;
            cx.ensure(shift.len() == multiplier.len(), || {
                "shift and multiplier lengths differ".into()
            })?;
            cx.ensure(shift.iter().all(|s| (1..=62).contains(s)), || {
                "shifts must lie in 1..=62".into()
            })?;
            if let Some(r) = residual_multiplier {
                cx.ensure(r.len() == multiplier.len(), || {
                    "residual and main multiplier lengths differ".into()
                })?;
            }
            cx.activation(output)
        }
        OutputStage::Logits { scale } => {
            cx.per_channel_len("logit scale", scale.len(), p.weights.rows)?;
            cx.ensure(scale.iter().all(|s| s.is_finite()), || {
                "logit scales must be finite".into()
            })
        }
    }
}

/// The value a weighted layer of output `shape` produces: codes, or logits.
pub(crate) fn layer_output_type(p: &LayerParams, shape: Vec<usize>) -> ValueType {
    match &p.output {
        OutputStage::Requantize { output, .. } => ValueType::Quantized {
            shape,
            activation: *output,
        },
        OutputStage::Logits { .. } => ValueType::Logits {
            classes: p.weights.rows,
        },
    }
}

/// Makes `buffer` at least `len` long without clearing it (every kernel writes each output it
/// is asked for, so old values never leak).
fn grow(buffer: &mut Vec<i32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0);
    }
}

/// Broadcasts a per-channel-or-one list to `rows` entries.
pub(crate) fn per_row<T: Copy>(values: &[T], rows: usize) -> Vec<T> {
    if values.len() == 1 {
        vec![values[0]; rows]
    } else {
        values.to_vec()
    }
}

/// Patches already in a GEMM's input form.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PatchRows<'a> {
    /// i16 pairs for the AVX2 GEMM (`⌈columns/2⌉` words per row).
    Widened(&'a [i32]),
    /// u8 rows of `padded_columns` bytes for the AVX-512 VNNI GEMM.
    Padded(&'a [u8]),
}

/// What the epilogue produces.
// One per layer, built once; boxing the larger variant would only add a pointer chase.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Epilogue {
    Requantize(PreparedRequant),
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
    /// Bytes of its weights in the kernels' layouts.
    pub fn weight_bytes(&self) -> usize {
        self.groups.iter().map(|g| g.resident_bytes()).sum()
    }

    /// Lets its GEMMs split their rows over `pool`'s threads.
    pub fn share_thread_pool(
        &mut self,
        pool: &std::sync::Arc<crate::kernels::spin_pool::SpinPool>,
    ) {
        for weights in &mut self.groups {
            weights.set_thread_pool(Some(pool.clone()));
        }
    }

    pub fn new(params: &LayerParams, groups: usize, blob: &[u8], kernels: KernelSet) -> Self {
        let w = &params.weights;
        let per_group = w.rows / groups;
        // Each group's rows are unpacked from the blob a block at a time, straight into the
        // kernels' layout: no 8-bit copy of the whole matrix is made.
        let prepared = (0..groups)
            .map(|g| {
                PreparedWeights::from_rows(per_group, w.columns, w.bits, kernels, |first, out| {
                    crate::format::unpack_weight_rows(w, blob, g * per_group + first, out)
                })
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
            } => {
                let multiplier = per_row(multiplier, w.rows);
                let shift = per_row(shift, w.rows);
                let bias = params
                    .bias
                    .iter()
                    .zip(&multiplier)
                    .zip(&shift)
                    .map(|((&b, &m), &s)| {
                        let product = b as i64 * m as i64;
                        let term = if fraction == 0 {
                            product
                        } else {
                            rounding_shift(product, fraction)
                        };
                        term + (1i64 << (s - 1))
                    })
                    .collect();
                let params = RequantParams {
                    channels: w.rows,
                    zero_point_x2: zero_point_x2.clone(),
                    multiplier,
                    bias,
                    shift,
                    residual: residual_multiplier.as_ref().map(|r| per_row(r, w.rows)),
                    zero_point: output.zero_point,
                    max_code: (1 << output.bits) - 1,
                };
                Epilogue::Requantize(PreparedRequant::new(params, kernels))
            }
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

    /// Runs the requantization epilogue with the widest lanes prepared.
    fn epilogue(
        &self,
        products: &[i32],
        m_rows: usize,
        sums: &[i32],
        residual: Option<(&[u8], i32)>,
        out: &mut [u8],
    ) {
        let Epilogue::Requantize(epilogue) = &self.epilogue else {
            unreachable!("validated: requantizing layer")
        };
        epilogue.run(products, m_rows, sums, residual, out);
    }

    fn row_sums(&self, a: &[u8], m_rows: usize, sums: &mut Vec<i32>) {
        sums.clear();
        if self.needs_row_sums {
            sums.extend(
                (0..m_rows).map(|m| byte_sum(&a[m * self.columns..(m + 1) * self.columns])),
            );
        }
    }

    /// Accumulators `acc = 2·Σc·u − z₂·Σu` of `m_rows` rows of `a` (one group), into
    /// `acc[m·rows + g·per_group + j]` (the logits path).
    pub fn accumulate(
        &self,
        a: &[u8],
        m_rows: usize,
        products: &mut Vec<i32>,
        acc: &mut [i32],
        scratch: &mut Scratch,
        sums: &mut Vec<i32>,
    ) {
        let weights = &self.groups[0];
        grow(products, m_rows * self.rows);
        weights.matmul(a, m_rows, products, scratch);
        self.row_sums(a, m_rows, sums);
        for m in 0..m_rows {
            let row_sum = sums.get(m).copied().unwrap_or(0);
            for j in 0..self.rows {
                acc[m * self.rows + j] =
                    2 * products[m * self.rows + j] - self.zero_point_x2[j] * row_sum;
            }
        }
    }

    /// Products, row sums and requantization of one group's rows `a` (`[m_rows, columns]`)
    /// into `out[m·rows + g·per_group + j]`. A single group goes through the fused (AVX2)
    /// epilogue; groups are requantized one output at a time with the same definition.
    #[allow(clippy::too_many_arguments)]
    pub fn requantize_group(
        &self,
        g: usize,
        a: &[u8],
        m_rows: usize,
        residual: Option<(&[u8], i32)>,
        products: &mut Vec<i32>,
        sums: &mut Vec<i32>,
        scratch: &mut Scratch,
        out: &mut [u8],
    ) {
        let Epilogue::Requantize(PreparedRequant { params, .. }) = &self.epilogue else {
            unreachable!("validated: requantizing layer")
        };
        let weights = &self.groups[g];
        let per_group = weights.rows;
        grow(products, m_rows * per_group);
        weights.matmul(a, m_rows, products, scratch);
        self.row_sums(a, m_rows, sums);
        if self.groups.len() == 1 {
            self.epilogue(products, m_rows, sums, residual, out);
            return;
        }
        let offset = g * per_group;
        for m in 0..m_rows {
            let sum = sums.get(m).copied().unwrap_or(0);
            for j in 0..per_group {
                let at = m * self.rows + offset + j;
                let res = residual.map_or(0, |(u, z)| u[at] as i32 - z);
                out[at] = requantize_one(params, offset + j, products[m * per_group + j], sum, res);
            }
        }
    }

    /// [`PreparedLayer::requantize_group`] for a single-group layer whose patches im2col wrote
    /// straight into a GEMM's input form.
    pub fn requantize_patches(
        &self,
        patches: PatchRows,
        m_rows: usize,
        residual: Option<(&[u8], i32)>,
        products: &mut Vec<i32>,
        sums: &mut Vec<i32>,
        out: &mut [u8],
    ) {
        grow(products, m_rows * self.rows);
        let weights = &self.groups[0];
        sums.clear();
        match patches {
            PatchRows::Widened(rows) => {
                weights.matmul_widened(rows, m_rows, products);
                if self.needs_row_sums {
                    super::window::widened_row_sums(rows, m_rows, self.columns.div_ceil(2), sums);
                }
            }
            PatchRows::Padded(rows) => {
                weights.matmul_padded(rows, m_rows, products);
                if self.needs_row_sums {
                    let stride = weights.padded_columns();
                    sums.extend((0..m_rows).map(|m| byte_sum(&rows[m * stride..(m + 1) * stride])));
                }
            }
        }
        self.epilogue(products, m_rows, sums, residual, out);
    }

    /// A depthwise convolution by the reference set's direct loops (the definition the
    /// grouped GEMM path is tested against): products and, for a weight zero point, the
    /// patch sums `R` per output (the same loops with all-one weights), then requantization.
    #[allow(clippy::too_many_arguments)]
    pub fn depthwise_reference(
        &self,
        input: &[u8],
        batch: usize,
        win: &super::window::Window,
        pad: u8,
        residual: Option<(&[u8], i32)>,
        products: &mut Vec<i32>,
        sums: &mut Vec<i32>,
        out: &mut [u8],
    ) {
        let Epilogue::Requantize(PreparedRequant { params, .. }) = &self.epilogue else {
            unreachable!("validated: requantizing layer")
        };
        let [h, w, c] = win.input;
        let [oh, ow] = win.output;
        let (per_in, per_out) = (h * w * c, oh * ow * c);
        let codes: Vec<i8> = self
            .groups
            .iter()
            .flat_map(|g| {
                g.codes()
                    .expect("the depthwise reference path runs on the reference set")
                    .iter()
                    .copied()
            })
            .collect();
        let ones = vec![1i8; codes.len()];
        grow(products, batch * per_out);
        sums.clear();
        sums.resize(batch * per_out, 0);
        for b in 0..batch {
            let x = &input[b * per_in..(b + 1) * per_in];
            let geometry = |weights: &[i8], target: &mut [i32]| {
                crate::kernels::reference::depthwise(
                    x,
                    win.input,
                    weights,
                    win.kernel,
                    win.stride,
                    win.padding,
                    pad,
                    win.output,
                    target,
                )
            };
            geometry(&codes, &mut products[b * per_out..(b + 1) * per_out]);
            if self.needs_row_sums {
                geometry(&ones, &mut sums[b * per_out..(b + 1) * per_out]);
            }
        }
        for i in 0..batch * per_out {
            let res = residual.map_or(0, |(u, z)| u[i] as i32 - z);
            out[i] = requantize_one(params, i % c, products[i], sums[i], res);
        }
    }

    /// Float logits `scale_o·(acc_o + bias_o)`.
    pub fn logits(&self, acc: &[i32], out: &mut [f32]) {
        let Epilogue::Logits { scale, bias } = &self.epilogue else {
            unreachable!("validated: logits layer")
        };
        for (acc_row, out_row) in acc
            .chunks_exact(self.rows)
            .zip(out.chunks_exact_mut(self.rows))
        {
            for j in 0..self.rows {
                out_row[j] = (scale[j] as f64 * (acc_row[j] as f64 + bias[j])) as f32;
            }
        }
    }

    /// Logits from pooled sums `[batch, columns]` and counts: `scale_o·(acc_raw/count + bias_o)`
    /// with `acc_raw = 2·Σc·S − z₂·ΣS`, exact in i64 (scalar: the classifier is small).
    pub fn logits_from_sums(&self, sums: &[i32], counts: &[u32], out: &mut [f32]) {
        let Epilogue::Logits { scale, bias } = &self.epilogue else {
            unreachable!("validated: logits layer")
        };
        let codes = self.groups[0]
            .codes()
            .expect("a pooled classifier is prepared for the reference kernels");
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
