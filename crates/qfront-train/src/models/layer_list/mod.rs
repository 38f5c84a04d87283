//! Models written as a list of layers (`[model] layers = [...]` in TOML), resolved against
//! the input shape into concrete layers that QAT trains and the runtime executes.
//!
//! ```toml
//! [model]
//! layers = [
//!   { type = "conv2d", name = "conv1", channels = 16, kernel = 3 },  # padding kernel/2, stride 1
//!   { type = "batch_norm" },
//!   { type = "relu" },                                               # PACT at the study's bits
//!   { type = "max_pool", kernel = 2 },
//!   { type = "flatten" },
//!   { type = "linear", name = "fc", features = 64 },
//!   { type = "relu" },
//!   { type = "dropout", rate = 0.1 },
//!   { type = "linear" },                                             # the classifier
//! ]
//! ```
//!
//! The runtime requantizes every quantized layer's output onto the next activation's grid, so
//! the list must read: a convolution (then optionally `batch_norm`) or a linear layer, then
//! `relu`, before anything else; pooling works on activations; a `linear` reads a flattened
//! or globally pooled input; the list ends with the classifier, a `linear` whose `features`
//! are the class count (or left out). Channel and feature counts scale with the width
//! multiplier, except the classifier's. Unnamed layers are `conv1`, `conv2`, …, `fc1`, … and
//! `classifier`, the names per-layer bits use (`wbits.conv2`).

use super::layer_spec::{
    activation_names, layer_names, Groups, GroupsName, LayerSpec, DEFAULT_BUCKETS,
};
use crate::spec::Position;
use crate::{Result, TrainError};
use qfront_quant::accounting::ChannelRounding;
use std::collections::BTreeSet;

/// A layer with its shapes resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedLayer {
    /// A convolution.
    Conv2d {
        /// Name.
        name: String,
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Padding.
        padding: usize,
        /// Output `[h, w]`.
        out_hw: [usize; 2],
        /// Channel groups (1 = dense).
        groups: usize,
        /// Whether BatchNorm follows (then there is no bias).
        batch_norm: bool,
        /// First, middle or last.
        position: Position,
    },
    /// A linear layer.
    Linear {
        /// Name.
        name: String,
        /// Input features.
        in_features: usize,
        /// Output features.
        out_features: usize,
        /// The `[c, h, w]` image it reads through a flatten, if any (the runtime reads
        /// `[h, w, c]`, so export reorders the weight columns).
        flattened_from: Option<[usize; 3]>,
        /// First, middle or last.
        position: Position,
    },
    /// The embedding table.
    Embedding {
        /// Name.
        name: String,
        /// Rows (buckets + 1).
        rows: usize,
        /// Dimension.
        dim: usize,
        /// Tokens per example.
        tokens: usize,
    },
    /// A 1-D convolution over tokens.
    Conv1d {
        /// Name.
        name: String,
        /// Input features.
        in_channels: usize,
        /// Output features.
        out_channels: usize,
        /// Kernel.
        kernel: usize,
        /// Tokens.
        tokens: usize,
        /// First, middle or last.
        position: Position,
    },
    /// Pooling over tokens.
    TokenPool {
        /// Max or mean.
        mode: crate::spec::Pooling,
    },
    /// BatchNorm over `channels`.
    BatchNorm {
        /// Channels.
        channels: usize,
    },
    /// PACT after the named quantized layer.
    Relu {
        /// The layer whose output it quantizes.
        after: String,
        /// Its own name (what an `add` refers to).
        name: String,
    },
    /// A residual added to the convolution before it (inside its requantization).
    Add {
        /// Index, in the resolved list, of the `relu` whose output is added.
        from: usize,
    },
    /// Max pooling.
    MaxPool {
        /// Window.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// Average pooling onto the grid of the relu at index `grid`.
    AvgPool {
        /// Window.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Index, in the resolved list, of the relu whose activation grid the input is on.
        grid: usize,
    },
    /// Global average pooling.
    GlobalAvgPool,
    /// Flatten (a no-op after global pooling).
    Flatten,
    /// Dropout.
    Dropout {
        /// Probability.
        rate: f64,
    },
}

