//! The layers of a layer-list model as written (`[model] layers = [...]` in TOML, see
//! [`super::layer_list`]), the names they go by, and reading them from a file.

use crate::{Result, TrainError};

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
    /// Hashed word embeddings of token ids (the first layer of a text model); its rows are
    /// the tokenizer's buckets plus the padding row.
    Embedding {
        /// Name (default `embedding`).
        #[serde(default)]
        name: Option<String>,
        /// Embedding dimension at width multiplier 1.
        dim: usize,
        /// Hash buckets (default 4096); the data is tokenized with the same count.
        #[serde(default)]
        buckets: Option<usize>,
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
pub fn read_layer_list(path: &std::path::Path) -> Result<Vec<LayerSpec>> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse_layer_list(&text)
        .map_err(|e| TrainError::config(path.display().to_string(), e.to_string()))
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

/// The hash buckets a layer list's embedding uses (`None`: it has none).
pub fn embedding_buckets(layers: &[LayerSpec]) -> Option<usize> {
    layers.iter().find_map(|l| match l {
        LayerSpec::Embedding { buckets, .. } => Some(buckets.unwrap_or(DEFAULT_BUCKETS)),
        _ => None,
    })
}

/// Default hash buckets of an `embedding` layer (the tokenizer's default).
pub const DEFAULT_BUCKETS: usize = 4096;
