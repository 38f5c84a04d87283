//! Checks a [`QfmModel`] against its blob and infers the type of every node's output. A
//! model that passes can be executed without further checks.

use super::graph::{
    ActivationSpec, InputSpec, LayerParams, Op, OutputStage, QfmModel, TokenPooling, WeightSpec,
};
use crate::{Result, RtError};
use qfront_quant::packing::{code_range, packed_len};
use qfront_quant::BitWidth;

/// Largest number of elements of one value or weight matrix.
pub const MAX_ELEMENTS: usize = 1 << 30;
/// Largest reduction length of one output (keeps `2·Σc·u` inside i32).
pub const MAX_COLUMNS: usize = 1 << 15;

/// The type of a node's output (per example; the batch dimension is implicit).
#[derive(Debug, Clone, PartialEq)]
pub enum ValueType {
    /// Token ids of the model input.
    Tokens {
        /// Tokens per example.
        count: usize,
    },
    /// A u8 activation tensor: `[h, w, c]`, `[tokens, features]` or `[features]`.
    Quantized {
        /// Shape.
        shape: Vec<usize>,
        /// Its quantization.
        activation: ActivationSpec,
    },
    /// Per-feature i32 sums with the zero point removed, to be divided by a count (mean
    /// pooling); real value `scale·sum/count`.
    PooledSum {
        /// Features.
        features: usize,
        /// Real value of one unit.
        scale: f32,
    },
    /// Float logits.
    Logits {
        /// Classes.
        classes: usize,
    },
}

impl ValueType {
    /// Elements per example.
    pub fn elements(&self) -> usize {
        match self {
            ValueType::Tokens { count } => *count,
            ValueType::Quantized { shape, .. } => shape.iter().product(),
            ValueType::PooledSum { features, .. } => *features,
            ValueType::Logits { classes } => *classes,
        }
    }
}

/// The inferred types of all nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLayout {
    /// One per node.
    pub values: Vec<ValueType>,
}

impl ModelLayout {
    /// Classes of the final logits.
    pub fn classes(&self) -> usize {
        match self.values.last() {
            Some(ValueType::Logits { classes }) => *classes,
            _ => unreachable!("validated: the last node emits logits"),
        }
    }
}

/// How an embedding table's codes become u8 activations: `u = factor·c + offset`, with the
/// activation `scale` and zero point 128 (see [`embedding_activation`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddingMapping {
    /// 1, or 2 for tables on a half-step (no-zero) grid.
    pub factor: i32,
    /// Added after scaling.
    pub offset: i32,
    /// The activation it produces.
    pub activation: ActivationSpec,
}

/// The activation an embedding table produces: `u = c − z + 128` (integral zero point) or
/// `u = 2c − z₂ + 128` at half the step (no-zero grids); `None` when the codes do not fit u8.
pub fn embedding_activation(weights: &WeightSpec) -> Option<EmbeddingMapping> {
    let z2 = *weights.zero_point_x2.first()?;
    let step = *weights.scale.first()?;
    let (lo, hi) = code_range(BitWidth::new(weights.bits).ok()?);
    let (factor, offset, scale) = if z2 % 2 == 0 {
        (1, 128 - z2 / 2, step)
    } else {
        (2, 128 - z2, step / 2.0)
    };
    let fits = |c: i32| (0..=255).contains(&(factor * c + offset));
    (fits(lo) && fits(hi)).then_some(EmbeddingMapping {
        factor,
        offset,
        activation: ActivationSpec {
            bits: 8,
            scale,
            zero_point: 128,
        },
    })
}

struct Checker<'a> {
    node: usize,
    name: &'a str,
}

