//! What linear and convolution layers share in the exported graph: the weight scale and bias
//! that reproduce the runtime's fixed-point arithmetic, and the output rounded to its grid.
//!
//! A weighted layer of the runtime computes `acc_o = Σ (2c − z₂)·u`, adds its bias
//! `b_o·2^(−F)` and scales by `unit_o` (the logits scale, or `s_out·m_o·2^(−shift_o)` before
//! requantization). With real inputs `x = s_in·(u − z_in)` the same value is
//! `Σ W·x + B` where `W = (2·unit_o/s_in)·(c − z₂/2)` and
//! `B_o = unit_o·(z_in·K_o + b_o·2^(−F))`, `K_o = Σ_k (2c_k − z₂)`, because padding and the
//! zero point of the input both contribute `z_in·(2c − z₂)` to the integer sum. That is the
//! weight scale and bias written here, so the exported graph uses the runtime's fixed-point
//! multipliers, not the training scales they approximate.

use super::super::graph::GraphWriter;
use super::super::value::{fake_quantize, per_row, Layout, Value};
use super::super::weights::sanitize;
use qfront_rt::format::{LayerParams, OutputStage};

/// The float weight scale per output row, the float bias and the doubled zero points of a
/// weighted layer reading `input`, with the layer's name stem.
pub(super) struct LayerScales {
    /// The layer's name made safe for ONNX value names.
    pub stem: String,
    /// `2·unit_o/s_in` per output row.
    pub weight_scale: Vec<f32>,
    /// `B_o` per output row.
    pub bias: Vec<f32>,
    /// Doubled weight zero point per output row.
    pub zero_point_x2: Vec<i32>,
}

/// The scales of the layer `name` with `params` and row-major `codes` reading `input`.
pub(super) fn layer_scales(
    name: &str,
    params: &LayerParams,
    codes: &[i8],
    input: &Value,
) -> LayerScales {
    let w = &params.weights;
    let (rows, columns) = (w.rows, w.columns);
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
    let zero_point_x2 = per_row(&w.zero_point_x2, rows);
    let s_in = input.scale as f64;
    let z_in = input.zero_point as f64;
    let fraction = (params.bias_fraction_bits as f64).exp2();
    let weight_scale = units.iter().map(|u| (2.0 * u / s_in) as f32).collect();
    let bias = (0..rows)
        .map(|o| {
            let k: i64 = codes[o * columns..(o + 1) * columns]
                .iter()
                .map(|&c| 2 * c as i64 - zero_point_x2[o] as i64)
                .sum();
            (units[o] * (z_in * k as f64 + params.bias[o] as f64 / fraction)) as f32
        })
        .collect();
    LayerScales {
        stem: sanitize(name),
        weight_scale,
        bias,
        zero_point_x2,
    }
}

/// The layer's output value: `output_name` rounded to the output grid (requantizing layers)
/// or the logits as they are.
pub(super) fn output_value(
    graph: &mut GraphWriter,
    params: &LayerParams,
    output_name: String,
    layout: Layout,
    stem: &str,
) -> Value {
    let (name, scale, zero_point) = match &params.output {
        OutputStage::Requantize { output, .. } => (
            fake_quantize(graph, &output_name, output, stem),
            output.scale,
            output.zero_point,
        ),
        OutputStage::Logits { .. } => (output_name, 1.0, 0),
    };
    Value {
        name,
        layout,
        scale,
        zero_point,
    }
}