/// What flows between layers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Tokens(usize),
    TokenFeatures {
        tokens: usize,
        features: usize,
    },
    Image([usize; 3]),
    Vector {
        features: usize,
        from: Option<[usize; 3]>,
    },
}

fn shape_text(shape: Shape) -> String {
    match shape {
        Shape::Image([c, h, w]) => format!("{c}×{h}×{w}"),
        Shape::Vector { features, .. } => format!("{features}"),
        Shape::Tokens(t) => format!("{t} tokens"),
        Shape::TokenFeatures { tokens, features } => format!("{tokens}×{features}"),
    }
}

/// What a layer list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListInput {
    /// `[channels, height, width]` images.
    Image([usize; 3]),
    /// Token ids.
    Tokens {
        /// Tokens per example.
        tokens: usize,
        /// Distinct ids (the data's vocabulary or hash buckets + 1; 0 when unknown).
        vocabulary: usize,
    },
}

/// What a model with input `input` reads, as a layer list sees it.
pub fn list_input(input: &crate::spec::InputShape) -> ListInput {
    match input {
        crate::spec::InputShape::Image {
            channels,
            height,
            width,
        } => ListInput::Image([*channels, *height, *width]),
        crate::spec::InputShape::Tokens {
            max_tokens,
            vocabulary,
        } => ListInput::Tokens {
            tokens: *max_tokens,
            vocabulary: *vocabulary,
        },
    }
}

/// Checks that hashed ids from `buckets` buckets are what the data holds (`data_rows`
/// distinct ids; 0 = not recorded).
pub fn check_hashed_rows(buckets: usize, data_rows: usize) -> Result<()> {
    if data_rows != 0 && data_rows != buckets + 1 {
        return Err(TrainError::config(
            "buckets",
            format!(
                "the model hashes words into {buckets} buckets ({} ids with padding) but the data's ids take {data_rows} values; encode the data with the model's tokenizer",
                buckets + 1
            ),
        ));
    }
    Ok(())
}

fn bad(index: usize, layer: &LayerSpec, reason: impl Into<String>) -> TrainError {
    TrainError::config(
        format!("model.layers[{index}] ({})", kind(layer)),
        reason.into(),
    )
}

fn kind(layer: &LayerSpec) -> &'static str {
    match layer {
        LayerSpec::Conv2d { .. } => "conv2d",
        LayerSpec::Linear { .. } => "linear",
        LayerSpec::Embedding { .. } => "embedding",
        LayerSpec::Conv1d { .. } => "conv1d",
        LayerSpec::TokenPool { .. } => "token_pool",
        LayerSpec::BatchNorm => "batch_norm",
        LayerSpec::Relu { .. } => "relu",
        LayerSpec::Add { .. } => "add",
        LayerSpec::MaxPool { .. } => "max_pool",
        LayerSpec::AvgPool { .. } => "avg_pool",
        LayerSpec::GlobalAvgPool => "global_avg_pool",
        LayerSpec::Flatten => "flatten",
        LayerSpec::Dropout { .. } => "dropout",
    }
}

