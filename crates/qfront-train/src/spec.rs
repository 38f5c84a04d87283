//! The serialisable description of a model: family, sizes, width multiplier and precision.

use crate::quantize::{LayerPrecision, WeightQuantizer};
use crate::{Result, TrainError};
use qfront_quant::accounting::ChannelRounding;
use qfront_quant::quantizers::minmax::MinMaxMode;
use qfront_quant::quantizers::pact::{PactGradient, PACT_ALPHA_INIT};
use qfront_quant::BitWidth;
use std::collections::BTreeMap;

/// What the model consumes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InputShape {
    /// Images `[channels, height, width]`, values scaled to [0, 1].
    Image {
        /// Channels.
        channels: usize,
        /// Height.
        height: usize,
        /// Width.
        width: usize,
    },
    /// Token ids `[max_tokens]`, 0 = padding, each below `vocabulary`.
    Tokens {
        /// Tokens kept per utterance.
        max_tokens: usize,
        /// Distinct ids, the rows of the embedding table: hash buckets + 1, or the size of a
        /// word vocabulary. (0 in specs written before vocabularies: hashed ids.)
        #[serde(default)]
        vocabulary: usize,
    },
}

/// How the NLU model mixes token features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NluBlock {
    /// 1-D convolutions over tokens.
    Conv,
    /// Per-token MLP.
    Mlp,
}

/// How token features are pooled into one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Mean over real tokens.
    Mean,
    /// Max over real tokens.
    Max,
}

/// The model families. Hidden sizes are given at width multiplier 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum ModelFamily {
    /// Fully connected layers with PACT activations.
    Mlp {
        /// Hidden widths.
        hidden: Vec<usize>,
    },
    /// LeNet-style: two conv(k×k)+BN+PACT+maxpool stages, a hidden FC layer, a classifier.
    Lenet {
        /// Channels of the two conv stages.
        channels: [usize; 2],
        /// Hidden FC width.
        hidden: usize,
        /// Kernel size (odd).
        kernel: usize,
    },
    /// ResNet-20 style: a 3×3 stem, three stages of basic blocks (the 2nd and 3rd halve the
    /// resolution), option-A shortcuts, global average pooling, a classifier.
    Resnet {
        /// Channels of the three stages (16/32/64 for ResNet-20).
        stage_channels: [usize; 3],
        /// Basic blocks per stage (3 for ResNet-20).
        blocks_per_stage: usize,
    },
    /// A list of layers written by the user (`models::layer_list`), images only.
    Layers {
        /// The layers in order; the last is the linear classifier.
        layers: Vec<crate::models::LayerSpec>,
        /// The trained float weights QAT starts from (an imported ONNX model).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pretrained: Option<crate::models::PretrainedSource>,
    },
    /// On-device intent classifier: hashed word embeddings, `blocks` conv or MLP blocks,
    /// pooling over tokens, a classifier.
    Nlu {
        /// Hash buckets of the embedding table (plus one padding row).
        buckets: usize,
        /// Embedding dimension.
        embedding_dim: usize,
        /// Block type.
        block: NluBlock,
        /// Number of blocks.
        blocks: usize,
        /// Block width.
        hidden: usize,
        /// Conv kernel (odd; ignored for MLP blocks).
        kernel: usize,
        /// Pooling.
        pooling: Pooling,
    },
}

