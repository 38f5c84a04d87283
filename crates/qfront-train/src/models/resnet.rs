//! ResNet-20-style CNN (He et al. 2016, CIFAR variant): a 3×3 stem, three stages of basic
//! blocks at `stage_channels` (scaled by the width multiplier), the 2nd and 3rd stage
//! starting with stride 2, option-A shortcuts (subsample and zero-pad the channels, no
//! parameters), global average pooling and a classifier.

use super::plan::ModelPlan;
use crate::kernels::batch_norm;
use crate::layers::{PactActivation, ParamInit, QuantConv2d, QuantLinear};
use crate::spec::ModelSpec;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig};
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d};
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor};
use qfront_quant::accounting::LayerOp;

/// One basic block: conv-BN-PACT-conv-BN, shortcut add, PACT.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// First conv (carries the stride).
    pub conv1: QuantConv2d,
    /// BN.
    pub bn1: BatchNorm,
    /// Activation.
    pub act1: PactActivation,
    /// Second conv.
    pub conv2: QuantConv2d,
    /// BN.
    pub bn2: BatchNorm,
    /// Activation after the add.
    pub act2: PactActivation,
    /// Stride of the block.
    #[module(skip)]
    pub stride: usize,
    /// Channels added by the shortcut's zero padding.
    #[module(skip)]
    pub pad_channels: usize,
}

impl BasicBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = self
            .act1
            .forward(batch_norm(&self.bn1, self.conv1.forward(x.clone())));
        let h = batch_norm(&self.bn2, self.conv2.forward(h));
        let mut shortcut = if self.stride > 1 {
            avg_pool2d(x, AvgPoolOptions::new([1, 1]).with_stride([self.stride; 2]))
        } else {
            x
        };
        if self.pad_channels > 0 {
            let [b, _, hh, ww] = shortcut.dims();
            let zeros = Tensor::zeros([b, self.pad_channels, hh, ww], &shortcut.device());
            shortcut = Tensor::cat(vec![shortcut, zeros], 1);
        }
        self.act2.forward(h + shortcut)
    }
}

/// The ResNet.
#[derive(Module, Debug)]
pub struct Resnet {
    /// Stem conv.
    pub stem: QuantConv2d,
    /// Stem BN.
    pub stem_bn: BatchNorm,
    /// Stem activation.
    pub stem_act: PactActivation,
    /// All blocks in order.
    pub blocks: Vec<BasicBlock>,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// Classifier.
    pub classifier: QuantLinear,
}

impl Resnet {
    /// Builds from a validated spec and its plan.
    pub fn new(spec: &ModelSpec, plan: &ModelPlan, init: &mut ParamInit, device: &Device) -> Self {
        let (stem, rest) = plan.layers.split_first().expect("a ResNet plan has a stem");
        let (classifier, convs) = rest.split_last().expect("a ResNet plan has a classifier");
        // Layers are initialised in forward order, so the seed maps to the same weights.
        let stem_conv = stem.conv2d(init, device);
        let blocks = convs
            .chunks(2)
            .map(|pair| {
                let [conv1, conv2] = pair else {
                    unreachable!("blocks hold two convolutions")
                };
                let LayerOp::Conv2d {
                    in_channels,
                    out_channels,
                    ..
                } = conv1.op
                else {
                    unreachable!("a block starts with a conv2d")
                };
                BasicBlock {
                    conv1: conv1.conv2d(init, device),
                    bn1: BatchNormConfig::new(out_channels).init(device),
                    act1: conv1.activation(spec, device),
                    conv2: conv2.conv2d(init, device),
                    bn2: BatchNormConfig::new(out_channels).init(device),
                    act2: conv2.activation(spec, device),
                    stride: conv1.stride,
                    pad_channels: out_channels.saturating_sub(in_channels),
                }
            })
            .collect();
        Self {
            stem: stem_conv,
            stem_bn: BatchNormConfig::new(stem.out_channels()).init(device),
            stem_act: stem.activation(spec, device),
            blocks,
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: classifier.linear(init, device),
        }
    }

    /// Logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = self
            .stem_act
            .forward(batch_norm(&self.stem_bn, self.stem.forward(x)));
        for block in &self.blocks {
            h = block.forward(h);
        }
        let pooled: Tensor<2> = adaptive_avg_pool2d(h, [1, 1]).flatten(1, 3);
        self.classifier.forward(self.dropout.forward(pooled))
    }
}
