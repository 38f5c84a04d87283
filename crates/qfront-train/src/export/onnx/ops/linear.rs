//! A linear layer as `Gemm` (with `transB = 1`, reading the `[out, in]` matrix as stored,
//! scaled per row) and a bias `Add`; a token sequence is folded to `[N·T, D]` and back.
//!
//! A `DequantizeLinear → MatMul` pair would be rewritten by ONNX Runtime into its
//! `MatMulNBits` kernel, which by default quantizes the activations to 8 bits and so no
//! longer computes what the graph says.

use super::super::graph::Attribute;
use super::super::value::Layout;
use super::super::weights::{dequantized_weight, WeightTensor};
use super::weighted_layer::{layer_scales, output_value};
use super::NodeExport;
use super::Value;
use crate::Result;
use qfront_rt::format::LayerParams;

/// Writes a linear layer.
pub(super) fn export(cx: NodeExport<'_>, params: &LayerParams) -> Result<Value> {
    let input = cx.input()?;
    let graph = cx.graph;
    let w = &params.weights;
    let rows = w.rows;
    let codes = cx.file.weight_codes(w);
    let scales = layer_scales(cx.name, params, &codes, &input);
    let stem = scales.stem;
    let (weight, storage) = dequantized_weight(
        graph,
        WeightTensor {
            layer: cx.name,
            bits: w.bits,
            codes,
            dims: vec![rows, w.columns],
            axis: 0,
            scale: scales.weight_scale,
            zero_point_x2: scales.zero_point_x2,
        },
    );
    cx.storage.push(storage);
    let bias_name = graph.floats(&format!("{stem}_bias"), &[rows], &scales.bias);
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
    Ok(output_value(graph, params, out, layout, &stem))
}
