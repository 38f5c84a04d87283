//! The model input in the exported graph: images quantized to the input grid (the graph's
//! `image` input is float `[N, C, H, W]`); token ids pass as they are (`tokens`, int64).

use super::super::value::{fake_quantize, Layout, Value};
use super::NodeExport;
use qfront_rt::format::{ActivationSpec, InputSpec};

/// The input's value: the image rounded to its grid, or `None` for token ids (only an
/// embedding reads them).
pub(super) fn export(cx: NodeExport<'_>) -> Option<Value> {
    match &cx.file.model.input {
        InputSpec::Image {
            height,
            width,
            channels,
            scale,
            zero_point,
        } => {
            let spec = ActivationSpec {
                bits: 8,
                scale: *scale,
                zero_point: *zero_point,
            };
            Some(Value {
                name: fake_quantize(cx.graph, "image", &spec, "input"),
                layout: Layout::Image {
                    channels: *channels,
                    height: *height,
                    width: *width,
                },
                scale: *scale,
                zero_point: *zero_point,
            })
        }
        InputSpec::Tokens { .. } => None,
    }
}
