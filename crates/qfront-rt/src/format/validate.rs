//! Checks a [`QfmModel`] against its blob and infers the type of every node's output. A
//! model that passes can be executed without further checks.

use super::graph::{ActivationSpec, Op, QfmModel};
use crate::ops::{self, CheckContext};
use crate::{Result, RtError};

/// Largest number of elements of one value or weight matrix.
pub const MAX_ELEMENTS: usize = 1 << 30;
/// Largest reduction length of one output (keeps `2·Σc·u` inside i32).
pub const MAX_COLUMNS: usize = 1 << 15;

/// The type of a node's output (per example; the batch dimension is implicit).
#[derive(Debug, Clone, PartialEq)]
pub enum ValueType {
    /// Token ids of the model input.
    Tokens {
        /// Tokens per example.
        count: usize,
    },
    /// A u8 activation tensor: `[h, w, c]`, `[tokens, features]` or `[features]`.
    Quantized {
        /// Shape.
        shape: Vec<usize>,
        /// Its quantization.
        activation: ActivationSpec,
    },
    /// Per-feature i32 sums with the zero point removed, to be divided by a count (mean
    /// pooling); real value `scale·sum/count`.
    PooledSum {
        /// Features.
        features: usize,
        /// Real value of one unit.
        scale: f32,
    },
    /// Float logits.
    Logits {
        /// Classes.
        classes: usize,
    },
}

impl ValueType {
    /// Elements per example.
    pub fn elements(&self) -> usize {
        match self {
            ValueType::Tokens { count } => *count,
            ValueType::Quantized { shape, .. } => shape.iter().product(),
            ValueType::PooledSum { features, .. } => *features,
            ValueType::Logits { classes } => *classes,
        }
    }
}

/// The inferred types of all nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLayout {
    /// One per node.
    pub values: Vec<ValueType>,
}

impl ModelLayout {
    /// Classes of the final logits.
    pub fn classes(&self) -> usize {
        match self.values.last() {
            Some(ValueType::Logits { classes }) => *classes,
            _ => unreachable!("validated: the last node emits logits"),
        }
    }
}

/// Validates `model` against a blob of `blob_len` bytes and returns the node types.
pub fn validate_model(model: &QfmModel, blob_len: usize) -> Result<ModelLayout> {
    let values = validate_prefix(model, blob_len)?;
    if !matches!(values.last(), Some(ValueType::Logits { .. })) {
        return Err(RtError::InvalidModel {
            node: model.nodes.len() - 1,
            name: model
                .nodes
                .last()
                .map(|n| n.name.clone())
                .unwrap_or_default(),
            reason: "the last node must emit logits (a classifier with a logits output)".into(),
        });
    }
    Ok(ModelLayout { values })
}

/// Validates every node (a model under construction need not end in logits yet): the graph's
/// structure here, each op's parameters and output type in its own file (`crate::ops`).
pub(crate) fn validate_prefix(model: &QfmModel, blob_len: usize) -> Result<Vec<ValueType>> {
    let mut values: Vec<ValueType> = Vec::with_capacity(model.nodes.len());
    if model.nodes.is_empty() {
        return Err(RtError::format("the graph has no nodes"));
    }
    for (index, node) in model.nodes.iter().enumerate() {
        let operator = ops::operator(&node.op);
        let mut cx = CheckContext {
            node: index,
            name: &node.name,
            model,
            inputs: Vec::new(),
            blob_len,
        };
        let arity = operator.arity();
        cx.ensure(node.inputs.len() == arity, || {
            format!("reads {} inputs; this op takes {arity}", node.inputs.len())
        })?;
        cx.ensure(node.inputs.iter().all(|&i| i < index), || {
            "reads a node that does not come before it".into()
        })?;
        cx.ensure((index == 0) == matches!(node.op, Op::Input), || {
            "node 0, and only node 0, must be the input".into()
        })?;
        cx.inputs = node.inputs.iter().map(|&i| &values[i]).collect();
        let value = operator.output_type(&cx)?;
        if let ValueType::Quantized { shape, .. } = &value {
            cx.ensure(shape.iter().product::<usize>() <= MAX_ELEMENTS, || {
                "output too large".into()
            })?;
        }
        values.push(value);
    }
    Ok(values)
}
