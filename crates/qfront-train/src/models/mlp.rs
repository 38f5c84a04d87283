//! MLP: flatten, `[linear → PACT] × hidden`, linear classifier.

use super::plan::ModelPlan;
use crate::layers::{PactActivation, ParamInit, QuantLinear};
use crate::spec::ModelSpec;
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
    /// Builds from a validated spec and its plan.
    pub fn new(spec: &ModelSpec, plan: &ModelPlan, init: &mut ParamInit, device: &Device) -> Self {
        let (classifier, hidden) = plan.layers.split_last().expect("a plan has a classifier");
        Self {
            layers: hidden.iter().map(|l| l.linear(init, device)).collect(),
            activations: hidden.iter().map(|l| l.activation(spec, device)).collect(),
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: classifier.linear(init, device),
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
