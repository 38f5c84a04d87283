//! LeNet-style CNN: `[conv k×k (same) → BN → PACT → maxpool 2] × 2 → FC → PACT → FC`.

use crate::layers::{PactActivation, ParamInit, QuantConv2d, QuantLinear};
use crate::spec::{InputShape, ModelFamily, ModelSpec, Position};
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
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
    /// Builds from a validated spec.
    pub fn new(spec: &ModelSpec, init: &mut ParamInit, device: &Device) -> Self {
        let ModelFamily::Lenet {
            channels,
            hidden,
            kernel,
        } = &spec.family
        else {
            unreachable!("validated")
        };
        let InputShape::Image {
            channels: cin,
            height,
            width,
        } = spec.input
        else {
            unreachable!("validated")
        };
        let q = spec.quant.weight_quantizer;
        let (c1, c2, h) = (
            spec.scaled(channels[0]),
            spec.scaled(channels[1]),
            spec.scaled(*hidden),
        );
        let p1 = spec.precision("conv1", Position::First);
        let p2 = spec.precision("conv2", Position::Middle);
        let p3 = spec.precision("fc", Position::Middle);
        let p4 = spec.precision("classifier", Position::Last);
        let flat = c2 * (height / 4) * (width / 4);
        Self {
            conv1: QuantConv2d::new(
                cin,
                c1,
                *kernel,
                1,
                kernel / 2,
                false,
                q,
                p1.weight_bits,
                init,
                device,
            ),
            bn1: BatchNormConfig::new(c1).init(device),
            act1: super::pact(spec, p1.activation_bits, device),
            conv2: QuantConv2d::new(
                c1,
                c2,
                *kernel,
                1,
                kernel / 2,
                false,
                q,
                p2.weight_bits,
                init,
                device,
            ),
            bn2: BatchNormConfig::new(c2).init(device),
            act2: super::pact(spec, p2.activation_bits, device),
            fc: QuantLinear::new(flat, h, q, p3.weight_bits, init, device),
            act3: super::pact(spec, p3.activation_bits, device),
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: QuantLinear::new(h, spec.classes, q, p4.weight_bits, init, device),
        }
    }

    /// Logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let pool = MaxPoolOptions::new([2, 2]);
        let x = max_pool2d(
            self.act1.forward(self.bn1.forward(self.conv1.forward(x))),
            pool.clone(),
        );
        let x = max_pool2d(
            self.act2.forward(self.bn2.forward(self.conv2.forward(x))),
            pool,
        );
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.act3.forward(self.fc.forward(x));
        self.classifier.forward(self.dropout.forward(x))
    }
}
