//! An embedding in the exported graph: the table as an integer initializer at its width behind
//! a `DequantizeLinear`, and a `Gather` of the token ids. Its values are on the grid the
//! runtime's lookup produces (`embedding_activation`).

use super::super::graph::Attribute;
use super::super::value::{per_row, Layout, Value};
use super::super::weights::{dequantized_weight, WeightTensor};
use super::{fail, NodeExport};
use crate::Result;
use qfront_rt::format::{embedding_activation, ValueType, WeightSpec};

/// Writes an embedding lookup of the table `weights`.
pub(super) fn export(cx: NodeExport<'_>, weights: &WeightSpec) -> Result<Value> {
    let ids = cx
        .ids
        .ok_or_else(|| fail(cx.name, "an embedding in an image model"))?;
    let mapping = embedding_activation(weights)
        .ok_or_else(|| fail(cx.name, "embedding codes do not fit 8 bits"))?;
    let rows = weights.rows;
    let (table, stored) = dequantized_weight(
        cx.graph,
        WeightTensor {
            layer: cx.name,
            bits: weights.bits,
            codes: cx.file.weight_codes(weights),
            dims: vec![rows, weights.columns],
            axis: 0,
            scale: per_row(&weights.scale, rows),
            zero_point_x2: per_row(&weights.zero_point_x2, rows),
        },
    );
    cx.storage.push(stored);
    let ValueType::Quantized { shape, .. } = cx.output else {
        return Err(fail(cx.name, "an embedding without a token sequence"));
    };
    Ok(Value {
        name: cx.graph.node(
            "Gather",
            "embedded",
            &[&table, ids],
            &[("axis", Attribute::Int(0))],
        ),
        layout: Layout::Sequence {
            tokens: shape[0],
            features: weights.columns,
        },
        scale: mapping.activation.scale,
        zero_point: mapping.activation.zero_point,
    })
}
