//! Quantized embedding table `[rows, dim]` (one scale for the table, or one per row with
//! per-channel SAWB).

use super::init::ParamInit;
use super::quant_weight::QuantWeight;
use crate::quantize::WeightQuantizer;
use burn::module::Module;
use burn::tensor::module::embedding;
use burn::tensor::{Device, Int, Tensor};
use qfront_quant::BitWidth;

/// An embedding lookup with quantized rows.
#[derive(Module, Debug)]
pub struct QuantEmbedding {
    /// The table.
    pub weight: QuantWeight<2>,
}

impl QuantEmbedding {
    /// A table of `rows × dim`, initialised N(0, 1) (as `torch.nn.Embedding`).
    pub fn new(
        rows: usize,
        dim: usize,
        quantizer: WeightQuantizer,
        bits: BitWidth,
        init: &mut ParamInit,
        device: &Device,
    ) -> Self {
        let table = init.normal([rows, dim], 1.0, device);
        Self {
            weight: QuantWeight::new(table, quantizer, bits, device),
        }
    }

    /// `[batch, tokens] → [batch, tokens, dim]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        embedding(self.weight.quantized(), ids)
    }
}
