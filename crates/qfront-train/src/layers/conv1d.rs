//! Quantized 1-D convolution over token sequences, weights `[out, in, k]`, "same" padding.

use super::init::ParamInit;
use super::quant_weight::QuantWeight;
use crate::quantize::WeightQuantizer;
use burn::module::{Module, Param};
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};
use qfront_quant::BitWidth;

/// A conv1d layer with quantized weights and a float bias.
#[derive(Module, Debug)]
pub struct QuantConv1d {
    /// Weights.
    pub weight: QuantWeight<3>,
    /// Bias.
    pub bias: Param<Tensor<1>>,
    /// Kernel width (odd).
    #[module(skip)]
    pub kernel: usize,
}

impl QuantConv1d {
    /// A new convolution; `kernel` must be odd so that "same" padding is symmetric.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        quantizer: WeightQuantizer,
        bits: BitWidth,
        init: &mut ParamInit,
        device: &Device,
    ) -> Self {
        let fan_in = in_channels * kernel;
        Self {
            weight: QuantWeight::init(
                [out_channels, in_channels, kernel],
                fan_in,
                quantizer,
                bits,
                init,
                device,
            ),
            bias: Param::from_tensor(init.uniform(
                [out_channels],
                1.0 / (fan_in as f32).sqrt(),
                device,
            )),
            kernel,
        }
    }

    /// `[batch, in, len] → [batch, out, len]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let options = ConvOptions::new([1], [self.kernel / 2], [1], 1);
        conv1d(x, self.weight.quantized(), Some(self.bias.val()), options)
    }
}
