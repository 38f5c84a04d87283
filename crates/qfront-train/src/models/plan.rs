//! The layer plan of a spec: every quantized layer with its name, position, concrete shape and
//! resolved precision. The model builders construct their layers from it and the size/BOPs
//! accountant reads it, so the architecture is written down once.

use crate::layers::{
    PactActivation, ParamInit, QuantConv1d, QuantConv2d, QuantEmbedding, QuantLinear,
};
use crate::quantize::LayerPrecision;
use crate::spec::{InputShape, ModelFamily, ModelSpec, NluBlock, Position};
use burn::tensor::Device;
use qfront_quant::accounting::{
    account_model, LayerBits, LayerOp, LayerRole, ModelReport, SizePolicy,
};
use qfront_quant::BitWidth;

/// One quantized layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPlan {
    /// Name, as used by per-layer overrides.
    pub name: String,
    /// First, middle or last.
    pub position: Position,
    /// Shape. A per-token linear layer of the NLU model is a kernel-1 `Conv1d` here, so that
    /// its MACs count every token.
    pub op: LayerOp,
    /// Stride of a convolution (1 otherwise).
    pub stride: usize,
    /// Zero padding of a convolution on each side (`None`: "same", `kernel/2`).
    pub padding: Option<usize>,
    /// Resolved weight and activation bits.
    pub precision: LayerPrecision,
}

/// All quantized layers of a model in forward order, plus its BatchNorm channels.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPlan {
    /// Layers.
    pub layers: Vec<LayerPlan>,
    /// Channels normalised by BatchNorm (folded into requantization at export).
    pub batch_norm_channels: u64,
}

fn linear(in_features: usize, out_features: usize) -> LayerOp {
    LayerOp::Linear {
        in_features,
        out_features,
        bias: true,
    }
}

fn conv2d(in_channels: usize, out_channels: usize, kernel: usize, out_hw: [usize; 2]) -> LayerOp {
    LayerOp::Conv2d {
        in_channels,
        out_channels,
        kernel: [kernel; 2],
        groups: 1,
        out_hw,
        bias: false,
    }
}

