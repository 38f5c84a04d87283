//! Global average pooling in the exported graph.

use super::super::graph::{Attribute, GraphWriter};
use super::super::value::{Layout, Value};
use super::NodeExport;
use crate::Result;

/// Writes a global average pooling.
pub(super) fn export(cx: NodeExport<'_>) -> Result<Value> {
    Ok(global_average(cx.graph, &cx.input()?))
}

/// Global average pooling: the per-channel mean of the real values, `[N, C]` (the runtime
/// passes sums and the count to the classifier, which divides without rounding).
fn global_average(graph: &mut GraphWriter, input: &Value) -> Value {
    let Layout::Image { channels, .. } = input.layout else {
        unreachable!("validated: global pooling reads images")
    };
    let pooled = graph.node("GlobalAveragePool", "global_pool", &[&input.name], &[]);
    let name = graph.node(
        "Flatten",
        "global_pool_flat",
        &[&pooled],
        &[("axis", Attribute::Int(1))],
    );
    Value {
        name,
        layout: Layout::Vector { features: channels },
        scale: input.scale,
        zero_point: 0,
    }
}