impl Checker<'_> {
    fn fail(&self, reason: impl Into<String>) -> RtError {
        RtError::InvalidModel {
            node: self.node,
            name: self.name.to_string(),
            reason: reason.into(),
        }
    }

    fn ensure(&self, ok: bool, reason: impl FnOnce() -> String) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(reason()))
        }
    }

    fn per_channel_len(&self, what: &str, len: usize, rows: usize) -> Result<()> {
        self.ensure(len == 1 || len == rows, || {
            format!("{what} has {len} entries; expected 1 or one per output ({rows})")
        })
    }

    fn activation(&self, a: &ActivationSpec) -> Result<()> {
        self.ensure((2..=8).contains(&a.bits), || {
            format!("activation bits {} outside 2..=8", a.bits)
        })?;
        self.ensure(a.scale.is_finite() && a.scale > 0.0, || {
            format!("activation scale {} must be finite and positive", a.scale)
        })?;
        self.ensure(a.zero_point >= 0 && a.zero_point < (1 << a.bits), || {
            format!(
                "activation zero point {} outside 0..2^{}",
                a.zero_point, a.bits
            )
        })
    }

    fn weights(&self, w: &WeightSpec, blob_len: usize) -> Result<()> {
        let bits = BitWidth::new(w.bits)
            .map_err(|_| self.fail(format!("weight bits {} outside 2..=8", w.bits)))?;
        self.ensure(w.rows >= 1 && w.columns >= 1, || {
            "weights have an empty dimension".into()
        })?;
        let count = w
            .rows
            .checked_mul(w.columns)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| self.fail("weight matrix is too large"))?;
        let need = packed_len(count, bits) as u64;
        self.ensure(w.data.length == need, || {
            format!(
                "packed weights are {} bytes; {}×{} codes of {} bits need {need}",
                w.data.length, w.rows, w.columns, w.bits
            )
        })?;
        let end = w.data.offset.checked_add(w.data.length);
        self.ensure(end.is_some_and(|e| e <= blob_len as u64), || {
            format!(
                "weights at bytes {}..+{} lie outside the {blob_len}-byte blob",
                w.data.offset, w.data.length
            )
        })?;
        self.per_channel_len("weight scale", w.scale.len(), w.rows)?;
        self.per_channel_len("weight zero point", w.zero_point_x2.len(), w.rows)?;
        self.ensure(w.scale.iter().all(|s| s.is_finite() && *s > 0.0), || {
            "weight scales must be finite and positive".into()
        })?;
        self.ensure(w.zero_point_x2.iter().all(|z| z.abs() <= 512), || {
            "weight zero points must lie within ±256".into()
        })
    }

    fn layer(&self, p: &LayerParams, columns: usize, blob_len: usize) -> Result<()> {
        self.weights(&p.weights, blob_len)?;
        self.ensure(p.weights.columns == columns, || {
            format!(
                "weights have {} columns; the input gives {columns} per output",
                p.weights.columns
            )
        })?;
        self.ensure(columns <= MAX_COLUMNS, || {
            format!("reduction length {columns} exceeds {MAX_COLUMNS}")
        })?;
        // |2·Σc·u − z₂·Σu + bias| must stay inside i32 for every input.
        let z2_max = p
            .weights
            .zero_point_x2
            .iter()
            .map(|z| z.unsigned_abs() as u64)
            .max()
            .unwrap_or(0);
        self.ensure(p.bias_fraction_bits <= 24, || {
            format!("bias_fraction_bits {} exceeds 24", p.bias_fraction_bits)
        })?;
        let bias_max = p
            .bias
            .iter()
            .map(|b| b.unsigned_abs() as u64)
            .max()
            .unwrap_or(0)
            >> p.bias_fraction_bits;
        let bound = columns as u64 * 255 * (2 * 128 + z2_max) + bias_max + 1;
        self.ensure(bound < i32::MAX as u64, || {
            format!("the accumulator could overflow i32 (bound {bound}); split the layer or lower its bias")
        })?;
        self.ensure(p.bias.len() == p.weights.rows, || {
            format!(
                "bias has {} entries for {} outputs",
                p.bias.len(),
                p.weights.rows
            )
        })?;
        match &p.output {
            OutputStage::Requantize {
                multiplier,
                shift,
                residual_multiplier,
                output,
            } => {
                self.per_channel_len("multiplier", multiplier.len(), p.weights.rows)?;
                self.ensure(shift.len() == multiplier.len(), || {
                    "shift and multiplier lengths differ".into()
                })?;
                self.ensure(shift.iter().all(|s| (1..=62).contains(s)), || {
                    "shifts must lie in 1..=62".into()
                })?;
                if let Some(r) = residual_multiplier {
                    self.ensure(r.len() == multiplier.len(), || {
                        "residual and main multiplier lengths differ".into()
                    })?;
                }
                self.activation(output)
            }
            OutputStage::Logits { scale } => {
                self.per_channel_len("logit scale", scale.len(), p.weights.rows)?;
                self.ensure(scale.iter().all(|s| s.is_finite()), || {
                    "logit scales must be finite".into()
                })
            }
        }
    }
}

