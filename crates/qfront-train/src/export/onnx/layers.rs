//! The ONNX nodes of each `.qfm` operation, in the float "QDQ" form: every activation is the
//! real value of its integer code, `scale·(u − zero_point)`, produced by a
//! `QuantizeLinear`/`DequantizeLinear` pair, so each runtime that reads the graph computes
//! what `qfront-rt` computes in integers, up to float rounding.
//!
//! A weighted layer of the runtime computes `acc_o = Σ (2c − z₂)·u`, adds its bias
//! `b_o·2^(−F)` and scales by `unit_o` (the logits scale, or `s_out·m_o·2^(−shift_o)` before
//! requantization). With real inputs `x = s_in·(u − z_in)` the same value is
//! `Σ W·x + B` where `W = (2·unit_o/s_in)·(c − z₂/2)` and
//! `B_o = unit_o·(z_in·K_o + b_o·2^(−F))`, `K_o = Σ_k (2c_k − z₂)`, because padding and the
//! zero point of the input both contribute `z_in·(2c − z₂)` to the integer sum. That is the
//! weight scale and bias written here, so the exported graph uses the runtime's fixed-point
//! multipliers, not the training scales they approximate.

use super::graph::{Attribute, ElementType, GraphWriter};
use super::weights::{dequantized_weight, sanitize, WeightStorage, WeightTensor};
use qfront_rt::format::{ActivationSpec, LayerParams, OutputStage};

/// How a value is laid out in the ONNX graph (batch first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[N, C, H, W]`.
    Image {
        /// Channels.
        channels: usize,
        /// Height.
        height: usize,
        /// Width.
        width: usize,
    },
    /// `[N, T, D]`: a token sequence.
    Sequence {
        /// Tokens.
        tokens: usize,
        /// Features per token.
        features: usize,
    },
    /// `[N, F]`.
    Vector {
        /// Features.
        features: usize,
    },
}

/// A value of the graph: its name, layout and the grid its real values lie on (the zero
/// point is the code of 0; pooled means have no grid of their own and carry their input's
/// step with zero point 0).
#[derive(Debug, Clone)]
pub struct Value {
    /// ONNX name.
    pub name: String,
    /// Layout.
    pub layout: Layout,
    /// Step.
    pub scale: f32,
    /// Code of the real value 0.
    pub zero_point: i32,
}

/// `[N, C, 1, T]` of a sequence (1-D convolution over tokens, as the runtime reads it), or
/// the image itself.
pub fn as_image(graph: &mut GraphWriter, value: &Value) -> (String, [usize; 3]) {
    match value.layout {
        Layout::Image {
            channels,
            height,
            width,
        } => (value.name.clone(), [channels, height, width]),
        Layout::Sequence { tokens, features } => {
            let transposed = graph.node(
                "Transpose",
                "tokens_last",
                &[&value.name],
                &[("perm", Attribute::Ints(vec![0, 2, 1]))],
            );
            let axes = graph.int64s("axis2", &[2]);
            let image = graph.node("Unsqueeze", "as_image", &[&transposed, &axes], &[]);
            (image, [features, 1, tokens])
        }
        Layout::Vector { .. } => unreachable!("validated: convolutions read images or sequences"),
    }
}

/// Back from `[N, C, 1, T]` to `[N, T, C]`.
pub fn as_sequence(graph: &mut GraphWriter, image: &str) -> String {
    let axes = graph.int64s("axis2", &[2]);
    let squeezed = graph.node("Squeeze", "squeezed", &[image, &axes], &[]);
    graph.node(
        "Transpose",
        "sequence",
        &[&squeezed],
        &[("perm", Attribute::Ints(vec![0, 2, 1]))],
    )
}

/// Rounds `value` to the activation grid `spec` and back to real values:
/// `QuantizeLinear` to UINT8, `DequantizeLinear`, then a `Clip` to
/// `[s·(0 − z), s·(2^bits − 1 − z)]` (the grid's range; for 8 bits UINT8's own).
///
/// Clipping after the pair rather than before gives the same values (codes past the grid's
/// top dequantize past its top and are clipped to it) and keeps ONNX Runtime from fusing the
/// pair into its integer kernels, which round the bias to an integer multiple of
/// `s_x·s_w` (losing the `.qfm`'s fractional bias bits: 28% of predictions changed on a
/// 2-bit layer), quantize activations again in `MatMulNBits`, or reject 2-bit weights in
/// `QGemm`. (UINT4/UINT2 codes are not used either: ONNX Runtime 1.32 moves a following
/// `MaxPool` onto 4-bit codes and then rejects the graph.) See `docs/onnx-export.md`.
pub fn fake_quantize(
    graph: &mut GraphWriter,
    value: &str,
    spec: &ActivationSpec,
    stem: &str,
) -> String {
    let element = ElementType::Uint8;
    let scale = graph.scalar(&format!("{stem}_scale"), spec.scale);
    let zero = graph.zero_point(&format!("{stem}_zero_point"), element, spec.zero_point);
    let codes = graph.node(
        "QuantizeLinear",
        &format!("{stem}_codes"),
        &[value, &scale, &zero],
        &[],
    );
    let real = graph.node(
        "DequantizeLinear",
        &format!("{stem}_dequantized"),
        &[&codes, &scale, &zero],
        &[],
    );
    let lo = graph.scalar("clip_low", spec.scale * (0 - spec.zero_point) as f32);
    let top = (1i32 << spec.bits) - 1;
    let hi = graph.scalar("clip_high", spec.scale * (top - spec.zero_point) as f32);
    graph.node("Clip", &format!("{stem}_real"), &[&real, &lo, &hi], &[])
}

