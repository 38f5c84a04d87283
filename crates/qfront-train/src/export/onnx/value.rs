//! Values of the exported graph: their ONNX name, layout (batch first) and the grid their real
//! values lie on, with the conversions between the runtime's layouts and ONNX's, and the
//! `QuantizeLinear`/`DequantizeLinear` pair that rounds a value to its activation grid.

use super::graph::{Attribute, ElementType, GraphWriter};
use qfront_rt::format::ActivationSpec;

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
pub fn per_row<T: Copy>(values: &[T], rows: usize) -> Vec<T> {
    if values.len() == 1 {
        vec![values[0]; rows]
    } else {
        values.to_vec()
    }
}
