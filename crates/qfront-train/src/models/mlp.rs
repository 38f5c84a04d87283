//! MLP: flatten, `[linear → PACT] × hidden`, linear classifier.

use crate::layers::{PactActivation, ParamInit, QuantLinear};
use crate::spec::{InputShape, ModelFamily, ModelSpec, Position};
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor};

/// A multi-layer perceptron with quantized weights and PACT activations.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden layers.
    pub layers: Vec<QuantLinear>,
    /// Their activations.
    pub activations: Vec<PactActivation>,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// Classifier.
    pub classifier: QuantLinear,
}

impl Mlp {
    /// Builds from a validated spec.
    pub fn new(spec: &ModelSpec, init: &mut ParamInit, device: &Device) -> Self {
        let ModelFamily::Mlp { hidden } = &spec.family else {
            unreachable!("validated")
        };
        let InputShape::Image {
            channels,
            height,
            width,
        } = spec.input
        else {
            unreachable!("validated")
        };
        let q = spec.quant.weight_quantizer;
        let mut features = channels * height * width;
        let (mut layers, mut activations) = (Vec::new(), Vec::new());
        for (i, &h) in hidden.iter().enumerate() {
            let name = format!("fc{i}");
            let p = spec.precision(
                &name,
                if i == 0 {
                    Position::First
                } else {
                    Position::Middle
                },
            );
            let out = spec.scaled(h);
            layers.push(QuantLinear::new(
                features,
                out,
                q,
                p.weight_bits,
                init,
                device,
            ));
            activations.push(super::pact(spec, p.activation_bits, device));
            features = out;
        }
        let p = spec.precision(
            "classifier",
            if hidden.is_empty() {
                Position::First
            } else {
                Position::Last
            },
        );
        Self {
            layers,
            activations,
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: QuantLinear::new(features, spec.classes, q, p.weight_bits, init, device),
        }
    }

    /// Logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h: Tensor<2> = x.flatten(1, 3);
        for (layer, act) in self.layers.iter().zip(&self.activations) {
            h = act.forward(layer.forward(h));
        }
        self.classifier.forward(self.dropout.forward(h))
    }
}