impl ModelPlan {
    /// The plan of a validated spec.
    pub fn of(spec: &ModelSpec) -> Self {
        let mut plan = ModelPlan {
            layers: Vec::new(),
            batch_norm_channels: 0,
        };
        // Explicit paddings of layer-list convolutions, applied once the layers are pushed.
        let mut paddings: Vec<(String, usize)> = Vec::new();
        let mut push = |name: String, position: Position, op: LayerOp, stride: usize| {
            let precision = spec.precision(&name, position);
            plan.layers.push(LayerPlan {
                name,
                position,
                op,
                stride,
                padding: None,
                precision,
            });
        };
        let mut batch_norm_channels = 0;
        match (&spec.family, &spec.input) {
            (
                ModelFamily::Mlp { hidden },
                InputShape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                let mut features = channels * height * width;
                for (i, &h) in hidden.iter().enumerate() {
                    let out = spec.scaled(h);
                    push(
                        format!("fc{i}"),
                        if i == 0 {
                            Position::First
                        } else {
                            Position::Middle
                        },
                        linear(features, out),
                        1,
                    );
                    features = out;
                }
                let position = if hidden.is_empty() {
                    Position::First
                } else {
                    Position::Last
                };
                push(
                    "classifier".into(),
                    position,
                    linear(features, spec.classes),
                    1,
                );
            }
            (
                ModelFamily::Lenet {
                    channels,
                    hidden,
                    kernel,
                },
                InputShape::Image {
                    channels: cin,
                    height,
                    width,
                },
            ) => {
                let (c1, c2, h) = (
                    spec.scaled(channels[0]),
                    spec.scaled(channels[1]),
                    spec.scaled(*hidden),
                );
                push(
                    "conv1".into(),
                    Position::First,
                    conv2d(*cin, c1, *kernel, [*height, *width]),
                    1,
                );
                push(
                    "conv2".into(),
                    Position::Middle,
                    conv2d(c1, c2, *kernel, [height / 2, width / 2]),
                    1,
                );
                push(
                    "fc".into(),
                    Position::Middle,
                    linear(c2 * (height / 4) * (width / 4), h),
                    1,
                );
                push(
                    "classifier".into(),
                    Position::Last,
                    linear(h, spec.classes),
                    1,
                );
                batch_norm_channels = (c1 + c2) as u64;
            }
            (
                ModelFamily::Resnet {
                    stage_channels,
                    blocks_per_stage,
                },
                InputShape::Image {
                    channels: cin,
                    height,
                    width,
                },
            ) => {
                let widths: Vec<usize> = stage_channels.iter().map(|&c| spec.scaled(c)).collect();
                let mut hw = [*height, *width];
                push(
                    "stem".into(),
                    Position::First,
                    conv2d(*cin, widths[0], 3, hw),
                    1,
                );
                batch_norm_channels += widths[0] as u64;
                let mut prev = widths[0];
                for (s, &c) in widths.iter().enumerate() {
                    for b in 0..*blocks_per_stage {
                        let stride = if s > 0 && b == 0 { 2 } else { 1 };
                        // A 3×3 convolution with padding 1 and stride 2 gives ⌈h/2⌉.
                        hw = hw.map(|v| v.div_ceil(stride));
                        push(
                            format!("stage{}.block{b}.conv1", s + 1),
                            Position::Middle,
                            conv2d(prev, c, 3, hw),
                            stride,
                        );
                        push(
                            format!("stage{}.block{b}.conv2", s + 1),
                            Position::Middle,
                            conv2d(c, c, 3, hw),
                            1,
                        );
                        batch_norm_channels += 2 * c as u64;
                        prev = c;
                    }
                }
                push(
                    "classifier".into(),
                    Position::Last,
                    linear(prev, spec.classes),
                    1,
                );
            }
            (
                ModelFamily::Nlu {
                    buckets,
                    embedding_dim,
                    block,
                    blocks,
                    hidden,
                    kernel,
                    ..
                },
                InputShape::Tokens { max_tokens, .. },
            ) => {
                let dim = spec.scaled(*embedding_dim);
                let width = spec.scaled(*hidden);
                push(
                    "embedding".into(),
                    Position::First,
                    LayerOp::Embedding {
                        rows: buckets + 1,
                        dim,
                        tokens: *max_tokens,
                    },
                    1,
                );
                let kernel = match block {
                    NluBlock::Conv => *kernel,
                    NluBlock::Mlp => 1,
                };
                let mut features = dim;
                for i in 0..*blocks {
                    let op = LayerOp::Conv1d {
                        in_channels: features,
                        out_channels: width,
                        kernel,
                        out_len: *max_tokens,
                        bias: true,
                    };
                    push(format!("block{i}"), Position::Middle, op, 1);
                    features = width;
                }
                push(
                    "classifier".into(),
                    Position::Last,
                    linear(features, spec.classes),
                    1,
                );
            }
            (ModelFamily::Layers { layers, .. }, input) => {
                let resolved = super::layer_list::resolve(
                    layers,
                    super::layer_list::list_input(input),
                    spec.classes,
                    spec.width_multiplier,
                )
                .expect("ModelSpec::validate resolved the list");
                for layer in resolved {
                    match layer {
                        super::ResolvedLayer::Conv2d {
                            name,
                            in_channels,
                            out_channels,
                            kernel,
                            stride,
                            padding,
                            out_hw,
                            groups,
                            batch_norm,
                            position,
                        } => {
                            let op = LayerOp::Conv2d {
                                in_channels,
                                out_channels,
                                kernel: [kernel; 2],
                                groups,
                                out_hw,
                                bias: !batch_norm,
                            };
                            paddings.push((name.clone(), padding));
                            push(name, position, op, stride);
                        }
                        super::ResolvedLayer::Linear {
                            name,
                            in_features,
                            out_features,
                            position,
                            ..
                        } => push(name, position, linear(in_features, out_features), 1),
                        super::ResolvedLayer::Embedding {
                            name,
                            rows,
                            dim,
                            tokens,
                        } => push(
                            name,
                            Position::First,
                            LayerOp::Embedding { rows, dim, tokens },
                            1,
                        ),
                        super::ResolvedLayer::Conv1d {
                            name,
                            in_channels,
                            out_channels,
                            kernel,
                            tokens,
                            position,
                        } => push(
                            name,
                            position,
                            LayerOp::Conv1d {
                                in_channels,
                                out_channels,
                                kernel,
                                out_len: tokens,
                                bias: true,
                            },
                            1,
                        ),
                        super::ResolvedLayer::BatchNorm { channels } => {
                            batch_norm_channels += channels as u64
                        }
                        _ => {}
                    }
                }
            }
            _ => unreachable!("ModelSpec::validate rules out mismatched family and input"),
        }
        for (name, padding) in paddings {
            if let Some(layer) = plan.layers.iter_mut().find(|l| l.name == name) {
                layer.padding = Some(padding);
            }
        }
        plan.batch_norm_channels = batch_norm_channels;
        plan
    }

