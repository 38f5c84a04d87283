//! The layers of a layer-list model as written (`[model] layers = [...]` in TOML, see
//! [`super::layer_list`]), the names they go by, and reading them from a file.

use crate::data::token_encoder::{TextEncoding, VocabularyPlan};
use crate::data::tokenizer::HashingTokenizer;
use crate::data::vocabulary::{Vocabulary, VocabularyBuild};
use crate::{Result, TrainError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One layer as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// 2-D convolution, square kernel, weights quantized.
    Conv2d {
        /// Name (default `conv<i>`).
        #[serde(default)]
        name: Option<String>,
        /// Output channels at width multiplier 1.
        channels: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride (default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding on each side (default `kernel / 2`).
        #[serde(default)]
        padding: Option<usize>,
        /// Channel groups (default 1): a number dividing the input and output channels, or
        /// `"depthwise"` (one group per input channel; `channels` equals the input's).
        #[serde(default)]
        groups: Option<Groups>,
    },
    /// Fully connected layer, weights quantized.
    Linear {
        /// Name (default `fc<i>`, or `classifier` for the last).
        #[serde(default)]
        name: Option<String>,
        /// Output features at width multiplier 1 (the class count for the last layer).
        #[serde(default)]
        features: Option<usize>,
    },
    /// Word embeddings of token ids (the first layer of a text model): hashed words (rows =
    /// buckets + the padding row) or a word vocabulary (one row per word).
    Embedding {
        /// Name (default `embedding`).
        #[serde(default)]
        name: Option<String>,
        /// Embedding dimension at width multiplier 1.
        dim: usize,
        /// Hash buckets (default 4096 when no vocabulary is given); the data is tokenized
        /// with the same count.
        #[serde(default)]
        buckets: Option<usize>,
        /// A word vocabulary instead of hashing: built from the training split
        /// (`vocabulary = { min_count = 2, max_words = 20000 }`, `{}` for the defaults) or
        /// read from a file of one token per line (`vocabulary = "vocab.txt"`, relative to
        /// the model file).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vocabulary: Option<VocabularySpec>,
    },
    /// 1-D convolution over tokens ("same" padding), weights quantized, with a bias.
    Conv1d {
        /// Name (default `conv<i>`).
        #[serde(default)]
        name: Option<String>,
        /// Output channels at width multiplier 1.
        channels: usize,
        /// Kernel (odd).
        kernel: usize,
    },
    /// Pooling over the real (non-padding) tokens: `max` or `mean`.
    TokenPool {
        /// `max` or `mean`.
        mode: crate::spec::Pooling,
    },
    /// BatchNorm after a convolution (folded into its requantization at export).
    BatchNorm,
    /// ReLU, trained as PACT: clipped at a learned α and quantized.
    Relu {
        /// Name (default `relu<i>`), the one an `add` refers to.
        #[serde(default)]
        name: Option<String>,
    },
    /// Residual connection: adds the output of an earlier `relu` (named by `from`) to the
    /// convolution (and BatchNorm) before it; a `relu` follows. The shapes must match.
    Add {
        /// The name of the earlier `relu` whose output is added.
        from: String,
    },
    /// Max pooling without padding.
    MaxPool {
        /// Window.
        kernel: usize,
        /// Stride (default: the window).
        #[serde(default)]
        stride: Option<usize>,
    },
    /// Average pooling without padding, reading activations (after a `relu`): the mean is
    /// rounded half up onto the activation grid, in training as in the runtime.
    AvgPool {
        /// Window.
        kernel: usize,
        /// Stride (default: the window).
        #[serde(default)]
        stride: Option<usize>,
    },
    /// Mean over the spatial positions, one value per channel.
    GlobalAvgPool,
    /// `[c, h, w]` → `[c·h·w]`.
    Flatten,
    /// Dropout (training only).
    Dropout {
        /// Drop probability in `[0, 1)`.
        rate: f64,
    },
}

/// The channel groups of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Groups {
    /// This many groups.
    Count(usize),
    /// One group per input channel.
    Named(GroupsName),
}

/// Named group counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupsName {
    /// One group per input channel (MobileNet's depthwise convolution).
    Depthwise,
}

fn one() -> usize {
    1
}

/// A layer-list file: `[model] layers = [...]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerListFile {
    /// The `[model]` table.
    pub model: LayerListTable,
}

/// The `[model]` table of a layer-list file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerListTable {
    /// The layers in order.
    pub layers: Vec<LayerSpec>,
}