/// Precision and quantizer settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantSpec {
    /// Weight bits of the middle layers (2..=8, or 32).
    pub weight_bits: u32,
    /// Activation bits (2..=8, or 32).
    pub activation_bits: u32,
    /// Weight bits of the first layer (default 8, methods-spec §1.5).
    pub first_layer_bits: u32,
    /// Weight bits of the last layer (default 8).
    pub last_layer_bits: u32,
    /// Per-layer overrides by layer name (mixed precision).
    #[serde(default)]
    pub per_layer: BTreeMap<String, LayerBitsOverride>,
    /// Weight quantizer of the middle layers.
    #[serde(default)]
    pub weight_quantizer: WeightQuantizer,
    /// Weight quantizer of the first and last layers (default symmetric min-max, i.e. the
    /// scale max|w|). SAWB's linear fit undershoots the optimal clip at 8 bits by up to 31%
    /// (methods-spec §2.5: uniform 1.415 vs 1.725), and with the clipped STE the clipped
    /// weights stop learning; at the 8 bits the edge layers use, rounding error is already
    /// small, so the unclipped max scale is the better choice (measured on SNIPS: W4A4 0.967
    /// with SAWB edges, 0.976 with min-max edges, FP32 0.980; BENCHMARKS.md).
    #[serde(default = "edge_weight_quantizer_default")]
    pub edge_weight_quantizer: WeightQuantizer,
    /// PACT gradient rule.
    #[serde(default)]
    pub pact_gradient: PactGradient,
    /// Initial PACT clip.
    pub pact_alpha_init: f64,
}

/// The default quantizer of the first and last layers: symmetric min-max per tensor.
pub fn edge_weight_quantizer_default() -> WeightQuantizer {
    WeightQuantizer::MinMax {
        mode: MinMaxMode::Symmetric,
    }
}

/// Per-layer bit override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerBitsOverride {
    /// Weight bits.
    pub weight_bits: Option<u32>,
    /// Bits of the activation after the layer.
    pub activation_bits: Option<u32>,
}

impl Default for QuantSpec {
    fn default() -> Self {
        Self {
            weight_bits: 4,
            activation_bits: 4,
            first_layer_bits: 8,
            last_layer_bits: 8,
            per_layer: BTreeMap::new(),
            weight_quantizer: WeightQuantizer::default(),
            edge_weight_quantizer: edge_weight_quantizer_default(),
            pact_gradient: PactGradient::Paper,
            pact_alpha_init: PACT_ALPHA_INIT,
        }
    }
}

/// Where a layer sits in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// First layer.
    First,
    /// Middle layer.
    Middle,
    /// Classifier.
    Last,
}

/// A full model description.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Family and sizes.
    pub family: ModelFamily,
    /// Width multiplier on hidden sizes (1 = as given).
    pub width_multiplier: f64,
    /// Input.
    pub input: InputShape,
    /// Number of classes.
    pub classes: usize,
    /// Precision.
    pub quant: QuantSpec,
    /// Dropout before the classifier.
    #[serde(default)]
    pub dropout: f64,
}

fn bits_or_full(bits: u32, name: &str) -> Result<BitWidth> {
    if bits == 32 {
        return Ok(BitWidth::FULL);
    }
    BitWidth::new(bits).map_err(|_| {
        TrainError::config(
            name,
            format!("{bits} is not a supported bit width; use 2..=8, or 32 for full precision"),
        )
    })
}