/// Resolves `layers` on `[channels, height, width]` images with `classes` classes at width
/// multiplier `width`, checking that the runtime can execute the list.
pub fn resolve(
    layers: &[LayerSpec],
    input: ListInput,
    classes: usize,
    width: f64,
) -> Result<Vec<ResolvedLayer>> {
    let quantized: Vec<usize> = layers
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            matches!(
                l,
                LayerSpec::Conv2d { .. }
                    | LayerSpec::Linear { .. }
                    | LayerSpec::Conv1d { .. }
                    | LayerSpec::Embedding { .. }
            )
        })
        .map(|(i, _)| i)
        .collect();
    let (Some(&first), Some(&last)) = (quantized.first(), quantized.last()) else {
        return Err(TrainError::config(
            "model.layers",
            "the list has no conv2d or linear layer; it must end with a linear classifier",
        ));
    };
    if last != layers.len() - 1 || !matches!(layers[last], LayerSpec::Linear { .. }) {
        return Err(TrainError::config(
            "model.layers",
            "the list must end with the classifier, a linear layer (nothing after it)",
        ));
    }
    let scale = |c: usize| ChannelRounding::Nearest.scale(c, width);
    let mut out = Vec::with_capacity(layers.len());
    let mut seen = BTreeSet::new();
    let names = layer_names(layers);
    let (mut shape, data_rows) = match input {
        ListInput::Image(image) => (Shape::Image(image), 0),
        ListInput::Tokens { tokens, vocabulary } => (Shape::Tokens(tokens), vocabulary),
    };
    if matches!(shape, Shape::Tokens(_))
        != matches!(layers.first(), Some(LayerSpec::Embedding { .. }))
    {
        return Err(TrainError::config(
            "model.layers",
            match shape {
                Shape::Tokens(_) => "text data needs an embedding as the first layer",
                _ => "an embedding reads text; image data starts with conv2d, flatten or a pool",
            },
        ));
    }
    // The quantized layer whose output still waits for its ReLU (and whether BN came).
    let mut raw: Option<(String, bool, bool)> = None; // (name, is_conv, has_batch_norm)
                                                      // Whether that layer already has its residual added; the relus seen, by name.
    let mut added = false;
    let mut relus: std::collections::BTreeMap<String, (usize, Shape)> = Default::default();
    let relu_names = activation_names(layers);
    // The relu whose activation grid the current value is on (pooling keeps the grid).
    let mut grid: Option<usize> = None;
    for (i, layer) in layers.iter().enumerate() {
        let position = if i == first {
            Position::First
        } else if i == last {
            Position::Last
        } else {
            Position::Middle
        };
        if let Some((name, _, _)) = &raw {
            if !matches!(
                layer,
                LayerSpec::Relu { .. } | LayerSpec::BatchNorm | LayerSpec::Add { .. }
            ) {
                return Err(bad(i, layer, format!("'{name}' must be followed by relu (after an optional batch_norm and add) before anything else: the runtime requantizes its output onto the activation grid")));
            }
        }
        let resolved = match layer {
            LayerSpec::Conv2d { channels, kernel, stride, padding, groups, .. } => {
                let Shape::Image([c, h, w]) = shape else {
                    return Err(bad(i, layer, "reads an image, but its input is already flat"));
                };
                if *channels == 0 || *kernel == 0 || *stride == 0 {
                    return Err(bad(i, layer, "channels, kernel and stride must be positive"));
                }
                let padding = padding.unwrap_or(kernel / 2);
                let out_size = |n: usize| (n + 2 * padding).checked_sub(*kernel).map(|v| v / stride + 1);
                let (Some(oh), Some(ow)) = (out_size(h), out_size(w)) else {
                    return Err(bad(i, layer, format!("a {kernel}×{kernel} kernel does not fit the {h}×{w} input with padding {padding}")));
                };
                let name = names[i].clone().expect("a convolution has a name");
                let out_channels = scale(*channels);
                let groups = match groups {
                    None => 1,
                    Some(Groups::Count(g)) => *g,
                    Some(Groups::Named(GroupsName::Depthwise)) => {
                        if out_channels != c {
                            return Err(bad(i, layer, format!("a depthwise convolution keeps its input's {c} channels, but channels gives {out_channels}; set channels to the input's")));
                        }
                        c
                    }
                };
                if groups == 0 || c % groups != 0 || out_channels % groups != 0 {
                    return Err(bad(i, layer, format!("{groups} groups must divide the {c} input and {out_channels} output channels")));
                }
                shape = Shape::Image([out_channels, oh, ow]);
                raw = Some((name.clone(), true, false));
                ResolvedLayer::Conv2d {
                    name,
                    in_channels: c,
                    out_channels,
                    kernel: *kernel,
                    stride: *stride,
                    padding,
                    out_hw: [oh, ow],
                    groups,
                    batch_norm: false,
                    position,
                }
            }
            LayerSpec::Embedding {
                dim,
                buckets,
                vocabulary,
                ..
            } => {
                let Shape::Tokens(tokens) = shape else {
                    return Err(bad(i, layer, "is the first layer of a text model"));
                };
                if *dim == 0 || *buckets == Some(0) {
                    return Err(bad(i, layer, "dim and buckets must be positive"));
                }
                let rows = match (vocabulary, buckets) {
                    (Some(_), Some(_)) => {
                        return Err(bad(i, layer, "give either buckets (hashed words) or a vocabulary, not both"))
                    }
                    (Some(_), None) => {
                        if data_rows < 2 {
                            return Err(bad(i, layer, "a vocabulary embedding needs text encoded with its vocabulary"));
                        }
                        data_rows
                    }
                    (None, buckets) => {
                        let buckets = buckets.unwrap_or(DEFAULT_BUCKETS);
                        check_hashed_rows(buckets, data_rows)
                            .map_err(|e| bad(i, layer, e.to_string()))?;
                        buckets + 1
                    }
                };
                let dim = scale(*dim);
                shape = Shape::TokenFeatures { tokens, features: dim };
                ResolvedLayer::Embedding {
                    name: names[i].clone().expect("an embedding has a name"),
                    rows,
                    dim,
                    tokens,
                }
            }
            LayerSpec::Conv1d { channels, kernel, .. } => {
                let Shape::TokenFeatures { tokens, features } = shape else {
                    return Err(bad(i, layer, "reads token features (after the embedding), before token_pool"));
                };
                if *channels == 0 || kernel % 2 == 0 {
                    return Err(bad(i, layer, "channels must be positive and the kernel odd"));
                }
                let name = names[i].clone().expect("a convolution has a name");
                let out_channels = scale(*channels);
                shape = Shape::TokenFeatures { tokens, features: out_channels };
                raw = Some((name.clone(), false, false));
                ResolvedLayer::Conv1d { name, in_channels: features, out_channels, kernel: *kernel, tokens, position }
            }
            LayerSpec::TokenPool { mode } => {
                let Shape::TokenFeatures { features, .. } = shape else {
                    return Err(bad(i, layer, "pools token features"));
                };
                shape = Shape::Vector { features, from: None };
                ResolvedLayer::TokenPool { mode: *mode }
            }
            LayerSpec::Linear { features, .. } => {
                let Shape::Vector { features: in_features, from } = shape else {
                    return Err(bad(i, layer, "reads a vector: put flatten or global_avg_pool before it"));
                };
                let is_last = i == last;
                let out_features = match (features, is_last) {
                    (Some(f), true) if *f != classes => {
                        return Err(bad(i, layer, format!("the classifier has {f} features but the data has {classes} classes; leave features out")))
                    }
                    (_, true) => classes,
                    (Some(0), false) => return Err(bad(i, layer, "features must be positive")),
                    (Some(f), false) => scale(*f),
                    (None, false) => return Err(bad(i, layer, "give its features (only the last linear layer takes the class count)")),
                };
                let name = names[i].clone().expect("a linear layer has a name");
                shape = Shape::Vector { features: out_features, from: None };
                if !is_last {
                    raw = Some((name.clone(), false, false));
                }
                ResolvedLayer::Linear { name, in_features, out_features, flattened_from: from, position }
            }
            LayerSpec::BatchNorm => match (&mut raw, out.last_mut()) {
                (Some((_, true, bn @ false)), Some(ResolvedLayer::Conv2d { out_channels, batch_norm, .. })) if !added => {
                    *bn = true;
                    *batch_norm = true;
                    ResolvedLayer::BatchNorm { channels: *out_channels }
                }
                _ => return Err(bad(i, layer, "goes directly after a conv2d (BatchNorm is folded into the convolution's requantization)")),
            },
            LayerSpec::Relu { .. } => match raw.take() {
                Some((after, _, _)) => {
                    added = false;
                    let name = relu_names[i].clone().expect("a relu has a name");
                    if relus.insert(name.clone(), (out.len(), shape)).is_some() {
                        return Err(bad(i, layer, format!("the name '{name}' is used twice")));
                    }
                    ResolvedLayer::Relu { after, name }
                }
                None => return Err(bad(i, layer, "follows a conv2d, batch_norm or linear layer (one activation per quantized layer)")),
            },
            LayerSpec::Add { from } => {
                if !matches!(raw, Some((_, true, _))) || added {
                    return Err(bad(i, layer, "goes after a conv2d (and its batch_norm), before its relu: the runtime adds the residual inside the convolution's requantization"));
                }
                let Some(&(index, from_shape)) = relus.get(from) else {
                    return Err(bad(i, layer, format!("there is no earlier relu named '{from}'; relus are named by `name` or relu1, relu2, … in order")));
                };
                if from_shape != shape {
                    return Err(bad(i, layer, format!("'{from}' has shape {} but the convolution before the add has {}; the shapes must match", shape_text(from_shape), shape_text(shape))));
                }
                added = true;
                ResolvedLayer::Add { from: index }
            }
            LayerSpec::MaxPool { kernel, stride } | LayerSpec::AvgPool { kernel, stride } => {
                let Shape::Image([c, h, w]) = shape else {
                    return Err(bad(i, layer, "pools an image, but its input is flat"));
                };
                let stride = stride.unwrap_or(*kernel);
                if *kernel == 0 || stride == 0 || *kernel > h || *kernel > w {
                    return Err(bad(i, layer, format!("a {kernel}×{kernel} window with stride {stride} does not fit the {h}×{w} input")));
                }
                shape = Shape::Image([c, (h - kernel) / stride + 1, (w - kernel) / stride + 1]);
                match layer {
                    LayerSpec::AvgPool { .. } => {
                        let Some(grid) = grid else {
                            return Err(bad(i, layer, "averages activations: put it after a relu (and any max_pool), where the runtime knows the grid to round the mean onto"));
                        };
                        ResolvedLayer::AvgPool { kernel: *kernel, stride, grid }
                    }
                    _ => ResolvedLayer::MaxPool { kernel: *kernel, stride },
                }
            }
            LayerSpec::GlobalAvgPool => {
                let Shape::Image([c, _, _]) = shape else {
                    return Err(bad(i, layer, "pools an image, but its input is flat"));
                };
                shape = Shape::Vector { features: c, from: None };
                ResolvedLayer::GlobalAvgPool
            }
            LayerSpec::Flatten => {
                if matches!(shape, Shape::TokenFeatures { .. } | Shape::Tokens(_)) {
                    return Err(bad(i, layer, "token features are pooled with token_pool, not flattened"));
                }
                if let Shape::Image([c, h, w]) = shape {
                    shape = Shape::Vector { features: c * h * w, from: Some([c, h, w]) };
                }
                ResolvedLayer::Flatten
            }
            LayerSpec::Dropout { rate } => {
                if !(0.0..1.0).contains(rate) {
                    return Err(bad(i, layer, format!("rate {rate} must be in [0, 1)")));
                }
                ResolvedLayer::Dropout { rate: *rate }
            }
        };
        if let ResolvedLayer::Conv2d { name, .. }
        | ResolvedLayer::Conv1d { name, .. }
        | ResolvedLayer::Embedding { name, .. }
        | ResolvedLayer::Linear { name, .. } = &resolved
        {
            if !seen.insert(name.clone()) {
                return Err(bad(i, layer, format!("the name '{name}' is used twice")));
            }
        }
        grid = match (&resolved, grid) {
            (ResolvedLayer::Relu { .. }, _) => Some(out.len()),
            (
                ResolvedLayer::MaxPool { .. }
                | ResolvedLayer::AvgPool { .. }
                | ResolvedLayer::Flatten,
                g,
            ) => g,
            _ => None,
        };
        out.push(resolved);
    }
    // A global or mean token pool must feed a linear layer directly (the runtime hands it
    // sums to divide).
    for (i, layer) in out.iter().enumerate() {
        if matches!(
            layer,
            ResolvedLayer::GlobalAvgPool
                | ResolvedLayer::TokenPool {
                    mode: crate::spec::Pooling::Mean
                }
        ) {
            let next = out[i + 1..]
                .iter()
                .find(|l| !matches!(l, ResolvedLayer::Flatten | ResolvedLayer::Dropout { .. }));
            if !matches!(next, Some(ResolvedLayer::Linear { .. })) {
                return Err(TrainError::config(
                    format!("model.layers[{i}]"),
                    "a global or mean pool must be followed by a linear layer",
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