/// The name each layer goes by, the one per-layer settings use: its own, or the default —
/// `conv<i>` counting conv2d and conv1d layers, `fc<i>` counting linear layers, `classifier`
/// for a final linear layer, `embedding`. `None` for layers without weights.
pub fn layer_names(layers: &[LayerSpec]) -> Vec<Option<String>> {
    let (mut convs, mut linears) = (0, 0);
    let last = layers.len().saturating_sub(1);
    layers
        .iter()
        .enumerate()
        .map(|(i, layer)| match layer {
            LayerSpec::Conv2d { name, .. } | LayerSpec::Conv1d { name, .. } => {
                convs += 1;
                Some(name.clone().unwrap_or_else(|| format!("conv{convs}")))
            }
            LayerSpec::Linear { name, .. } => {
                linears += 1;
                Some(name.clone().unwrap_or_else(|| {
                    if i == last {
                        "classifier".into()
                    } else {
                        format!("fc{linears}")
                    }
                }))
            }
            LayerSpec::Embedding { name, .. } => {
                Some(name.clone().unwrap_or_else(|| "embedding".into()))
            }
            _ => None,
        })
        .collect()
}

/// Sets the size of the layer named `layer`: the channels of a convolution (`channels`
/// true) or the features of a hidden linear layer. Errors when the list has no such layer.
pub fn set_layer_size(
    layers: &mut [LayerSpec],
    layer: &str,
    channels: bool,
    value: usize,
) -> Result<()> {
    let names = layer_names(layers);
    let last = layers.len().saturating_sub(1);
    for (i, spec) in layers.iter_mut().enumerate() {
        if names[i].as_deref() != Some(layer) {
            continue;
        }
        match spec {
            LayerSpec::Conv2d { channels: c, .. } | LayerSpec::Conv1d { channels: c, .. }
                if channels =>
            {
                *c = value;
                return Ok(());
            }
            LayerSpec::Linear { features, .. } if !channels && i != last => {
                *features = Some(value);
                return Ok(());
            }
            _ => {}
        }
    }
    Err(TrainError::config(
        if channels { "channels" } else { "features" },
        format!(
            "the layer list has no {} named '{layer}'",
            if channels {
                "convolution"
            } else {
                "hidden linear layer"
            }
        ),
    ))
}

/// Parses a layer-list TOML text; errors name the offending key.
pub fn parse_layer_list(text: &str) -> Result<Vec<LayerSpec>> {
    toml::from_str::<LayerListFile>(text)
        .map(|f| f.model.layers)
        .map_err(|e| TrainError::config("model file", e.message().to_string()))
}

/// Reads a layer-list TOML file.
pub fn read_layer_list(path: &Path) -> Result<Vec<LayerSpec>> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut layers = parse_layer_list(&text)
        .map_err(|e| TrainError::config(path.display().to_string(), e.to_string()))?;
    resolve_vocabulary_paths(&mut layers, path.parent().unwrap_or_else(|| Path::new(".")));
    Ok(layers)
}

/// The name each `relu` goes by, the one an `add` names in `from`: its own, or `relu<i>`
/// counting relus from 1. `None` for other layers.
pub fn activation_names(layers: &[LayerSpec]) -> Vec<Option<String>> {
    let mut relus = 0;
    layers
        .iter()
        .map(|layer| match layer {
            LayerSpec::Relu { name } => {
                relus += 1;
                Some(name.clone().unwrap_or_else(|| default_relu_name(relus)))
            }
            _ => None,
        })
        .collect()
}

/// The default name of the `count`-th relu (from 1): `relu<count>`.
pub(crate) fn default_relu_name(count: usize) -> String {
    format!("relu{count}")
}

/// Where a vocabulary embedding's words come from, as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum VocabularySpec {
    /// A file of one token per line, line `k` naming row `k` (see [`Vocabulary::read`]).
    File(PathBuf),
    /// Built from the training split.
    Build(VocabularyBuild),
}

/// How a layer list's text input is encoded, keeping `max_tokens` words: its embedding's
/// hash buckets or vocabulary (`None`: the list has no embedding).
pub fn text_encoding(layers: &[LayerSpec], max_tokens: usize) -> Result<Option<TextEncoding>> {
    let Some((buckets, vocabulary)) = layers.iter().find_map(|l| match l {
        LayerSpec::Embedding {
            buckets,
            vocabulary,
            ..
        } => Some((buckets, vocabulary)),
        _ => None,
    }) else {
        return Ok(None);
    };
    Ok(Some(match vocabulary {
        None => TextEncoding::Hashed(HashingTokenizer {
            buckets: buckets.unwrap_or(DEFAULT_BUCKETS),
            max_tokens,
        }),
        Some(VocabularySpec::Build(build)) => {
            build.validate("embedding vocabulary")?;
            TextEncoding::Vocabulary {
                max_tokens,
                vocabulary: VocabularyPlan::Build(*build),
            }
        }
        Some(VocabularySpec::File(path)) => TextEncoding::Vocabulary {
            max_tokens,
            vocabulary: VocabularyPlan::Given(Arc::new(Vocabulary::read(path)?)),
        },
    }))
}

/// Makes the embedding's vocabulary file path absolute against `base` (the folder of the file
/// that names it).
pub fn resolve_vocabulary_paths(layers: &mut [LayerSpec], base: &Path) {
    for layer in layers {
        if let LayerSpec::Embedding {
            vocabulary: Some(VocabularySpec::File(path)),
            ..
        } = layer
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

/// Default hash buckets of an `embedding` layer (the tokenizer's default).
pub const DEFAULT_BUCKETS: usize = 4096;
