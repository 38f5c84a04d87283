//! Size and BOPs of a spec, layer by layer, with the `qfront-quant` accountant. Mirrors the
//! builders: weights at their bits, biases as int32, BatchNorm folded into requantization
//! (two 32-bit values per channel: multiplier and offset).

use crate::spec::{InputShape, ModelFamily, ModelSpec, NluBlock, Position};
use qfront_quant::accounting::{
    account_model, LayerBits, LayerOp, LayerRole, ModelReport, SizePolicy,
};
use qfront_quant::BitWidth;

fn role(p: Position) -> LayerRole {
    match p {
        Position::First => LayerRole::First,
        Position::Middle => LayerRole::Middle,
        Position::Last => LayerRole::Last,
    }
}

/// Size (bits, bytes) and BOPs of the model a spec describes.
pub fn model_cost(spec: &ModelSpec) -> ModelReport {
    let mut layers: Vec<(String, Position, LayerOp)> = Vec::new();
    let mut bn_channels = 0u64;
    match (&spec.family, &spec.input) {
        (
            ModelFamily::Mlp { hidden },
            InputShape::Image {
                channels,
                height,
                width,
            },
        ) => {
            let mut f = channels * height * width;
            for (i, &h) in hidden.iter().enumerate() {
                let out = spec.scaled(h);
                layers.push((
                    format!("fc{i}"),
                    if i == 0 {
                        Position::First
                    } else {
                        Position::Middle
                    },
                    LayerOp::Linear {
                        in_features: f,
                        out_features: out,
                        bias: true,
                    },
                ));
                f = out;
            }
            layers.push((
                "classifier".into(),
                if hidden.is_empty() {
                    Position::First
                } else {
                    Position::Last
                },
                LayerOp::Linear {
                    in_features: f,
                    out_features: spec.classes,
                    bias: true,
                },
            ));
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
            layers.push((
                "conv1".into(),
                Position::First,
                LayerOp::Conv2d {
                    in_channels: *cin,
                    out_channels: c1,
                    kernel: [*kernel; 2],
                    groups: 1,
                    out_hw: [*height, *width],
                    bias: false,
                },
            ));
            layers.push((
                "conv2".into(),
                Position::Middle,
                LayerOp::Conv2d {
                    in_channels: c1,
                    out_channels: c2,
                    kernel: [*kernel; 2],
                    groups: 1,
                    out_hw: [height / 2, width / 2],
                    bias: false,
                },
            ));
            layers.push((
                "fc".into(),
                Position::Middle,
                LayerOp::Linear {
                    in_features: c2 * (height / 4) * (width / 4),
                    out_features: h,
                    bias: true,
                },
            ));
            layers.push((
                "classifier".into(),
                Position::Last,
                LayerOp::Linear {
                    in_features: h,
                    out_features: spec.classes,
                    bias: true,
                },
            ));
            bn_channels = (c1 + c2) as u64;
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
            let (mut hh, mut ww) = (*height, *width);
            layers.push((
                "stem".into(),
                Position::First,
                LayerOp::Conv2d {
                    in_channels: *cin,
                    out_channels: widths[0],
                    kernel: [3, 3],
                    groups: 1,
                    out_hw: [hh, ww],
                    bias: false,
                },
            ));
            bn_channels += widths[0] as u64;
            let mut prev = widths[0];
            for (s, &c) in widths.iter().enumerate() {
                for b in 0..*blocks_per_stage {
                    if s > 0 && b == 0 {
                        hh = hh.div_ceil(2);
                        ww = ww.div_ceil(2);
                    }
                    layers.push((
                        format!("stage{}.block{b}.conv1", s + 1),
                        Position::Middle,
                        LayerOp::Conv2d {
                            in_channels: prev,
                            out_channels: c,
                            kernel: [3, 3],
                            groups: 1,
                            out_hw: [hh, ww],
                            bias: false,
                        },
                    ));
                    layers.push((
                        format!("stage{}.block{b}.conv2", s + 1),
                        Position::Middle,
                        LayerOp::Conv2d {
                            in_channels: c,
                            out_channels: c,
                            kernel: [3, 3],
                            groups: 1,
                            out_hw: [hh, ww],
                            bias: false,
                        },
                    ));
                    bn_channels += 2 * c as u64;
                    prev = c;
                }
            }
            layers.push((
                "classifier".into(),
                Position::Last,
                LayerOp::Linear {
                    in_features: prev,
                    out_features: spec.classes,
                    bias: true,
                },
            ));
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
            InputShape::Tokens { max_tokens },
        ) => {
            let dim = spec.scaled(*embedding_dim);
            let width = spec.scaled(*hidden);
            layers.push((
                "embedding".into(),
                Position::First,
                LayerOp::Embedding {
                    rows: buckets + 1,
                    dim,
                    tokens: *max_tokens,
                },
            ));
            let mut f = dim;
            for i in 0..*blocks {
                let op = match block {
                    NluBlock::Conv => LayerOp::Conv1d {
                        in_channels: f,
                        out_channels: width,
                        kernel: *kernel,
                        out_len: *max_tokens,
                        bias: true,
                    },
                    NluBlock::Mlp => LayerOp::Conv1d {
                        in_channels: f,
                        out_channels: width,
                        kernel: 1,
                        out_len: *max_tokens,
                        bias: true,
                    },
                };
                layers.push((format!("block{i}"), Position::Middle, op));
                f = width;
            }
            layers.push((
                "classifier".into(),
                Position::Last,
                LayerOp::Linear {
                    in_features: f,
                    out_features: spec.classes,
                    bias: true,
                },
            ));
        }
        _ => {}
    }
    let resolved: Vec<(String, LayerRole, LayerOp, LayerBits)> = layers
        .into_iter()
        .map(|(name, pos, op)| {
            let p = spec.precision(&name, pos);
            // The first layer reads the 8-bit quantized input; others read PACT outputs.
            let a = if pos == Position::First {
                BitWidth::storage(8).expect("8 bits")
            } else {
                BitWidth::storage(spec.quant.activation_bits).unwrap_or(BitWidth::FULL)
            };
            (
                name,
                role(pos),
                op,
                LayerBits {
                    weights: p.weight_bits,
                    activations: a,
                },
            )
        })
        .collect();
    let mut report = account_model(
        resolved
            .iter()
            .map(|(n, r, op, b)| (n.as_str(), *r, op, *b)),
        SizePolicy::default(),
    );
    report.size_bits += bn_channels * 64;
    report
}
