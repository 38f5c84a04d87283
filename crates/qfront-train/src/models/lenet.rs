//! LeNet-style CNN: `[conv k×k (same) → BN → PACT → maxpool 2] × 2 → FC → PACT → FC`.

use super::plan::ModelPlan;
use crate::kernels::batch_norm;
use crate::kernels::max_pool2d;
use crate::layers::{PactActivation, ParamInit, QuantConv2d, QuantLinear};
use crate::spec::ModelSpec;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor};

/// A small CNN in the LeNet mould, with quantized weights and PACT activations.
#[derive(Module, Debug)]
pub struct Lenet {
    /// First conv.
    pub conv1: QuantConv2d,
    /// Its BatchNorm.
    pub bn1: BatchNorm,
    /// Its activation.
    pub act1: PactActivation,
    /// Second conv.
    pub conv2: QuantConv2d,
    /// Its BatchNorm.
    pub bn2: BatchNorm,
    /// Its activation.
    pub act2: PactActivation,
    /// Hidden FC.
    pub fc: QuantLinear,
    /// Its activation.
    pub act3: PactActivation,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// Classifier.
    pub classifier: QuantLinear,
}

impl Lenet {
    /// Builds from a validated spec and its plan.
    pub fn new(spec: &ModelSpec, plan: &ModelPlan, init: &mut ParamInit, device: &Device) -> Self {
        let [conv1, conv2, fc, classifier] = &plan.layers[..] else {
            unreachable!("a LeNet plan has four layers")
        };
        Self {
            conv1: conv1.conv2d(init, device),
            bn1: BatchNormConfig::new(conv1.out_channels()).init(device),
            act1: conv1.activation(spec, device),
            conv2: conv2.conv2d(init, device),
            bn2: BatchNormConfig::new(conv2.out_channels()).init(device),
            act2: conv2.activation(spec, device),
            fc: fc.linear(init, device),
            act3: fc.activation(spec, device),
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: classifier.linear(init, device),
        }
    }

    /// Logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = max_pool2d(
            self.act1
                .forward(batch_norm(&self.bn1, self.conv1.forward(x))),
            2,
            2,
        );
        let x = max_pool2d(
            self.act2
                .forward(batch_norm(&self.bn2, self.conv2.forward(x))),
            2,
            2,
        );
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.act3.forward(self.fc.forward(x));
        self.classifier.forward(self.dropout.forward(x))
    }
}
