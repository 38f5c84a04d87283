//! ResNet-20-style CNN (He et al. 2016, CIFAR variant): a 3×3 stem, three stages of basic
//! blocks at `stage_channels` (scaled by the width multiplier), the 2nd and 3rd stage
//! starting with stride 2, option-A shortcuts (subsample and zero-pad the channels, no
//! parameters), global average pooling and a classifier.

use crate::layers::{PactActivation, ParamInit, QuantConv2d, QuantLinear};
use crate::spec::{InputShape, ModelFamily, ModelSpec, Position};
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig};
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d};
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor};

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
            .forward(self.bn1.forward(self.conv1.forward(x.clone())));
        let h = self.bn2.forward(self.conv2.forward(h));
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
    /// Builds from a validated spec.
    pub fn new(spec: &ModelSpec, init: &mut ParamInit, device: &Device) -> Self {
        let ModelFamily::Resnet {
            stage_channels,
            blocks_per_stage,
        } = &spec.family
        else {
            unreachable!("validated")
        };
        let InputShape::Image { channels: cin, .. } = spec.input else {
            unreachable!("validated")
        };
        let q = spec.quant.weight_quantizer;
        let widths: Vec<usize> = stage_channels.iter().map(|&c| spec.scaled(c)).collect();
        let p = spec.precision("stem", Position::First);
        let stem = QuantConv2d::new(
            cin,
            widths[0],
            3,
            1,
            1,
            false,
            q,
            p.weight_bits,
            init,
            device,
        );
        let stem_act = super::pact(spec, p.activation_bits, device);
        let mut blocks = Vec::new();
        let mut c_prev = widths[0];
        for (s, &c) in widths.iter().enumerate() {
            for b in 0..*blocks_per_stage {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let n1 = format!("stage{}.block{b}.conv1", s + 1);
                let n2 = format!("stage{}.block{b}.conv2", s + 1);
                let (p1, p2) = (
                    spec.precision(&n1, Position::Middle),
                    spec.precision(&n2, Position::Middle),
                );
                blocks.push(BasicBlock {
                    conv1: QuantConv2d::new(
                        c_prev,
                        c,
                        3,
                        stride,
                        1,
                        false,
                        q,
                        p1.weight_bits,
                        init,
                        device,
                    ),
                    bn1: BatchNormConfig::new(c).init(device),
                    act1: super::pact(spec, p1.activation_bits, device),
                    conv2: QuantConv2d::new(c, c, 3, 1, 1, false, q, p2.weight_bits, init, device),
                    bn2: BatchNormConfig::new(c).init(device),
                    act2: super::pact(spec, p2.activation_bits, device),
                    stride,
                    pad_channels: c.saturating_sub(c_prev),
                });
                c_prev = c;
            }
        }
        let pl = spec.precision("classifier", Position::Last);
        Self {
            stem,
            stem_bn: BatchNormConfig::new(widths[0]).init(device),
            stem_act,
            blocks,
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: QuantLinear::new(c_prev, spec.classes, q, pl.weight_bits, init, device),
        }
    }

    /// Logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = self
            .stem_act
            .forward(self.stem_bn.forward(self.stem.forward(x)));
        for block in &self.blocks {
            h = block.forward(h);
        }
        let pooled: Tensor<2> = adaptive_avg_pool2d(h, [1, 1]).flatten(1, 3);
        self.classifier.forward(self.dropout.forward(pooled))
    }
}
