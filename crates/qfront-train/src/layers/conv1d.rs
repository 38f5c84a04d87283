//! Quantized 1-D convolution over token sequences, weights `[out, in, k]`, "same" padding.

use super::init::ParamInit;
use super::quant_weight::QuantWeight;
use crate::kernels::conv2d;
use crate::quantize::WeightQuantizer;
use burn::module::{Module, Param};
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

    /// `[batch, in, len] → [batch, out, len]`, as a `1×k` conv2d over a height-1 image (the
    /// fused kernel's path; both reshapes are views).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, channels, length] = x.dims();
        let weight = self.weight.quantized();
        let [out_channels, in_channels, kernel] = weight.dims();
        let options = ConvOptions::new([1, 1], [0, self.kernel / 2], [1, 1], 1);
        let output = conv2d(
            x.reshape([batch, channels, 1, length]),
            weight.reshape([out_channels, in_channels, 1, kernel]),
            Some(self.bias.val()),
            options,
        );
        output.reshape([batch, out_channels, length])
    }
}
