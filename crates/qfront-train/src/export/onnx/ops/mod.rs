//! The ONNX nodes of each `.qfm` operator, one file per operator with the runtime's file names
//! (`qfront-rt/src/ops/`), in the float "QDQ" form: every activation is the real value of its
//! integer code, `scale·(u − zero_point)`, produced by a `QuantizeLinear`/`DequantizeLinear`
//! pair, so each runtime that reads the graph computes what `qfront-rt` computes in integers,
//! up to float rounding.
//!
//! [`export_node`] is the one place that maps a graph op to its export.

mod conv2d;
mod embedding;
mod flatten;
mod global_avg_pool;
mod input;
mod linear;
mod pad_channels;
mod pool;
mod token_pool;
mod weighted_layer;

use super::fail;
use super::graph::GraphWriter;
use super::value::Value;
use super::weights::WeightStorage;
use crate::Result;
use qfront_rt::format::{Op, ValueType};
use qfront_rt::QfmFile;

/// What exporting one node sees and writes.
pub(super) struct NodeExport<'a> {
    /// The graph being written.
    pub graph: &'a mut GraphWriter,
    /// The model (its input spec and weight blob).
    pub file: &'a QfmFile,
    /// The node's name.
    pub name: &'a str,
    /// The value of its first input (`None` for the token ids, which only an embedding reads).
    pub input: Option<Value>,
    /// The value of its second (residual) input.
    pub residual: Option<Value>,
    /// Its output type, as the runtime infers it.
    pub output: &'a ValueType,
    /// The name of the token ids input (token models).
    pub ids: Option<&'a str>,
    /// How each weight tensor was stored.
    pub storage: &'a mut Vec<WeightStorage>,
}

impl NodeExport<'_> {
    /// The first input's value, or an error for an op that reads the token ids directly.
    pub fn input(&self) -> Result<Value> {
        self.input.clone().ok_or_else(|| {
            fail(
                self.name,
                "reads the token ids directly; only an embedding can",
            )
        })
    }
}

/// Writes the nodes of `op` and returns its output value (`None` for the token ids).
pub(super) fn export_node(op: &Op, cx: NodeExport<'_>) -> Result<Option<Value>> {
    match op {
        Op::Input => Ok(input::export(cx)),
        Op::Linear { params } => linear::export(cx, params).map(Some),
        Op::Conv2d {
            kernel,
            stride,
            padding,
            groups,
            params,
        } => conv2d::export(
            cx,
            params,
            conv2d::Convolution {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                groups: *groups,
            },
        )
        .map(Some),
        Op::MaxPool2d { kernel, stride } => pool::export(cx, *kernel, *stride, false).map(Some),
        Op::AvgPool2d { kernel, stride } => pool::export(cx, *kernel, *stride, true).map(Some),
        Op::GlobalAvgPool => global_avg_pool::export(cx).map(Some),
        Op::PadChannels { extra } => pad_channels::export(cx, *extra).map(Some),
        Op::Flatten => flatten::export(cx).map(Some),
        Op::Embedding { weights } => embedding::export(cx, weights).map(Some),
        Op::TokenPool { mode } => token_pool::export(cx, *mode).map(Some),
    }
}
