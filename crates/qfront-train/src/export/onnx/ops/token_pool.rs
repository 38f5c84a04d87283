//! Pooling over the real (non-padding) tokens of an utterance in the exported graph: the
//! token ids' mask is computed in the graph from the ids input.

use super::super::graph::{Attribute, GraphWriter};
use super::super::value::{Layout, Value};
use super::{fail, NodeExport};
use crate::Result;
use qfront_rt::format::{InputSpec, TokenPooling};

/// Writes a token pooling.
pub(super) fn export(cx: NodeExport<'_>, mode: TokenPooling) -> Result<Value> {
    let input = cx.input()?;
    let ids = cx
        .ids
        .ok_or_else(|| fail(cx.name, "token pooling in an image model"))?;
    let InputSpec::Tokens { max_tokens, .. } = cx.file.model.input else {
        unreachable!("ids exist only for token inputs")
    };
    if !matches!(input.layout, Layout::Sequence { tokens, .. } if tokens == max_tokens) {
        return Err(fail(
            cx.name,
            format!("pools a sequence whose length is not the input's {max_tokens} tokens"),
        ));
    }
    Ok(token_pool(
        cx.graph,
        &input,
        ids,
        mode == TokenPooling::Mean,
    ))
}

/// Mean or max over the tokens whose id is not 0 (padding). With no real token the mean is 0
/// (the runtime divides by `max(count, 1)`) and the max is the real value 0.
fn token_pool(graph: &mut GraphWriter, input: &Value, ids: &str, mean: bool) -> Value {
    let Layout::Sequence { features, .. } = input.layout else {
        unreachable!("validated: token pooling reads sequences")
    };
    let padding = graph.raw_tensor(
        "padding_id",
        super::super::graph::ElementType::Int64,
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
