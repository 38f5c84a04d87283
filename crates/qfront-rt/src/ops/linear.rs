//! Fully connected layers: `[features]` → `[outputs]`, applied per token to
//! `[tokens, features]`, or a classifier on pooled sums (mean pooling's division folded into
//! its scale).

use super::weighted_layer::{layer_output_type, validate_layer, PreparedLayer};
use super::{CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::{LayerParams, OutputStage, ValueType};
use crate::kernels::KernelSet;
use crate::Result;
use std::sync::Arc;

/// A linear layer's parameters.
pub(crate) struct Linear<'a> {
    /// Weights, bias and output stage.
    pub params: &'a LayerParams,
}

impl Operator for Linear<'_> {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let params = self.params;
        let columns = params.weights.columns;
        validate_layer(cx, params, columns)?;
        let rows = params.weights.rows;
        if let ValueType::PooledSum { features, .. } = cx.input() {
            cx.ensure(*features == columns, || {
                format!("input has {features} features, weights {columns} columns")
            })?;
            cx.ensure(matches!(params.output, OutputStage::Logits { .. }), || {
                "a pooled-sum input must feed a layer with a logits output".into()
            })?;
            return Ok(layer_output_type(params, vec![rows]));
        }
        let (shape, _) = cx.quantized("linear")?;
        let (leading, features) = match shape[..] {
            [f] => (None, f),
            [t, f] => (Some(t), f),
            _ => {
                return Err(cx.fail(format!(
                "linear needs [features] or [tokens, features], got {shape:?}; insert a flatten"
            )))
            }
        };
        cx.ensure(features == columns, || {
            format!("input has {features} features, weights {columns} columns")
        })?;
        match leading {
            Some(tokens) => {
                cx.ensure(
                    matches!(params.output, OutputStage::Requantize { .. }),
                    || "a per-token linear layer must requantize".into(),
                )?;
                Ok(layer_output_type(params, vec![tokens, rows]))
            }
            None => Ok(layer_output_type(params, vec![rows])),
        }
    }

    fn prepare(
        &self,
        node: &NodeTypes<'_>,
        blob: &[u8],
        kernels: KernelSet,
    ) -> Box<dyn PreparedOp> {
        let input = node.input();
        let pooled = matches!(input, ValueType::PooledSum { .. });
        // A classifier on pooled sums runs scalar (`logits_from_sums`): it keeps the
        // row-major codes of the reference set.
        let kernels = if pooled {
            KernelSet::Reference
        } else {
            kernels
        };
        Box::new(PreparedLinear {
            layer: PreparedLayer::new(self.params, 1, blob, kernels),
            pooled,
            logits: matches!(node.output, ValueType::Logits { .. }),
            input_elements: input.elements(),
        })
    }

    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        let w = &self.params.weights;
        let rows_in = node.input().elements() / w.columns.max(1);
        let multiply_adds = rows_in * w.rows * w.columns;
        Cost {
            name: "linear",
            parameters: vec![w.rows],
            weight_bits: w.bits,
            work: multiply_adds as f64,
            multiply_adds,
        }
    }
}

/// A linear layer ready to run.
#[derive(Debug)]
struct PreparedLinear {
    layer: PreparedLayer,
    /// Reads pooled sums (and emits logits).
    pooled: bool,
    /// Emits float logits rather than codes.
    logits: bool,
    /// Input elements per example (a multiple of the columns: one GEMM row per token).
    input_elements: usize,
}

impl PreparedOp for PreparedLinear {
    fn run(&self, cx: RunContext<'_>) {
        let RunContext {
            batch,
            input,
            output,
            scratch,
            ..
        } = cx;
        let layer = &self.layer;
        if self.pooled {
            output.logits.resize(batch * layer.rows, 0.0);
            layer.logits_from_sums(&input.sums, &input.counts, &mut output.logits);
            return;
        }
        let m_rows = batch * self.input_elements / layer.columns;
        if self.logits {
            scratch.accumulators.resize(m_rows * layer.rows, 0);
            layer.accumulate(
                &input.codes,
                m_rows,
                &mut scratch.products,
                &mut scratch.accumulators,
                &mut scratch.kernel,
                &mut scratch.row_sums,
            );
            output.logits.resize(m_rows * layer.rows, 0.0);
            layer.logits(&scratch.accumulators, &mut output.logits);
        } else {
            output.codes.resize(m_rows * layer.rows, 0);
            layer.requantize_group(
                0,
                &input.codes,
                m_rows,
                None,
                &mut scratch.products,
                &mut scratch.row_sums,
                &mut scratch.kernel,
                &mut output.codes,
            );
        }
    }

    fn weight_bytes(&self) -> usize {
        self.layer.weight_bytes()
    }

    fn share_thread_pool(&mut self, pool: &Arc<crate::kernels::spin_pool::SpinPool>) {
        self.layer.share_thread_pool(pool);
    }
}
