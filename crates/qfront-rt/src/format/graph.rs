//! The model graph stored in a `.qfm` file: nodes in topological order, each naming the
//! nodes it reads. Large arrays (packed weights) live in the blob that follows the header and
//! are referenced by byte ranges; per-channel parameters are stored inline.
//!
//! Integer conventions (every op follows them, see `docs/qfm-format.md`):
//! * an activation is a u8 code `u` with real value `scale·(u − zero_point)`, `bits` wide;
//! * a weight is a signed b-bit code `c` with real value `scale_o·(c − zero_point_x2_o/2)`
//!   (the zero point is stored doubled so the no-zero grids, whose levels are odd multiples of
//!   half a step, stay integral);
//! * a layer accumulates `acc_o = 2·Σ c·u − zero_point_x2_o·Σ u` in i32, adds its bias
//!   `bias_o·2^(−bias_fraction_bits)`, then either requantizes
//!   `u_out = clamp(round((acc_o + bias)·M_o) + z_out, 0, 2^bits − 1)` with a fixed-point
//!   multiplier `M_o = multiplier_o·2^(−shift_o)` or emits float logits `scale_o·(acc_o + bias)`.

use serde::{Deserialize, Serialize};

/// Current version of the format written by this crate.
pub const FORMAT_VERSION: u32 = 1;

/// A whole model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QfmModel {
    /// Free-form name.
    pub name: String,
    /// Which tool wrote it (e.g. `qfront 0.1.0`).
    pub producer: String,
    /// What the model consumes.
    pub input: InputSpec,
    /// Nodes in topological order; node 0 is the [`Op::Input`].
    pub nodes: Vec<Node>,
    /// Class names (empty when unknown).
    #[serde(default)]
    pub labels: Vec<String>,
}

/// The model input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InputSpec {
    /// Images in `[height, width, channels]` order, quantized to u8 as
    /// `u = clamp(round(x/scale) + zero_point, 0, 255)`.
    Image {
        /// Height.
        height: usize,
        /// Width.
        width: usize,
        /// Channels.
        channels: usize,
        /// Step of the input grid (1/16 for UCI digits, 1/255 for 8-bit images).
        scale: f32,
        /// Code of the real value 0.
        zero_point: i32,
    },
    /// Token ids, `max_tokens` per example, 0 = padding; ids below `vocabulary`.
    Tokens {
        /// Tokens per example.
        max_tokens: usize,
        /// Rows of the embedding table.
        vocabulary: usize,
        /// The word of each row when the ids index a word vocabulary (row 0 padding, one
        /// row the unknown word); empty when the ids are hashed words (`1 + FNV-1a-64(word)
        /// mod (vocabulary − 1)`, see `docs/qfm-format.md`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        words: Vec<String>,
    },
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Name (the training layer it came from).
    pub name: String,
    /// Indices of the nodes it reads (all smaller than its own index).
    pub inputs: Vec<usize>,
    /// What it computes.
    pub op: Op,
}

/// A byte range in the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRange {
    /// Offset from the start of the blob.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// A quantized weight matrix `[rows, columns]`: one row per output channel (or embedding
/// row), densely bit-packed (`qfront_quant::packing`), row after row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSpec {
    /// Weight bits, 2..=8.
    pub bits: u32,
    /// Rows (output channels).
    pub rows: usize,
    /// Columns (inputs per output).
    pub columns: usize,
    /// Packed codes.
    pub data: BlobRange,
    /// Step per row, or one step for the whole matrix.
    pub scale: Vec<f32>,
    /// Doubled zero point per row, or one for the whole matrix.
    pub zero_point_x2: Vec<i32>,
}

/// Activation quantization of a node's output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationSpec {
    /// Bits, 2..=8.
    pub bits: u32,
    /// Real value of one code step (PACT: `α/(2^bits − 1)`).
    pub scale: f32,
    /// Code of the real value 0 (0 after PACT).
    pub zero_point: i32,
}

/// What a weighted layer does with its accumulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OutputStage {
    /// Requantize to a u8 activation with fixed-point multipliers.
    Requantize {
        /// Mantissas `m_o` (per channel or one): `M_o = m_o·2^(−shift_o)`.
        multiplier: Vec<i32>,
        /// Shifts (per channel or one), 1..=62.
        shift: Vec<u32>,
        /// For a layer with a residual input: mantissas of `scale_residual/scale_out`, on the
        /// same shifts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        residual_multiplier: Option<Vec<i32>>,
        /// The output activation.
        output: ActivationSpec,
    },
    /// Float logits `scale_o·acc_o` (the classifier).
    Logits {
        /// Scale per output (or one).
        scale: Vec<f32>,
    },
}

/// A weighted layer's parameters: weights, i32 bias (in accumulator units) and output stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerParams {
    /// Weights.
    pub weights: WeightSpec,
    /// Bias per output, in units of `2^(−bias_fraction_bits)` accumulator steps
    /// (zero-point corrections folded in).
    pub bias: Vec<i32>,
    /// Fractional bits of the bias, 0..=24: low-bit weights make one accumulator step coarse,
    /// so the bias keeps finer resolution than the products.
    #[serde(default)]
    pub bias_fraction_bits: u32,
    /// Requantization or logits.
    pub output: OutputStage,
}

/// Pooling over the tokens of an utterance (padding excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenPooling {
    /// Mean over real tokens (emits sums and counts; the next layer divides).
    Mean,
    /// Max over real tokens.
    Max,
}

/// The operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// The model input (node 0 only).
    Input,
    /// Fully connected: input `[features]` (or `[tokens, features]`, applied per token, or a
    /// pooled sum); weights `[out, features]`.
    Linear {
        /// Parameters.
        #[serde(flatten)]
        params: LayerParams,
    },
    /// 2-D convolution on `[height, width, channels]` (or 1-D over `[tokens, features]`, read as
    /// `[1, tokens, features]`); weights `[out, kh·kw·in/groups]` in
    /// `(kh, kw, in)` order. Padding is filled with the input's zero point. A second input,
    /// when present, is a residual added before requantization.
    Conv2d {
        /// Kernel `[kh, kw]`.
        kernel: [usize; 2],
        /// Stride `[sh, sw]`.
        stride: [usize; 2],
        /// Zero padding `[ph, pw]` on each side.
        padding: [usize; 2],
        /// Groups (1 = dense, `in` = depthwise).
        groups: usize,
        /// Parameters.
        #[serde(flatten)]
        params: LayerParams,
    },
    /// Max pooling without padding.
    MaxPool2d {
        /// Window.
        kernel: [usize; 2],
        /// Stride.
        stride: [usize; 2],
    },
    /// Average pooling without padding; the mean is rounded half up to the input grid.
    AvgPool2d {
        /// Window.
        kernel: [usize; 2],
        /// Stride.
        stride: [usize; 2],
    },
    /// Global average pooling: emits per-channel sums and the count; the next layer divides.
    GlobalAvgPool,
    /// Appends channels holding the zero point (option-A shortcuts of ResNets).
    PadChannels {
        /// Channels added.
        extra: usize,
    },
    /// `[h, w, c]` → `[h·w·c]` (a view; no data moves).
    Flatten,
    /// Embedding lookup of token ids: `[tokens]` → `[tokens, dim]`.
    Embedding {
        /// The table `[vocabulary, dim]`.
        weights: WeightSpec,
    },
    /// Pooling over tokens: `[tokens, dim]` → `[dim]` (max) or sums (mean).
    TokenPool {
        /// Mean or max.
        mode: TokenPooling,
    },
}
