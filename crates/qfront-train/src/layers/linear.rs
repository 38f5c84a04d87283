//! Quantized fully connected layer: `y = x·Q(W)ᵀ + b`, `W` stored `[out, in]`.

use super::init::ParamInit;
use super::quant_weight::QuantWeight;
use crate::quantize::WeightQuantizer;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use qfront_quant::BitWidth;

/// A linear layer with quantized weights and a float bias.
#[derive(Module, Debug)]
pub struct QuantLinear {
    /// Weights `[out, in]`.
    pub weight: QuantWeight<2>,
    /// Bias `[out]`.
    pub bias: Param<Tensor<1>>,
}

impl QuantLinear {
    /// A new layer.
    pub fn new(
        in_features: usize,
        out_features: usize,
        quantizer: WeightQuantizer,
        bits: BitWidth,
        init: &mut ParamInit,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (in_features as f32).sqrt();
        Self {
            weight: QuantWeight::init(
                [out_features, in_features],
                in_features,
                quantizer,
                bits,
                init,
                device,
            ),
            bias: Param::from_tensor(init.uniform([out_features], bound, device)),
        }
    }

    /// `[batch, in] → [batch, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let w = self.weight.quantized();
        let out = x.matmul(w.transpose());
        let [_, n] = out.dims();
        out + self.bias.val().reshape([1, n])
    }
}
