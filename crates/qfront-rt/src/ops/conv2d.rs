//! 2-D convolutions on `[height, width, channels]` (dense, grouped, depthwise), and 1-D ones
//! over `[tokens, features]` read as `[1, tokens, features]`; a second input, when present, is
//! a residual added before requantization. Patches are gathered by im2col (`window.rs`) in the
//! form the kernel set's GEMM reads.

use super::weighted_layer::{layer_output_type, validate_layer, PatchRows, PreparedLayer};
use super::window::{self, Window};
use super::{
    shape3, window_output, zero_point, CheckContext, Cost, NodeTypes, Operator, PreparedOp,
    RunContext,
};
use crate::format::{LayerParams, OutputStage, ValueType};
use crate::kernels::{KernelSet, WIDENED_ROW_MULTIPLE};
use crate::Result;
use std::sync::Arc;

/// A convolution's geometry and parameters.
pub(crate) struct Conv2d<'a> {
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[sh, sw]`.
    pub stride: [usize; 2],
    /// `[ph, pw]` on each side.
    pub padding: [usize; 2],
    /// Groups (1 = dense, channels = depthwise).
    pub groups: usize,
    /// Weights, bias and output stage.
    pub params: &'a LayerParams,
}

impl Operator for Conv2d<'_> {
    /// Two inputs when the output stage adds a residual.
    fn arity(&self) -> usize {
        match &self.params.output {
            OutputStage::Requantize {
                residual_multiplier: Some(_),
                ..
            } => 2,
            _ => 1,
        }
    }

    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let Self {
            kernel,
            stride,
            padding,
            groups,
            params,
        } = self;
        // A token sequence `[tokens, features]` is a `[1, tokens, features]` image (1-D
        // convolution over tokens), and stays rank 2.
        let sequence = matches!(cx.input(), ValueType::Quantized { shape, .. } if shape.len() == 2);
        let [h, w, ch] = if sequence {
            let (shape, _) = cx.quantized("conv2d")?;
            [1, shape[0], shape[1]]
        } else {
            cx.image("conv2d")?.0
        };
        cx.ensure(
            *groups >= 1 && ch % groups == 0 && params.weights.rows % groups == 0,
            || {
                format!(
                    "groups {groups} must divide the {ch} input and {} output channels",
                    params.weights.rows
                )
            },
        )?;
        let oh = window_output(h, kernel[0], stride[0], padding[0]);
        let ow = window_output(w, kernel[1], stride[1], padding[1]);
        let (Some(oh), Some(ow)) = (oh, ow) else {
            return Err(cx.fail(format!(
                "kernel {kernel:?}, stride {stride:?}, padding {padding:?} do not fit a {h}×{w} input"
            )));
        };
        let columns = kernel[0]
            .checked_mul(kernel[1])
            .and_then(|n| n.checked_mul(ch / groups))
            .ok_or_else(|| cx.fail("kernel too large"))?;
        validate_layer(cx, params, columns)?;
        cx.ensure(
            matches!(params.output, OutputStage::Requantize { .. }),
            || "a convolution must requantize its output".into(),
        )?;
        let out_shape = if sequence {
            cx.ensure(oh == 1, || {
                "a convolution over tokens needs kernel height 1".into()
            })?;
            vec![ow, params.weights.rows]
        } else {
            vec![oh, ow, params.weights.rows]
        };
        if let Some(residual) = cx.inputs.get(1) {
            match residual {
                ValueType::Quantized { shape, .. } if *shape == out_shape => {}
                other => {
                    return Err(cx.fail(format!(
                        "residual input {other:?} does not match the output shape {out_shape:?}"
                    )))
                }
            }
        }
        Ok(layer_output_type(params, out_shape))
    }

    fn prepare(
        &self,
        node: &NodeTypes<'_>,
        blob: &[u8],
        kernels: KernelSet,
    ) -> Box<dyn PreparedOp> {
        let input = node.input();
        let out = shape3(node.output);
        let window = Window {
            input: shape3(input),
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            output: [out[0], out[1]],
        };
        let channels = window.input[2];
        Box::new(PreparedConv2d {
            layer: PreparedLayer::new(self.params, self.groups, blob, kernels),
            direct: self.groups == 1
                && self.kernel == [1, 1]
                && self.stride == [1, 1]
                && self.padding == [0, 0],
            depthwise_reference: kernels == KernelSet::Reference
                && self.groups == channels
                && self.params.weights.rows == channels,
            window,
            groups: self.groups,
            pad: zero_point(input) as u8,
            residual_zero_point: node.inputs.get(1).map_or(0, |v| zero_point(v)),
        })
    }

    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        let w = &self.params.weights;
        // Every output value takes one group's reduction (`columns` is per group).
        let multiply_adds = node.output.elements() * w.columns;
        Cost {
            name: "conv2d",
            parameters: vec![
                self.kernel[0],
                self.kernel[1],
                self.stride[0],
                self.stride[1],
                self.padding[0],
                self.padding[1],
                self.groups,
                w.rows,
                node.inputs.len(),
            ],
            weight_bits: w.bits,
            work: multiply_adds as f64,
            multiply_adds,
        }
    }
}

/// A convolution ready to run.
#[derive(Debug)]
struct PreparedConv2d {
    layer: PreparedLayer,
    window: Window,
    groups: usize,
    /// The input's zero point, which fills the padding.
    pad: u8,
    /// A dense 1×1 convolution at stride 1 without padding: the input is its own patches.
    direct: bool,
    /// A depthwise convolution on the reference kernels (a direct loop, no im2col).
    depthwise_reference: bool,
    /// The residual input's zero point.
    residual_zero_point: i32,
}

impl PreparedOp for PreparedConv2d {
    fn run(&self, cx: RunContext<'_>) {
        let RunContext {
            batch,
            input,
            residual,
            output,
            scratch,
            ..
        } = cx;
        let Self {
            layer,
            window,
            groups,
            pad,
            direct,
            ..
        } = self;
        let per_in = window.input.iter().product::<usize>();
        let positions = window.output[0] * window.output[1];
        let m_rows = batch * positions;
        let channels = window.input[2];
        let group_channels = channels / groups;
        let residual = residual.map(|codes| (codes, self.residual_zero_point));
        let src = &input.codes;
        output.codes.resize(m_rows * layer.rows, 0);
        let dense = *groups == 1 && !direct;
        let widened = dense && layer.groups[0].takes_widened(m_rows);
        if widened || (dense && layer.groups[0].takes_padded(m_rows)) {
            // Blocks of examples whose patches and products stay in the L2 cache: written by
            // im2col, read at once by the GEMM, and never sent out to L3 and back.
            let pairs = layer.columns.div_ceil(2); // i32 words per widened row
            let stride = layer.groups[0].padded_columns(); // bytes per padded row
            let patch_bytes = if widened { 4 * pairs } else { stride };
            let block = examples_per_block(positions * (patch_bytes + 4 * layer.rows), batch);
            let per_out = positions * layer.rows;
            for first in (0..batch).step_by(block) {
                let examples = block.min(batch - first);
                let rows = examples * positions;
                let out_block = &mut output.codes[first * per_out..(first + examples) * per_out];
                let residual_block = residual
                    .map(|(codes, z)| (&codes[first * per_out..(first + examples) * per_out], z));
                let patches = if widened {
                    // Patches go straight into the GEMM's i16 rows: no u8 copy to widen.
                    pad_rows(&mut scratch.widened, rows, WIDENED_ROW_MULTIPLE, pairs);
                    for b in 0..examples {
                        window::im2col_widened(
                            &src[(first + b) * per_in..(first + b + 1) * per_in],
                            window,
                            *pad,
                            pairs,
                            b * positions,
                            &mut scratch.widened,
                            &mut scratch.padded_image,
                        );
                    }
                    PatchRows::Widened(&scratch.widened)
                } else {
                    // The AVX-512 GEMM reads exactly `rows` rows: no padding rows.
                    scratch.padded_patches.ensure_len(rows * stride);
                    for b in 0..examples {
                        window::im2col_padded(
                            &src[(first + b) * per_in..(first + b + 1) * per_in],
                            window,
                            *pad,
                            stride,
                            b * positions,
                            &mut scratch.padded_patches,
                            &mut scratch.padded_bytes,
                        );
                    }
                    PatchRows::Padded(&scratch.padded_patches)
                };
                layer.requantize_patches(
                    patches,
                    rows,
                    residual_block,
                    &mut scratch.products,
                    &mut scratch.row_sums,
                    out_block,
                );
            }
        } else if self.depthwise_reference {
            layer.depthwise_reference(
                src,
                batch,
                window,
                *pad,
                residual,
                &mut scratch.products,
                &mut scratch.row_sums,
                &mut output.codes,
            );
        } else {
            for g in 0..*groups {
                let patches: &[u8] = if *direct {
                    src
                } else {
                    scratch.patches.clear();
                    for b in 0..batch {
                        window::im2col(
                            &src[b * per_in..(b + 1) * per_in],
                            window,
                            g * group_channels,
                            group_channels,
                            *pad,
                            &mut scratch.patches,
                        );
                    }
                    &scratch.patches
                };
                layer.requantize_group(
                    g,
                    patches,
                    m_rows,
                    residual,
                    &mut scratch.products,
                    &mut scratch.row_sums,
                    &mut scratch.kernel,
                    &mut output.codes,
                );
            }
        }
    }

    fn weight_bytes(&self) -> usize {
        self.layer.weight_bytes()
    }

    fn share_thread_pool(&mut self, pool: &Arc<crate::kernels::spin_pool::SpinPool>) {
        self.layer.share_thread_pool(pool);
    }
}

/// The bytes of patches and products one block of examples may take: half of a 512 KiB L2
/// cache (the smallest among the x86 and Arm cores qfront targets run on is 512 KiB–1 MiB per
/// core), leaving room for the weights and the output.
const BLOCK_BYTES: usize = 256 * 1024;

/// Examples per block when each takes `bytes_per_example` of patches and products: as many
/// as fit in [`BLOCK_BYTES`], at least one, at most `batch`.
fn examples_per_block(bytes_per_example: usize, batch: usize) -> usize {
    (BLOCK_BYTES / bytes_per_example.max(1)).clamp(1, batch.max(1))
}

/// Makes `buffer` hold `m_rows` rows of `stride` elements rounded up to a multiple of
/// `multiple` rows (what the GEMM kernels read), with the rows past `m_rows` zeroed.
fn pad_rows<T: Copy + Default>(buffer: &mut Vec<T>, m_rows: usize, multiple: usize, stride: usize) {
    let padded = m_rows.div_ceil(multiple) * multiple;
    if buffer.len() < padded * stride {
        buffer.resize(padded * stride, T::default());
    }
    buffer[m_rows * stride..padded * stride].fill(T::default());
}
