//! One recipe for a model: the family, its sizes, the width multiplier and the precision, each
//! optional, with the documented defaults filled in one place. `qfront train` (flags) and
//! studies (named settings) both build their [`ModelSpec`] through [`Recipe::spec`], so the
//! same model comes out of the same choices.
//!
//! | family | sizes (default) |
//! |---|---|
//! | `mlp` | hidden widths (256, 128) |
//! | `lenet` | conv channels (16, 32), hidden FC 128, kernel 5 |
//! | `resnet20` | stage channels (16, 32, 64), 3 blocks per stage |
//! | `nlu` | embedding 64, hidden 128, 1 conv block, kernel 3, max pooling, 4096 buckets |
//!
//! Precision: weights 4 bits (middle layers), activations 4 bits, first and last layers 8 bits
//! (32 when the middle layers are float), SAWB middle weights, min-max edge weights, PACT
//! α₀ = 4 with the paper's gradient; width multiplier 1; no dropout.

use crate::data::tokenizer::HashingTokenizer;
use crate::quantize::WeightQuantizer;
use crate::spec::{
    InputShape, LayerBitsOverride, ModelFamily, ModelSpec, NluBlock, Pooling, QuantSpec,
};
use crate::{Result, TrainError};
use qfront_quant::quantizers::pact::PactGradient;
use std::collections::BTreeMap;

/// The built-in model families by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyName {
    /// Multi-layer perceptron (images).
    Mlp,
    /// LeNet-style CNN (images).
    Lenet,
    /// ResNet-20-style CNN (images).
    Resnet20,
    /// On-device NLU intent model (text).
    Nlu,
    /// The user's layer list (images; `models::layer_list`).
    Layers,
}

