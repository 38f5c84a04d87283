//! Pooling in the exported graph: spatial max/average pooling, global average pooling and
//! pooling over the real (non-padding) tokens of an utterance, each reproducing the
//! runtime's integer result.

use super::graph::{Attribute, GraphWriter};
use super::layers::{Layout, Value};

/// Max (`average = false`) or average pooling without padding. The runtime rounds a window's
/// mean half up to the input grid, `⌊(Σu + ⌊n/2⌋)/n⌋` for `n` positions; the graph recovers
/// the integer sum `S = Σ(u − z)` as `round(n·mean(x)/s)` and computes
/// `s·⌊(S + ⌊n/2⌋)/n⌋`, which is the same code (the zero point cancels).
pub fn spatial_pool(
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

/// Global average pooling: the per-channel mean of the real values, `[N, C]` (the runtime
/// passes sums and the count to the classifier, which divides without rounding).
pub fn global_average(graph: &mut GraphWriter, input: &Value) -> Value {
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

/// Mean or max over the tokens whose id is not 0 (padding). With no real token the mean is 0
/// (the runtime divides by `max(count, 1)`) and the max is the real value 0.
pub fn token_pool(graph: &mut GraphWriter, input: &Value, ids: &str, mean: bool) -> Value {
    let Layout::Sequence { features, .. } = input.layout else {
        unreachable!("validated: token pooling reads sequences")
    };
    let padding = graph.raw_tensor(
        "padding_id",
        super::graph::ElementType::Int64,
        &[],
        0i64.to_le_bytes().to_vec(),
    );
    let is_padding = graph.node("Equal", "is_padding", &[ids, &padding], &[]);
    let real = graph.node("Not", "is_real", &[&is_padding], &[]);
    let axis2 = graph.int64s("axis2", &[2]);
    let axis1 = graph.int64s("axis1", &[1]);
    let weights = graph.node(
        "Cast",
        "real_weight",
        &[&real],
        &[("to", Attribute::Int(1))],
    );
    let count = graph.node(
        "ReduceSum",
        "real_tokens",
        &[&weights, &axis1],
        &[("keepdims", Attribute::Int(1))],
    );
    let zero = graph.scalar("zero", 0.0);
    let name = if mean {
        let weights_column =
            graph.node("Unsqueeze", "real_weight_column", &[&weights, &axis2], &[]);
        let masked = graph.node("Mul", "real_values", &[&input.name, &weights_column], &[]);
        let sums = graph.node(
            "ReduceSum",
            "token_sums",
            &[&masked, &axis1],
            &[("keepdims", Attribute::Int(0))],
        );
        let one = graph.scalar("one", 1.0);
        let divisor = graph.node("Max", "token_count", &[&count, &one], &[]);
        graph.node("Div", "token_mean", &[&sums, &divisor], &[])
    } else {
        let real_column = graph.node("Unsqueeze", "is_real_column", &[&real, &axis2], &[]);
        let lowest = graph.scalar("lowest", f32::MIN);
        let masked = graph.node(
            "Where",
            "real_values",
            &[&real_column, &input.name, &lowest],
            &[],
        );
        let largest = graph.node(
            "ReduceMax",
            "token_max",
            &[&masked, &axis1],
            &[("keepdims", Attribute::Int(0))],
        );
        let any = graph.node("Greater", "any_real", &[&count, &zero], &[]);
        graph.node("Where", "token_max_or_zero", &[&any, &largest, &zero], &[])
    };
    Value {
        name,
        layout: Layout::Vector { features },
        scale: input.scale,
        zero_point: if mean { 0 } else { input.zero_point },
    }
}
