//! Quantized 2-D convolution, weights `[out, in/groups, kh, kw]`.

use super::init::ParamInit;
use super::quant_weight::QuantWeight;
use crate::kernels::conv2d;
use crate::quantize::WeightQuantizer;
use burn::module::{Module, Param};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};
use qfront_quant::BitWidth;

/// A conv2d layer with quantized weights and an optional float bias.
#[derive(Module, Debug)]
pub struct QuantConv2d {
    /// Weights.
    pub weight: QuantWeight<4>,
    /// Bias (absent when BatchNorm follows).
    pub bias: Option<Param<Tensor<1>>>,
    /// Stride.
    #[module(skip)]
    pub stride: usize,
    /// Zero padding on each side.
    #[module(skip)]
    pub padding: usize,
    /// Channel groups (1 = dense); the weight is `[out, in/groups, k, k]`.
    #[module(skip)]
    pub groups: usize,
}

impl QuantConv2d {
    /// A new square-kernel convolution with `groups` channel groups (validated: dividing
    /// both channel counts).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        groups: usize,
        bias: bool,
        quantizer: WeightQuantizer,
        bits: BitWidth,
        init: &mut ParamInit,
        device: &Device,
    ) -> Self {
        let fan_in = in_channels / groups * kernel * kernel;
        Self {
            weight: QuantWeight::init(
                [out_channels, in_channels / groups, kernel, kernel],
                fan_in,
                quantizer,
                bits,
                init,
                device,
            ),
            bias: bias.then(|| {
                Param::from_tensor(init.uniform(
                    [out_channels],
                    1.0 / (fan_in as f32).sqrt(),
                    device,
                ))
            }),
            stride,
            padding,
            groups,
        }
    }

    /// `[batch, in, h, w] → [batch, out, h', w']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let options = ConvOptions::new([self.stride; 2], [self.padding; 2], [1, 1], self.groups);
        conv2d(
            x,
            self.weight.quantized(),
            self.bias.as_ref().map(|b| b.val()),
            options,
        )
    }
}