impl FamilyName {
    /// Every name, as written in configs and on the command line.
    pub const NAMES: [&'static str; 5] = ["mlp", "lenet", "resnet20", "nlu", "layers"];

    /// Parses a name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "mlp" => Self::Mlp,
            "lenet" => Self::Lenet,
            "resnet20" => Self::Resnet20,
            "nlu" => Self::Nlu,
            "layers" => Self::Layers,
            other => {
                return Err(TrainError::config(
                    "family",
                    format!("'{other}' is not one of {}", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Lenet => "lenet",
            Self::Resnet20 => "resnet20",
            Self::Nlu => "nlu",
            Self::Layers => "layers",
        }
    }

    /// Whether the family reads text.
    pub fn is_text(self) -> bool {
        self == Self::Nlu
    }
}

/// The choices of a model; `None` takes the default of the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// The family.
    pub family: FamilyName,
    /// The layer list (family `layers`).
    pub layers: Option<Vec<crate::models::LayerSpec>>,
    /// The trained weights a layer list starts from (an imported ONNX model).
    pub pretrained: Option<crate::models::PretrainedSource>,
    /// MLP hidden widths.
    pub mlp_hidden: Option<Vec<usize>>,
    /// LeNet conv channels.
    pub lenet_channels: [Option<usize>; 2],
    /// Hidden FC width (LeNet) or block width (NLU).
    pub hidden: Option<usize>,
    /// Conv kernel (LeNet, NLU).
    pub kernel: Option<usize>,
    /// ResNet stage channels.
    pub stage_channels: [Option<usize>; 3],
    /// ResNet basic blocks per stage.
    pub blocks_per_stage: Option<usize>,
    /// NLU embedding dimension.
    pub embedding_dim: Option<usize>,
    /// NLU number of blocks.
    pub blocks: Option<usize>,
    /// NLU block type.
    pub block: Option<NluBlock>,
    /// NLU pooling over tokens.
    pub pooling: Option<Pooling>,
    /// NLU hash buckets.
    pub buckets: Option<usize>,
    /// Width multiplier on every hidden size.
    pub width: Option<f64>,
    /// Dropout before the classifier.
    pub dropout: Option<f64>,
    /// Weight bits of the middle layers (2..=8, 32 = float).
    pub weight_bits: Option<u32>,
    /// Activation bits.
    pub activation_bits: Option<u32>,
    /// First-layer weight bits.
    pub first_layer_bits: Option<u32>,
    /// Last-layer weight bits.
    pub last_layer_bits: Option<u32>,
    /// Per-layer overrides by layer name.
    pub per_layer: BTreeMap<String, LayerBitsOverride>,
    /// Middle-layer weight quantizer.
    pub weight_quantizer: Option<WeightQuantizer>,
    /// First/last-layer weight quantizer.
    pub edge_weight_quantizer: Option<WeightQuantizer>,
    /// PACT gradient.
    pub pact_gradient: Option<PactGradient>,
    /// Initial PACT clip.
    pub alpha_init: Option<f64>,
}

impl Recipe {
    /// Every choice at its default.
    pub fn new(family: FamilyName) -> Self {
        Self {
            family,
            layers: None,
            pretrained: None,
            mlp_hidden: None,
            lenet_channels: [None; 2],
            hidden: None,
            kernel: None,
            stage_channels: [None; 3],
            blocks_per_stage: None,
            embedding_dim: None,
            blocks: None,
            block: None,
            pooling: None,
            buckets: None,
            width: None,
            dropout: None,
            weight_bits: None,
            activation_bits: None,
            first_layer_bits: None,
            last_layer_bits: None,
            per_layer: BTreeMap::new(),
            weight_quantizer: None,
            edge_weight_quantizer: None,
            pact_gradient: None,
            alpha_init: None,
        }
    }

    /// The validated spec of this recipe on inputs of `input` with `classes` classes.
    pub fn spec(&self, input: InputShape, classes: usize) -> Result<ModelSpec> {
        // A layer list reads text or images by its first layer (checked when it resolves).
        let text = matches!(input, InputShape::Tokens { .. });
        if self.family != FamilyName::Layers && self.family.is_text() != text {
            return Err(TrainError::config(
                "family",
                format!(
                    "{} cannot read {} data: use nlu for text and mlp, lenet, resnet20 or a layer list for images",
                    self.family.name(),
                    if text { "text" } else { "image" }
                ),
            ));
        }
        let family = match self.family {
            FamilyName::Mlp => ModelFamily::Mlp {
                hidden: self.mlp_hidden.clone().unwrap_or_else(|| vec![256, 128]),
            },
            FamilyName::Lenet => ModelFamily::Lenet {
                channels: [
                    self.lenet_channels[0].unwrap_or(16),
                    self.lenet_channels[1].unwrap_or(32),
                ],
                hidden: self.hidden.unwrap_or(128),
                kernel: self.kernel.unwrap_or(5),
            },
            FamilyName::Resnet20 => ModelFamily::Resnet {
                stage_channels: [
                    self.stage_channels[0].unwrap_or(16),
                    self.stage_channels[1].unwrap_or(32),
                    self.stage_channels[2].unwrap_or(64),
                ],
                blocks_per_stage: self.blocks_per_stage.unwrap_or(3),
            },
            FamilyName::Layers => ModelFamily::Layers {
                layers: self.layers.clone().ok_or_else(|| {
                    TrainError::config(
                        "model",
                        "the layers family needs a layer list ([model] layers = [...])",
                    )
                })?,
                pretrained: self.pretrained.clone(),
            },
            FamilyName::Nlu => ModelFamily::Nlu {
                buckets: self.buckets.unwrap_or(HashingTokenizer::default().buckets),
                embedding_dim: self.embedding_dim.unwrap_or(64),
                block: self.block.unwrap_or(NluBlock::Conv),
                blocks: self.blocks.unwrap_or(1),
                hidden: self.hidden.unwrap_or(128),
                kernel: self.kernel.unwrap_or(3),
                pooling: self.pooling.unwrap_or(Pooling::Max),
            },
        };
        let weight_bits = self.weight_bits.unwrap_or(4);
        let edge_default = if weight_bits == 32 { 32 } else { 8 };
        let spec = ModelSpec {
            family,
            width_multiplier: self.width.unwrap_or(1.0),
            input,
            classes,
            quant: QuantSpec {
                weight_bits,
                activation_bits: self.activation_bits.unwrap_or(4),
                first_layer_bits: self.first_layer_bits.unwrap_or(edge_default),
                last_layer_bits: self.last_layer_bits.unwrap_or(edge_default),
                per_layer: self.per_layer.clone(),
                weight_quantizer: self.weight_quantizer.unwrap_or_default(),
                edge_weight_quantizer: self
                    .edge_weight_quantizer
                    .unwrap_or_else(|| QuantSpec::default().edge_weight_quantizer),
                pact_gradient: self.pact_gradient.unwrap_or(PactGradient::Paper),
                pact_alpha_init: self.alpha_init.unwrap_or(4.0),
            },
            dropout: self.dropout.unwrap_or(0.0),
        };
        spec.validate()?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let image = InputShape::Image {
            channels: 1,
            height: 8,
            width: 8,
        };
        let spec = Recipe::new(FamilyName::Mlp)
            .spec(image.clone(), 10)
            .unwrap();
        assert_eq!(
            spec.family,
            ModelFamily::Mlp {
                hidden: vec![256, 128]
            }
        );
        assert_eq!(
            (
                spec.quant.weight_bits,
                spec.quant.activation_bits,
                spec.quant.first_layer_bits,
                spec.quant.last_layer_bits
            ),
            (4, 4, 8, 8)
        );
        assert_eq!(spec.quant.pact_alpha_init, 4.0);
        let mut float = Recipe::new(FamilyName::Lenet);
        float.weight_bits = Some(32);
        float.activation_bits = Some(32);
        let spec = float.spec(image.clone(), 10).unwrap();
        assert_eq!(
            (spec.quant.first_layer_bits, spec.quant.last_layer_bits),
            (32, 32)
        );
        let err = Recipe::new(FamilyName::Nlu)
            .spec(image, 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nlu cannot read image data"), "{err}");
    }
}
