//! Flatten in the exported graph. The runtime flattens `[h, w, c]` (channels last), so an
//! image is transposed from ONNX's `[N, C, H, W]` first; sequences and vectors flatten as
//! they are.

use super::super::graph::Attribute;
use super::super::value::{Layout, Value};
use super::NodeExport;
use crate::Result;

/// Writes a flatten.
pub(super) fn export(cx: NodeExport<'_>) -> Result<Value> {
    let input = cx.input()?;
    let graph = cx.graph;
    let (source, features) = match input.layout {
        Layout::Image {
            channels,
            height,
            width,
        } => (
            graph.node(
                "Transpose",
                "channels_last",
                &[&input.name],
                &[("perm", Attribute::Ints(vec![0, 2, 3, 1]))],
            ),
            channels * height * width,
        ),
        Layout::Sequence { tokens, features } => (input.name.clone(), tokens * features),
        Layout::Vector { features } => (input.name.clone(), features),
    };
    Ok(Value {
        name: graph.node(
            "Flatten",
            "flat",
            &[&source],
            &[("axis", Attribute::Int(1))],
        ),
        layout: Layout::Vector { features },
        ..input
    })
}