fn output_type(p: &LayerParams, shape: Vec<usize>) -> ValueType {
    match &p.output {
        OutputStage::Requantize { output, .. } => ValueType::Quantized {
            shape,
            activation: *output,
        },
        OutputStage::Logits { .. } => ValueType::Logits {
            classes: p.weights.rows,
        },
    }
}

fn pooled_dim(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = size.checked_add(2 * padding)?;
    (kernel >= 1 && stride >= 1 && padded >= kernel).then(|| (padded - kernel) / stride + 1)
}

/// Validates `model` against a blob of `blob_len` bytes and returns the node types.
pub fn validate_model(model: &QfmModel, blob_len: usize) -> Result<ModelLayout> {
    let values = validate_prefix(model, blob_len)?;
    if !matches!(values.last(), Some(ValueType::Logits { .. })) {
        return Err(RtError::InvalidModel {
            node: model.nodes.len() - 1,
            name: model
                .nodes
                .last()
                .map(|n| n.name.clone())
                .unwrap_or_default(),
            reason: "the last node must emit logits (a classifier with a logits output)".into(),
        });
    }
    Ok(ModelLayout { values })
}

/// Validates every node (a model under construction need not end in logits yet).
pub(crate) fn validate_prefix(model: &QfmModel, blob_len: usize) -> Result<Vec<ValueType>> {
    let mut values: Vec<ValueType> = Vec::with_capacity(model.nodes.len());
    if model.nodes.is_empty() {
        return Err(RtError::format("the graph has no nodes"));
    }
    for (index, node) in model.nodes.iter().enumerate() {
        let c = Checker {
            node: index,
            name: &node.name,
        };
        let arity = match &node.op {
            Op::Input => 0,
            Op::Conv2d { params, .. } => match &params.output {
                OutputStage::Requantize {
                    residual_multiplier: Some(_),
                    ..
                } => 2,
                _ => 1,
            },
            _ => 1,
        };
        c.ensure(node.inputs.len() == arity, || {
            format!("reads {} inputs; this op takes {arity}", node.inputs.len())
        })?;
        c.ensure(node.inputs.iter().all(|&i| i < index), || {
            "reads a node that does not come before it".into()
        })?;
        c.ensure((index == 0) == matches!(node.op, Op::Input), || {
            "node 0, and only node 0, must be the input".into()
        })?;
        let input = node.inputs.first().map(|&i| &values[i]);
        let quantized = |what: &str| -> Result<(&Vec<usize>, ActivationSpec)> {
            match input {
                Some(ValueType::Quantized { shape, activation }) => Ok((shape, *activation)),
                other => Err(c.fail(format!("{what} needs a u8 activation input, got {other:?}"))),
            }
        };
        let image = |what: &str| -> Result<([usize; 3], ActivationSpec)> {
            let (shape, a) = quantized(what)?;
            match shape[..] {
                [h, w, ch] => Ok(([h, w, ch], a)),
                _ => Err(c.fail(format!(
                    "{what} needs a [height, width, channels] input, got {shape:?}"
                ))),
            }
        };
        let value = match &node.op {
            Op::Input => match &model.input {
                InputSpec::Image {
                    height,
                    width,
                    channels,
                    scale,
                    zero_point,
                } => {
                    let activation = ActivationSpec {
                        bits: 8,
                        scale: *scale,
                        zero_point: *zero_point,
                    };
                    c.activation(&activation)?;
                    let n = height
                        .checked_mul(*width)
                        .and_then(|n| n.checked_mul(*channels))
                        .filter(|&n| (1..=MAX_ELEMENTS).contains(&n));
                    c.ensure(n.is_some(), || {
                        "input image size is empty or too large".into()
                    })?;
                    ValueType::Quantized {
                        shape: vec![*height, *width, *channels],
                        activation,
                    }
                }
                InputSpec::Tokens {
                    max_tokens,
                    vocabulary,
                    words,
                } => {
                    c.ensure(*max_tokens >= 1 && *max_tokens <= 1 << 16, || {
                        format!("max_tokens {max_tokens} outside 1..=65536")
                    })?;
                    c.ensure(*vocabulary >= 1, || "vocabulary is empty".into())?;
                    c.ensure(words.is_empty() || words.len() == *vocabulary, || {
                        format!(
                            "{} vocabulary words for {vocabulary} embedding rows",
                            words.len()
                        )
                    })?;
                    ValueType::Tokens { count: *max_tokens }
                }
            },
            Op::Linear { params } => {
                c.layer(params, params.weights.columns, blob_len)?;
                let rows = params.weights.rows;
                match input {
                    Some(ValueType::PooledSum { features, .. }) => {
                        c.ensure(*features == params.weights.columns, || {
                            format!(
                                "input has {features} features, weights {} columns",
                                params.weights.columns
                            )
                        })?;
                        c.ensure(matches!(params.output, OutputStage::Logits { .. }), || {
                            "a pooled-sum input must feed a layer with a logits output".into()
                        })?;
                        output_type(params, vec![rows])
                    }
                    _ => {
                        let (shape, _) = quantized("linear")?;
                        let (leading, features) = match shape[..] {
                            [f] => (None, f),
                            [t, f] => (Some(t), f),
                            _ => return Err(c.fail(format!("linear needs [features] or [tokens, features], got {shape:?}; insert a flatten"))),
                        };
                        c.ensure(features == params.weights.columns, || {
                            format!(
                                "input has {features} features, weights {} columns",
                                params.weights.columns
                            )
                        })?;
                        if let Some(t) = leading {
                            c.ensure(
                                matches!(params.output, OutputStage::Requantize { .. }),
                                || "a per-token linear layer must requantize".into(),
                            )?;
                            output_type(params, vec![t, rows])
                        } else {
                            output_type(params, vec![rows])
                        }
                    }
                }
            }
            Op::Conv2d {
                kernel,
                stride,
                padding,
                groups,
                params,
            } => {
                // A token sequence `[tokens, features]` is a `[1, tokens, features]` image
                // (1-D convolution over tokens), and stays rank 2.
                let sequence =
                    matches!(input, Some(ValueType::Quantized { shape, .. }) if shape.len() == 2);
                let ([h, w, ch], _) = if sequence {
                    let (shape, a) = quantized("conv2d")?;
                    ([1, shape[0], shape[1]], a)
                } else {
                    image("conv2d")?
                };
                c.ensure(
                    *groups >= 1 && ch % groups == 0 && params.weights.rows % groups == 0,
                    || {
                        format!(
                            "groups {groups} must divide the {ch} input and {} output channels",
                            params.weights.rows
                        )
                    },
                )?;
                let oh = pooled_dim(h, kernel[0], stride[0], padding[0]);
                let ow = pooled_dim(w, kernel[1], stride[1], padding[1]);
                let (Some(oh), Some(ow)) = (oh, ow) else {
                    return Err(c.fail(format!("kernel {kernel:?}, stride {stride:?}, padding {padding:?} do not fit a {h}×{w} input")));
                };
                let columns = kernel[0]
                    .checked_mul(kernel[1])
                    .and_then(|n| n.checked_mul(ch / groups))
                    .ok_or_else(|| c.fail("kernel too large"))?;
                c.layer(params, columns, blob_len)?;
                c.ensure(
                    matches!(params.output, OutputStage::Requantize { .. }),
                    || "a convolution must requantize its output".into(),
                )?;
                let out_shape = if sequence {
                    c.ensure(oh == 1, || {
                        "a convolution over tokens needs kernel height 1".into()
                    })?;
                    vec![ow, params.weights.rows]
                } else {
                    vec![oh, ow, params.weights.rows]
                };
                if let Some(&r) = node.inputs.get(1) {
                    match &values[r] {
                        ValueType::Quantized { shape, .. } if *shape == out_shape => {}
                        other => return Err(c.fail(format!("residual input {other:?} does not match the output shape {out_shape:?}"))),
                    }
                }
                output_type(params, out_shape)
            }
            Op::MaxPool2d { kernel, stride } | Op::AvgPool2d { kernel, stride } => {
                let ([h, w, ch], activation) = image("pooling")?;
                let oh = pooled_dim(h, kernel[0], stride[0], 0);
                let ow = pooled_dim(w, kernel[1], stride[1], 0);
                let (Some(oh), Some(ow)) = (oh, ow) else {
                    return Err(c.fail(format!(
                        "window {kernel:?} / stride {stride:?} do not fit a {h}×{w} input"
                    )));
                };
                ValueType::Quantized {
                    shape: vec![oh, ow, ch],
                    activation,
                }
            }
            Op::GlobalAvgPool => {
                let ([_, _, ch], a) = image("global average pooling")?;
                ValueType::PooledSum {
                    features: ch,
                    scale: a.scale,
                }
            }
            Op::PadChannels { extra } => {
                let ([h, w, ch], activation) = image("channel padding")?;
                let channels = ch
                    .checked_add(*extra)
                    .filter(|&n| h * w * n <= MAX_ELEMENTS)
                    .ok_or_else(|| c.fail("too many channels"))?;
                ValueType::Quantized {
                    shape: vec![h, w, channels],
                    activation,
                }
            }
            Op::Flatten => {
                let (shape, activation) = quantized("flatten")?;
                ValueType::Quantized {
                    shape: vec![shape.iter().product()],
                    activation,
                }
            }
            Op::Embedding { weights } => {
                let Some(ValueType::Tokens { count }) = input else {
                    return Err(c.fail("an embedding reads the token input"));
                };
                c.weights(weights, blob_len)?;
                let InputSpec::Tokens { vocabulary, .. } = model.input else {
                    unreachable!("token values come only from a token input")
                };
                c.ensure(weights.rows == vocabulary, || {
                    format!(
                        "table has {} rows for a vocabulary of {vocabulary}",
                        weights.rows
                    )
                })?;
                c.ensure(weights.scale.len() == 1 && weights.zero_point_x2.len() == 1, || {
                    "an embedding table needs one scale for the whole table (per-row scales cannot share one activation grid)".into()
                })?;
                let mapping = embedding_activation(weights).ok_or_else(|| {
                    c.fail("the table's codes do not fit a u8 activation (8-bit tables need an integral zero point, e.g. min-max weights)")
                })?;
                ValueType::Quantized {
                    shape: vec![*count, weights.columns],
                    activation: mapping.activation,
                }
            }
            Op::TokenPool { mode } => {
                let (shape, activation) = quantized("token pooling")?;
                let [_, features] = shape[..] else {
                    return Err(c.fail(format!(
                        "token pooling needs [tokens, features], got {shape:?}"
                    )));
                };
                match mode {
                    TokenPooling::Mean => ValueType::PooledSum {
                        features,
                        scale: activation.scale,
                    },
                    TokenPooling::Max => ValueType::Quantized {
                        shape: vec![features],
                        activation,
                    },
                }
            }
        };
        if let ValueType::Quantized { shape, .. } = &value {
            c.ensure(shape.iter().product::<usize>() <= MAX_ELEMENTS, || {
                "output too large".into()
            })?;
        }
        values.push(value);
    }
    Ok(values)
}