    /// Size and BOPs: weights at their bits, biases as int32, BatchNorm folded into two
    /// 32-bit values per channel (multiplier and offset). The first layer reads the 8-bit
    /// quantized input; every other layer reads PACT outputs at its activation bits.
    pub fn cost(&self, spec: &ModelSpec) -> ModelReport {
        let eight = BitWidth::storage(8).expect("8 bits");
        let input_bits = BitWidth::storage(spec.quant.activation_bits).unwrap_or(BitWidth::FULL);
        let mut report = account_model(
            self.layers.iter().map(|l| {
                let role = match l.position {
                    Position::First => LayerRole::First,
                    Position::Middle => LayerRole::Middle,
                    Position::Last => LayerRole::Last,
                };
                let activations = if l.position == Position::First {
                    eight
                } else {
                    input_bits
                };
                (
                    l.name.as_str(),
                    role,
                    &l.op,
                    LayerBits {
                        weights: l.precision.weight_bits,
                        activations,
                    },
                )
            }),
            SizePolicy::default(),
        );
        report.size_bits += self.batch_norm_channels * 64;
        report
    }
}

/// Size (bits, bytes) and BOPs of the model a validated spec describes.
pub fn model_cost(spec: &ModelSpec) -> ModelReport {
    ModelPlan::of(spec).cost(spec)
}

impl LayerPlan {
    /// The fully connected layer of a `Linear` plan, or the per-token linear layer of a
    /// kernel-1 `Conv1d` plan.
    pub(crate) fn linear(&self, init: &mut ParamInit, device: &Device) -> QuantLinear {
        let (in_features, out_features) = match self.op {
            LayerOp::Linear {
                in_features,
                out_features,
                ..
            } => (in_features, out_features),
            LayerOp::Conv1d {
                in_channels,
                out_channels,
                kernel: 1,
                ..
            } => (in_channels, out_channels),
            ref op => unreachable!("{} is not a linear layer: {op:?}", self.name),
        };
        QuantLinear::new(
            in_features,
            out_features,
            self.precision.weight_quantizer,
            self.precision.weight_bits,
            init,
            device,
        )
    }

    /// The convolution of a `Conv2d` plan ("same" padding, the plan's stride).
    pub(crate) fn conv2d(&self, init: &mut ParamInit, device: &Device) -> QuantConv2d {
        let LayerOp::Conv2d {
            in_channels,
            out_channels,
            kernel,
            bias,
            groups,
            ..
        } = self.op
        else {
            unreachable!("{} is not a conv2d layer", self.name)
        };
        QuantConv2d::new(
            in_channels,
            out_channels,
            kernel[0],
            self.stride,
            self.padding.unwrap_or(kernel[0] / 2),
            groups,
            bias,
            self.precision.weight_quantizer,
            self.precision.weight_bits,
            init,
            device,
        )
    }

    /// The convolution of a `Conv1d` plan.
    pub(crate) fn conv1d(&self, init: &mut ParamInit, device: &Device) -> QuantConv1d {
        let LayerOp::Conv1d {
            in_channels,
            out_channels,
            kernel,
            ..
        } = self.op
        else {
            unreachable!("{} is not a conv1d layer", self.name)
        };
        QuantConv1d::new(
            in_channels,
            out_channels,
            kernel,
            self.precision.weight_quantizer,
            self.precision.weight_bits,
            init,
            device,
        )
    }

    /// The table of an `Embedding` plan.
    pub(crate) fn embedding(&self, init: &mut ParamInit, device: &Device) -> QuantEmbedding {
        let LayerOp::Embedding { rows, dim, .. } = self.op else {
            unreachable!("{} is not an embedding", self.name)
        };
        QuantEmbedding::new(
            rows,
            dim,
            self.precision.weight_quantizer,
            self.precision.weight_bits,
            init,
            device,
        )
    }

    /// The PACT activation after this layer.
    pub(crate) fn activation(&self, spec: &ModelSpec, device: &Device) -> PactActivation {
        PactActivation::new(
            self.precision.activation_bits,
            spec.quant.pact_gradient,
            spec.quant.pact_alpha_init,
            device,
        )
    }

    /// Output channels (features) of the layer.
    pub(crate) fn out_channels(&self) -> usize {
        match self.op {
            LayerOp::Conv2d { out_channels, .. } | LayerOp::Conv1d { out_channels, .. } => {
                out_channels
            }
            LayerOp::Linear { out_features, .. } => out_features,
            LayerOp::Embedding { dim, .. } => dim,
        }
    }
}
