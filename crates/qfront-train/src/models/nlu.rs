//! On-device NLU intent model: hashed word embeddings → `blocks` × (conv1d or per-token
//! linear) + PACT → masked pooling over tokens → classifier.

use super::plan::ModelPlan;
use crate::layers::{PactActivation, ParamInit, QuantConv1d, QuantEmbedding, QuantLinear};
use crate::spec::{ModelFamily, ModelSpec, NluBlock, Pooling};
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Int, Tensor};

/// One token-mixing block.
#[derive(Module, Debug)]
pub enum TokenBlock {
    /// 1-D convolution over tokens.
    Conv(QuantConv1d),
    /// Per-token fully connected layer.
    Mlp(QuantLinear),
}

/// The intent classifier.
#[derive(Module, Debug)]
pub struct Nlu {
    /// Hashed word embeddings (`buckets + 1` rows; row 0 is padding).
    pub embedding: QuantEmbedding,
    /// Blocks.
    pub blocks: Vec<TokenBlock>,
    /// Their activations.
    pub activations: Vec<PactActivation>,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// Classifier.
    pub classifier: QuantLinear,
    /// Pooling over tokens.
    #[module(skip)]
    pub pooling: Pooling,
}

impl Nlu {
    /// Builds from a validated spec and its plan.
    pub fn new(spec: &ModelSpec, plan: &ModelPlan, init: &mut ParamInit, device: &Device) -> Self {
        let ModelFamily::Nlu { block, pooling, .. } = &spec.family else {
            unreachable!("validated")
        };
        let (embedding, rest) = plan
            .layers
            .split_first()
            .expect("an NLU plan has an embedding");
        let (classifier, token_blocks) = rest.split_last().expect("an NLU plan has a classifier");
        Self {
            embedding: embedding.embedding(init, device),
            blocks: token_blocks
                .iter()
                .map(|l| match block {
                    NluBlock::Conv => TokenBlock::Conv(l.conv1d(init, device)),
                    NluBlock::Mlp => TokenBlock::Mlp(l.linear(init, device)),
                })
                .collect(),
            activations: token_blocks
                .iter()
                .map(|l| l.activation(spec, device))
                .collect(),
            dropout: DropoutConfig::new(spec.dropout).init(),
            classifier: classifier.linear(init, device),
            pooling: *pooling,
        }
    }

    /// Logits from ids `[batch, tokens]` and mask `[batch, tokens]`.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let [batch, tokens] = ids.dims();
        let mut h = self.embedding.forward(ids); // [b, t, d]
        for (block, act) in self.blocks.iter().zip(&self.activations) {
            h = match block {
                TokenBlock::Conv(conv) => {
                    act.forward(conv.forward(h.swap_dims(1, 2))).swap_dims(1, 2)
                }
                TokenBlock::Mlp(fc) => {
                    let d = h.dims()[2];
                    let flat: Tensor<2> = h.reshape([batch * tokens, d]);
                    let out = act.forward(fc.forward(flat));
                    let w = out.dims()[1];
                    out.reshape([batch, tokens, w])
                }
            };
        }
        let pooled = super::sequential::pool_tokens(h, mask, self.pooling == Pooling::Mean);
        self.classifier.forward(self.dropout.forward(pooled))
    }
}