/// One value per row from a per-row list or a single shared value.
pub(super) fn per_row<T: Copy>(values: &[T], rows: usize) -> Vec<T> {
    if values.len() == 1 {
        vec![values[0]; rows]
    } else {
        values.to_vec()
    }
}

/// The geometry of a convolution.
#[derive(Debug, Clone, Copy)]
pub struct Convolution {
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[sh, sw]`.
    pub stride: [usize; 2],
    /// `[ph, pw]` on each side.
    pub padding: [usize; 2],
    /// Groups.
    pub groups: usize,
}

/// A weighted layer: its `.qfm` parameters, unpacked codes `[rows, columns]` and input.
pub struct WeightedLayer<'a> {
    /// Node name.
    pub name: &'a str,
    /// Parameters.
    pub params: &'a LayerParams,
    /// Codes, row-major `[rows, columns]` as in the `.qfm`.
    pub codes: &'a [i8],
    /// The convolution, or `None` for a linear layer.
    pub convolution: Option<Convolution>,
}

/// Emits a linear or convolution layer reading `input` (and `residual`); returns its output
/// value (`None` layout change for logits: a `[N, classes]` vector) and how its weights were
/// stored.
pub fn weighted_layer(
    graph: &mut GraphWriter,
    layer: WeightedLayer<'_>,
    input: &Value,
    residual: Option<&Value>,
) -> (Value, WeightStorage) {
    let params = layer.params;
    let w = &params.weights;
    let (rows, columns) = (w.rows, w.columns);
    let stem = sanitize(layer.name);
    let units: Vec<f64> = match &params.output {
        OutputStage::Requantize {
            multiplier,
            shift,
            output,
            ..
        } => per_row(multiplier, rows)
            .iter()
            .zip(per_row(shift, rows))
            .map(|(&m, s)| output.scale as f64 * m as f64 / (s as f64).exp2())
            .collect(),
        OutputStage::Logits { scale } => per_row(scale, rows).iter().map(|&s| s as f64).collect(),
    };
    let z2 = per_row(&w.zero_point_x2, rows);
    let s_in = input.scale as f64;
    let z_in = input.zero_point as f64;
    let fraction = (params.bias_fraction_bits as f64).exp2();
    let weight_scale: Vec<f32> = units.iter().map(|u| (2.0 * u / s_in) as f32).collect();
    let bias: Vec<f32> = (0..rows)
        .map(|o| {
            let k: i64 = layer.codes[o * columns..(o + 1) * columns]
                .iter()
                .map(|&c| 2 * c as i64 - z2[o] as i64)
                .sum();
            (units[o] * (z_in * k as f64 + params.bias[o] as f64 / fraction)) as f32
        })
        .collect();
    let (output_name, layout, storage) = match layer.convolution {
        Some(conv) => {
            let (image, [channels, height, width]) = as_image(graph, input);
            let per_group = channels / conv.groups;
            let [kh, kw] = conv.kernel;
            // (kh, kw, in) → (in, kh, kw) per output channel.
            let mut codes = vec![0i8; rows * columns];
            for o in 0..rows {
                for y in 0..kh {
                    for x in 0..kw {
                        for c in 0..per_group {
                            codes[o * columns + (c * kh + y) * kw + x] =
                                layer.codes[o * columns + (y * kw + x) * per_group + c];
                        }
                    }
                }
            }
            let (weight, storage) = dequantized_weight(
                graph,
                WeightTensor {
                    layer: layer.name,
                    bits: w.bits,
                    codes,
                    dims: vec![rows, per_group, kh, kw],
                    axis: 0,
                    scale: weight_scale,
                    zero_point_x2: z2,
                },
            );
            let [ph, pw] = conv.padding;
            let product = graph.node(
                "Conv",
                &format!("{stem}_conv"),
                &[&image, &weight],
                &[
                    ("kernel_shape", Attribute::Ints(vec![kh as i64, kw as i64])),
                    (
                        "strides",
                        Attribute::Ints(conv.stride.iter().map(|&s| s as i64).collect()),
                    ),
                    (
                        "pads",
                        Attribute::Ints(vec![ph as i64, pw as i64, ph as i64, pw as i64]),
                    ),
                    ("group", Attribute::Int(conv.groups as i64)),
                ],
            );
            // The bias is added by its own node: see `add_bias`.
            let bias_name = graph.floats(&format!("{stem}_bias"), &[1, rows, 1, 1], &bias);
            let mut out = graph.node(
                "Add",
                &format!("{stem}_biased"),
                &[&product, &bias_name],
                &[],
            );
            if let (
                Some(residual),
                OutputStage::Requantize {
                    shift,
                    residual_multiplier: Some(multiplier),
                    output,
                    ..
                },
            ) = (residual, &params.output)
            {
                let coefficients: Vec<f32> = per_row(multiplier, rows)
                    .iter()
                    .zip(per_row(shift, rows))
                    .map(|(&m, s)| {
                        (output.scale as f64 * m as f64 / (s as f64).exp2() / residual.scale as f64)
                            as f32
                    })
                    .collect();
                let (shortcut, _) = as_image(graph, residual);
                let factor = graph.floats(
                    &format!("{stem}_residual_scale"),
                    &[1, rows, 1, 1],
                    &coefficients,
                );
                let scaled = graph.node(
                    "Mul",
                    &format!("{stem}_residual"),
                    &[&shortcut, &factor],
                    &[],
                );
                out = graph.node("Add", &format!("{stem}_sum"), &[&out, &scaled], &[]);
            }
            let out_height = (height + 2 * ph - kh) / conv.stride[0] + 1;
            let out_width = (width + 2 * pw - kw) / conv.stride[1] + 1;
            let layout = match input.layout {
                Layout::Sequence { .. } => {
                    out = as_sequence(graph, &out);
                    Layout::Sequence {
                        tokens: out_width,
                        features: rows,
                    }
                }
                _ => Layout::Image {
                    channels: rows,
                    height: out_height,
                    width: out_width,
                },
            };
            (out, layout, storage)
        }
        None => {
            // `Gemm` with `transB = 1` reads the `[out, in]` matrix as stored, scaled per row.
            // (A `DequantizeLinear → MatMul` pair would be rewritten by ONNX Runtime into its
            // `MatMulNBits` kernel, which by default quantizes the activations to 8 bits and
            // so no longer computes what the graph says.) A sequence is folded to
            // `[N·T, D]` and back.
            let (weight, storage) = dequantized_weight(
                graph,
                WeightTensor {
                    layer: layer.name,
                    bits: w.bits,
                    codes: layer.codes.to_vec(),
                    dims: vec![rows, columns],
                    axis: 0,
                    scale: weight_scale,
                    zero_point_x2: z2,
                },
            );
            let bias_name = graph.floats(&format!("{stem}_bias"), &[rows], &bias);
            let rows_in = match input.layout {
                Layout::Sequence { tokens, features } => {
                    let shape = graph.int64s("rows_shape", &[-1, features as i64]);
                    let flat = graph.node("Reshape", "token_rows", &[&input.name, &shape], &[]);
                    Some((flat, tokens))
                }
                _ => None,
            };
            let source = rows_in
                .as_ref()
                .map_or(input.name.as_str(), |(flat, _)| flat.as_str());
            let product = graph.node(
                "Gemm",
                &format!("{stem}_gemm"),
                &[source, &weight],
                &[("transB", Attribute::Int(1))],
            );
            let mut out = graph.node(
                "Add",
                &format!("{stem}_linear"),
                &[&product, &bias_name],
                &[],
            );
            if let Some((_, tokens)) = rows_in {
                let shape = graph.int64s("sequence_shape", &[-1, tokens as i64, rows as i64]);
                out = graph.node("Reshape", "token_sequence", &[&out, &shape], &[]);
            }
            let layout = match input.layout {
                Layout::Sequence { tokens, .. } => Layout::Sequence {
                    tokens,
                    features: rows,
                },
                _ => Layout::Vector { features: rows },
            };
            (out, layout, storage)
        }
    };
    let (name, scale, zero_point) = match &params.output {
        OutputStage::Requantize { output, .. } => (
            fake_quantize(graph, &output_name, output, &stem),
            output.scale,
            output.zero_point,
        ),
        OutputStage::Logits { .. } => (output_name, 1.0, 0),
    };
    (
        Value {
            name,
            layout,
            scale,
            zero_point,
        },
        storage,
    )
}