impl ModelSpec {
    /// Checks every field once; models are built only from checked specs.
    pub fn validate(&self) -> Result<()> {
        let q = &self.quant;
        bits_or_full(q.weight_bits, "wbits")?;
        bits_or_full(q.activation_bits, "abits")?;
        bits_or_full(q.first_layer_bits, "first-layer bits")?;
        bits_or_full(q.last_layer_bits, "last-layer bits")?;
        for (layer, o) in &q.per_layer {
            if let Some(b) = o.weight_bits {
                bits_or_full(b, &format!("per_layer.{layer}.weight_bits"))?;
            }
            if let Some(b) = o.activation_bits {
                bits_or_full(b, &format!("per_layer.{layer}.activation_bits"))?;
            }
        }
        if !(self.width_multiplier.is_finite()
            && self.width_multiplier > 0.0
            && self.width_multiplier <= 16.0)
        {
            return Err(TrainError::config(
                "width multiplier",
                format!("{} must be in (0, 16]", self.width_multiplier),
            ));
        }
        if self.classes < 2 {
            return Err(TrainError::config("classes", "need at least 2 classes"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(TrainError::config(
                "dropout",
                format!("{} must be in [0, 1)", self.dropout),
            ));
        }
        if !(q.pact_alpha_init.is_finite()
            && q.pact_alpha_init >= qfront_quant::quantizers::pact::PACT_ALPHA_EPSILON)
        {
            return Err(TrainError::config(
                "pact_alpha_init",
                "must be a finite value ≥ 1e-3",
            ));
        }
        let positive = |v: usize, name: &str| {
            if v == 0 {
                Err(TrainError::config(name, "must be positive"))
            } else {
                Ok(())
            }
        };
        match (&self.family, &self.input) {
            (ModelFamily::Mlp { hidden }, InputShape::Image { .. }) => hidden.iter().try_for_each(|&h| positive(h, "mlp hidden width")),
            (ModelFamily::Lenet { channels, hidden, kernel }, InputShape::Image { height, width, .. }) => {
                channels.iter().try_for_each(|&c| positive(c, "lenet channels"))?;
                positive(*hidden, "lenet hidden")?;
                if kernel % 2 == 0 {
                    return Err(TrainError::config("lenet kernel", "must be odd"));
                }
                if *height < 4 || *width < 4 {
                    return Err(TrainError::config("input", "LeNet needs images of at least 4×4"));
                }
                Ok(())
            }
            (ModelFamily::Resnet { stage_channels, blocks_per_stage }, InputShape::Image { .. }) => {
                stage_channels.iter().try_for_each(|&c| positive(c, "resnet stage channels"))?;
                positive(*blocks_per_stage, "resnet blocks per stage")
            }
            (ModelFamily::Nlu { buckets, embedding_dim, blocks: _, hidden, kernel, .. }, InputShape::Tokens { max_tokens, vocabulary }) => {
                positive(*buckets, "nlu buckets")?;
                crate::models::check_hashed_rows(*buckets, *vocabulary)?;
                positive(*embedding_dim, "nlu embedding dim")?;
                positive(*hidden, "nlu hidden")?;
                positive(*max_tokens, "max tokens")?;
                if kernel % 2 == 0 {
                    return Err(TrainError::config("nlu kernel", "must be odd"));
                }
                Ok(())
            }
            (ModelFamily::Layers { layers, .. }, input) => {
                crate::models::resolve_layers(layers, crate::models::list_input(input), self.classes, self.width_multiplier).map(|_| ())
            }
            (ModelFamily::Nlu { .. }, _) => Err(TrainError::config("model", "the nlu model needs a text dataset (snips, hwu64, clinc150, banking77)")),
            (_, InputShape::Tokens { .. }) => Err(TrainError::config("model", "image models (mlp, lenet, resnet20) need an image dataset; use --model nlu for text")),
        }
    }

    /// `[channels, height, width]` of image inputs.
    pub fn image_shape(&self) -> Option<[usize; 3]> {
        match self.input {
            InputShape::Image {
                channels,
                height,
                width,
            } => Some([channels, height, width]),
            InputShape::Tokens { .. } => None,
        }
    }

    /// A hidden size after the width multiplier: `round(w·c)`, ties to even, at least 1.
    pub fn scaled(&self, base: usize) -> usize {
        ChannelRounding::Nearest.scale(base, self.width_multiplier)
    }

    /// Resolved precision of layer `name` at `position`.
    pub fn precision(&self, name: &str, position: Position) -> LayerPrecision {
        let q = &self.quant;
        let mut w = match position {
            Position::First => q.first_layer_bits,
            Position::Middle => q.weight_bits,
            Position::Last => q.last_layer_bits,
        };
        let mut a = q.activation_bits;
        if let Some(o) = q.per_layer.get(name) {
            w = o.weight_bits.unwrap_or(w);
            a = o.activation_bits.unwrap_or(a);
        }
        let to_bits = |b: u32| {
            if b == 32 {
                BitWidth::FULL
            } else {
                BitWidth::new(b).unwrap_or(BitWidth::FULL)
            }
        };
        LayerPrecision {
            weight_bits: to_bits(w),
            activation_bits: to_bits(a),
            weight_quantizer: match position {
                Position::Middle => q.weight_quantizer,
                Position::First | Position::Last => q.edge_weight_quantizer,
            },
        }
    }
}
