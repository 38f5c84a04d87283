//! A convolution as `Conv` on `[N, C, H, W]` (a token sequence as `[N, D, 1, T]` and back),
//! its bias as its own `Add`, and a residual input scaled by its own multiplier and added
//! before the output is rounded to its grid.

use super::super::graph::Attribute;
use super::super::value::{as_image, as_sequence, per_row, Layout};
use super::super::weights::{dequantized_weight, WeightTensor};
use super::weighted_layer::{layer_scales, output_value};
use super::NodeExport;
use super::Value;
use crate::Result;
use qfront_rt::format::{LayerParams, OutputStage};

/// The geometry of a convolution.
#[derive(Debug, Clone, Copy)]
pub(super) struct Convolution {
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[sh, sw]`.
    pub stride: [usize; 2],
    /// `[ph, pw]` on each side.
    pub padding: [usize; 2],
    /// Groups.
    pub groups: usize,
}

/// Writes a convolution.
pub(super) fn export(cx: NodeExport<'_>, params: &LayerParams, conv: Convolution) -> Result<Value> {
    let input = cx.input()?;
    let graph = cx.graph;
    let w = &params.weights;
    let (rows, columns) = (w.rows, w.columns);
    let stored = cx.file.weight_codes(w);
    let scales = layer_scales(cx.name, params, &stored, &input);
    let stem = scales.stem;
    let (image, [channels, height, width]) = as_image(graph, &input);
    let per_group = channels / conv.groups;
    let [kh, kw] = conv.kernel;
    // (kh, kw, in) → (in, kh, kw) per output channel.
    let mut codes = vec![0i8; rows * columns];
    for o in 0..rows {
        for y in 0..kh {
            for x in 0..kw {
                for c in 0..per_group {
                    codes[o * columns + (c * kh + y) * kw + x] =
                        stored[o * columns + (y * kw + x) * per_group + c];
                }
            }
        }
    }
    let (weight, storage) = dequantized_weight(
        graph,
        WeightTensor {
            layer: cx.name,
            bits: w.bits,
            codes,
            dims: vec![rows, per_group, kh, kw],
            axis: 0,
            scale: scales.weight_scale,
            zero_point_x2: scales.zero_point_x2,
        },
    );
    cx.storage.push(storage);
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
    // The bias is added by its own node (see `docs/onnx-export.md`).
    let bias_name = graph.floats(&format!("{stem}_bias"), &[1, rows, 1, 1], &scales.bias);
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
    ) = (&cx.residual, &params.output)
    {
        let coefficients: Vec<f32> = per_row(multiplier, rows)
            .iter()
            .zip(per_row(shift, rows))
            .map(|(&m, s)| {
                (output.scale as f64 * m as f64 / (s as f64).exp2() / residual.scale as f64) as f32
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
    Ok(output_value(graph, params, out, layout, &stem))
}
