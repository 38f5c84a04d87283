//! A model prepared for execution, shared by every workspace that runs it: each node's
//! operator prepared for one kernel set (`crate::ops`), and the graph's value types.

use crate::format::{InputSpec, QfmFile, ValueType};
use crate::kernels::KernelSet;
use crate::ops::{self, NodeTypes, PreparedOp};
use std::sync::Arc;

/// The prepared graph (read-only while running, so workspaces on several threads share it).
#[derive(Debug)]
pub(crate) struct Model {
    /// What the model consumes.
    pub input: InputSpec,
    /// Each node's inputs.
    pub inputs: Vec<Vec<usize>>,
    /// Each node's output type.
    pub values: Vec<ValueType>,
    /// Each node's prepared operator.
    pub prepared: Vec<Box<dyn PreparedOp>>,
    /// The kernel set the weights were prepared for.
    pub kernels: KernelSet,
    /// Logits per example.
    pub classes: usize,
    /// Multiply-adds of one example through every weighted layer.
    pub macs_per_example: usize,
}

impl Model {
    /// Prepares `file` for `kernels`; with `pool`, large GEMMs may be split over its threads.
    pub fn new(
        file: &QfmFile,
        kernels: KernelSet,
        pool: Option<Arc<crate::kernels::spin_pool::SpinPool>>,
    ) -> Self {
        let layout = file.layout();
        let classes = layout.classes();
        let mut macs_per_example = 0;
        let prepared = file
            .model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let types = NodeTypes::of(&layout.values, &node.inputs, i);
                let operator = ops::operator(&node.op);
                macs_per_example += operator.cost(&types).multiply_adds;
                let mut prepared = operator.prepare(&types, &file.blob, kernels);
                if let Some(pool) = &pool {
                    prepared.share_thread_pool(pool);
                }
                prepared
            })
            .collect();
        Self {
            input: file.model.input.clone(),
            inputs: file.model.nodes.iter().map(|n| n.inputs.clone()).collect(),
            classes,
            values: layout.values,
            prepared,
            kernels,
            macs_per_example,
        }
    }

    /// Values of one example's input: pixels (`height·width·channels`) or token ids.
    pub fn input_elements(&self) -> usize {
        self.values[0].elements()
    }

    /// Bytes of weights held: every weighted layer's kernel layouts and the embedding tables.
    pub fn weight_bytes(&self) -> usize {
        self.prepared.iter().map(|p| p.weight_bytes()).sum()
    }
}
