//! Integer weights as ONNX initializers behind a `DequantizeLinear`: codes stored at their
//! width where ONNX has the type (INT2 for 2-bit, INT4 for 3- and 4-bit, INT8 for 5..=8 bits),
//! a per-channel scale and integer zero point.
//!
//! A half-step ("no-zero") grid, whose levels are `s·(c + ½)`, has no integer zero point:
//! `DequantizeLinear` then uses `⌊z₂/2⌋` and an `Add` of `−s/2` per channel restores the
//! half step (`s·(c − ⌊z₂/2⌋) − s/2 = s·(c − z₂/2)` for odd `z₂`). Runtimes fold the `Add`
//! of two constants at load time.

use super::graph::{pack_integers, Attribute, ElementType, GraphWriter};
use serde::Serialize;

/// How one layer's weights were stored in the ONNX file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightStorage {
    /// The `.qfm` node it came from.
    pub layer: String,
    /// Weight bits of the grid.
    pub bits: u32,
    /// The ONNX element type holding the codes (`INT2`, `INT4` or `INT8`).
    pub element: &'static str,
    /// Whether the grid is on half steps (an `Add` after `DequantizeLinear`).
    pub half_step: bool,
}

/// The narrowest signed ONNX type holding `bits`-bit codes.
fn storage_type(bits: u32) -> ElementType {
    match bits {
        2 => ElementType::Int2,
        3 | 4 => ElementType::Int4,
        _ => ElementType::Int8,
    }
}

fn signed_range(element: ElementType) -> (i32, i32) {
    match element {
        ElementType::Int2 => (-2, 1),
        ElementType::Int4 => (-8, 7),
        _ => (-128, 127),
    }
}

/// A weight tensor to write: codes already in the ONNX layout `dims`, one scale and doubled
/// zero point per index of `axis`.
pub struct WeightTensor<'a> {
    /// The layer's name.
    pub layer: &'a str,
    /// Grid bits.
    pub bits: u32,
    /// Codes in row-major order of `dims`.
    pub codes: Vec<i8>,
    /// ONNX shape.
    pub dims: Vec<usize>,
    /// The channel axis of `scale` and `zero_point_x2`.
    pub axis: usize,
    /// Step per channel (the real weight is `scale·(c − z₂/2)`).
    pub scale: Vec<f32>,
    /// Doubled zero point per channel.
    pub zero_point_x2: Vec<i32>,
}

/// Writes `weights` as an integer initializer and the nodes that dequantize it; returns the
/// name of the float weight and how it was stored.
pub fn dequantized_weight(
    graph: &mut GraphWriter,
    weights: WeightTensor<'_>,
) -> (String, WeightStorage) {
    let channels = weights.dims[weights.axis];
    let floor_zero: Vec<i32> = weights
        .zero_point_x2
        .iter()
        .map(|z| z.div_euclid(2))
        .collect();
    let half_step = weights.zero_point_x2.iter().any(|z| z.rem_euclid(2) != 0);
    let mut element = storage_type(weights.bits);
    let (lo, hi) = signed_range(element);
    if floor_zero.iter().any(|z| !(lo..=hi).contains(z)) {
        // A zero point outside the narrow type (cannot happen for the built-in quantizers,
        // whose zero points are codes of their own grid): keep the same values in INT8.
        element = ElementType::Int8;
    }
    let codes: Vec<i32> = weights.codes.iter().map(|&c| c as i32).collect();
    let stem = sanitize(weights.layer);
    let data = graph.raw_tensor(
        &format!("{stem}_weight_codes"),
        element,
        &weights.dims,
        pack_integers(&codes, element),
    );
    // One scale and zero point for the tensor when every channel shares them (an embedding
    // table, per-tensor quantizers), else one per channel along `axis`.
    let shared = weights.scale.iter().all(|&v| v == weights.scale[0])
        && floor_zero.iter().all(|&z| z == floor_zero[0]);
    let (scale_values, zero_values, dims): (&[f32], &[i32], &[usize]) = if shared {
        (&weights.scale[..1], &floor_zero[..1], &[])
    } else {
        (&weights.scale, &floor_zero, &[channels])
    };
    let scale = graph.floats(&format!("{stem}_weight_scale"), dims, scale_values);
    let zero = graph.raw_tensor(
        &format!("{stem}_weight_zero_point"),
        element,
        dims,
        pack_integers(zero_values, element),
    );
    let attributes = if shared {
        Vec::new()
    } else {
        vec![("axis", Attribute::Int(weights.axis as i64))]
    };
    let mut value = graph.node(
        "DequantizeLinear",
        &format!("{stem}_weight"),
        &[&data, &scale, &zero],
        &attributes,
    );
    if half_step {
        let offsets: Vec<f32> = weights
            .zero_point_x2
            .iter()
            .zip(&weights.scale)
            .map(|(z, s)| -(z.rem_euclid(2) as f32) * s / 2.0)
            .collect();
        let mut shape = vec![1; weights.dims.len()];
        shape[weights.axis] = channels;
        let offset = graph.floats(&format!("{stem}_half_step"), &shape, &offsets);
        value = graph.node("Add", &format!("{stem}_weight"), &[&value, &offset], &[]);
    }
    (
        value,
        WeightStorage {
            layer: weights.layer.to_string(),
            bits: weights.bits,
            element: element.name(),
            half_step,
        },
    )
}

/// A layer name made safe for ONNX value names (letters, digits, `_`, `.`).
pub fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "layer".into()
    } else {
        cleaned
    }
}
