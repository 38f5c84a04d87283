//! Spatial max and average pooling in the exported graph, reproducing the runtime's integer
//! result (the rounded mean included).

use super::super::graph::{Attribute, GraphWriter};
use super::super::value::{Layout, Value};
use super::NodeExport;
use crate::Result;

/// Writes a max or average pooling node.
pub(super) fn export(
    cx: NodeExport<'_>,
    kernel: [usize; 2],
    stride: [usize; 2],
    average: bool,
) -> Result<Value> {
    Ok(spatial_pool(
        cx.graph,
        &cx.input()?,
        kernel,
        stride,
        average,
    ))
}

/// Max (`average = false`) or average pooling without padding. The runtime rounds a window's
/// mean half up to the input grid, `⌊(Σu + ⌊n/2⌋)/n⌋` for `n` positions; the graph recovers
/// the integer sum `S = Σ(u − z)` as `round(n·mean(x)/s)` and computes
/// `s·⌊(S + ⌊n/2⌋)/n⌋`, which is the same code (the zero point cancels).
fn spatial_pool(
    graph: &mut GraphWriter,
    input: &Value,
    kernel: [usize; 2],
    stride: [usize; 2],
    average: bool,
) -> Value {
    let Layout::Image {
        channels,
        height,
        width,
    } = input.layout
    else {
        unreachable!("validated: pooling reads images")
    };
    let attributes = [
        (
            "kernel_shape",
            Attribute::Ints(kernel.iter().map(|&k| k as i64).collect()),
        ),
        (
            "strides",
            Attribute::Ints(stride.iter().map(|&s| s as i64).collect()),
        ),
    ];
    let layout = Layout::Image {
        channels,
        height: (height - kernel[0]) / stride[0] + 1,
        width: (width - kernel[1]) / stride[1] + 1,
    };
    let name = if average {
        let count = (kernel[0] * kernel[1]) as f32;
        let mean = graph.node("AveragePool", "average_pool", &[&input.name], &attributes);
        let to_sum = graph.scalar("window_over_step", count / input.scale);
        let sum = graph.node("Mul", "window_sum", &[&mean, &to_sum], &[]);
        let sum = graph.node("Round", "window_sum_exact", &[&sum], &[]);
        let half = graph.scalar("half_window", (count as usize / 2) as f32);
        let shifted = graph.node("Add", "window_sum_rounding", &[&sum, &half], &[]);
        let positions = graph.scalar("window", count);
        let quotient = graph.node("Div", "window_mean", &[&shifted, &positions], &[]);
        let code = graph.node("Floor", "window_mean_code", &[&quotient], &[]);
        let step = graph.scalar("step", input.scale);
        graph.node("Mul", "average_pool_real", &[&code, &step], &[])
    } else {
        graph.node("MaxPool", "max_pool", &[&input.name], &attributes)
    };
    Value {
        name,
        layout,
        ..input.clone()
    }
}
