//! A model prepared for execution, shared by every workspace that runs it: each node's
//! operator with its weights in the kernels' layouts ([`Prepared`]), and the graph's value
//! types.

use super::layer::PreparedLayer;
use super::spatial::Window;
use super::tokens::EmbeddingTable;
use crate::format::{
    embedding_activation, EmbeddingMapping, InputSpec, Op, QfmFile, TokenPooling, ValueType,
};
use crate::kernels::KernelSet;
use std::sync::Arc;

/// One node, ready to run.
#[derive(Debug)]
pub(crate) enum Prepared {
    Input,
    Linear(PreparedLayer),
    Conv {
        layer: PreparedLayer,
        window: Window,
        groups: usize,
        pad: u8,
    },
    Pool {
        window: Window,
        average: bool,
    },
    GlobalAvgPool {
        channels: usize,
        zero_point: i32,
    },
    PadChannels {
        channels: usize,
        extra: usize,
        fill: u8,
    },
    Flatten,
    Embedding {
        table: EmbeddingTable,
        dim: usize,
        mapping: EmbeddingMapping,
    },
    TokenPool {
        mode: TokenPooling,
        dim: usize,
        zero_point: i32,
    },
}

/// The prepared graph (read-only while running, so workspaces on several threads share it).
#[derive(Debug)]
pub(crate) struct Model {
    /// What the model consumes.
    pub input: InputSpec,
    /// Each node's inputs.
    pub inputs: Vec<Vec<usize>>,
    /// Each node's output type.
    pub values: Vec<ValueType>,
    /// Each node's prepared operator.
    pub prepared: Vec<Prepared>,
    /// The kernel set the weights were prepared for.
    pub kernels: KernelSet,
    /// Logits per example.
    pub classes: usize,
    /// Multiply-adds of one example through every weighted layer.
    pub macs_per_example: usize,
}

/// `[h, w, c]` of an image, or `[1, tokens, features]` of a token sequence.
pub(crate) fn shape3(v: &ValueType) -> [usize; 3] {
    match v {
        ValueType::Quantized { shape, .. } if shape.len() == 2 => [1, shape[0], shape[1]],
        ValueType::Quantized { shape, .. } => [shape[0], shape[1], shape[2]],
        _ => unreachable!("validated image value"),
    }
}

/// Makes `buffer` hold `m_rows` rows of `stride` elements rounded up to a multiple of
/// `multiple` rows (what the GEMM kernels read), with the rows past `m_rows` zeroed.
pub(crate) fn pad_rows<T: Copy + Default>(
    buffer: &mut Vec<T>,
    m_rows: usize,
    multiple: usize,
    stride: usize,
) {
    let padded = m_rows.div_ceil(multiple) * multiple;
    if buffer.len() < padded * stride {
        buffer.resize(padded * stride, T::default());
    }
    buffer[m_rows * stride..padded * stride].fill(T::default());
}

pub(crate) fn zero_point(v: &ValueType) -> i32 {
    match v {
        ValueType::Quantized { activation, .. } => activation.zero_point,
        _ => 0,
    }
}

impl Model {
    /// Prepares `file` for `kernels`; with `pool`, large GEMMs may be split over its threads.
    pub fn new(file: &QfmFile, kernels: KernelSet, pool: Option<Arc<rayon::ThreadPool>>) -> Self {
        let layout = file.layout();
        let blob = &file.blob;
        let prepared: Vec<Prepared> = file
            .model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let input = node.inputs.first().map(|&j| &layout.values[j]);
                match &node.op {
                    Op::Input => Prepared::Input,
                    // A classifier on pooled sums runs scalar (`logits_from_sums`): it keeps
                    // the row-major codes of the reference set.
                    Op::Linear { params } if matches!(input, Some(ValueType::PooledSum { .. })) => {
                        Prepared::Linear(PreparedLayer::new(params, 1, blob, KernelSet::Reference))
                    }
                    Op::Linear { params } => {
                        Prepared::Linear(PreparedLayer::new(params, 1, blob, kernels))
                    }
                    Op::Conv2d {
                        kernel,
                        stride,
                        padding,
                        groups,
                        params,
                    } => {
                        let input = input.expect("validated");
                        let out = shape3(&layout.values[i]);
                        Prepared::Conv {
                            layer: PreparedLayer::new(params, *groups, blob, kernels),
                            window: Window {
                                input: shape3(input),
                                kernel: *kernel,
                                stride: *stride,
                                padding: *padding,
                                output: [out[0], out[1]],
                            },
                            groups: *groups,
                            pad: zero_point(input) as u8,
                        }
                    }
                    Op::MaxPool2d { kernel, stride } | Op::AvgPool2d { kernel, stride } => {
                        let out = shape3(&layout.values[i]);
                        Prepared::Pool {
                            window: Window {
                                input: shape3(input.expect("validated")),
                                kernel: *kernel,
                                stride: *stride,
                                padding: [0, 0],
                                output: [out[0], out[1]],
                            },
                            average: matches!(node.op, Op::AvgPool2d { .. }),
                        }
                    }
                    Op::GlobalAvgPool => {
                        let input = input.expect("validated");
                        Prepared::GlobalAvgPool {
                            channels: shape3(input)[2],
                            zero_point: zero_point(input),
                        }
                    }
                    Op::PadChannels { extra } => {
                        let input = input.expect("validated");
                        Prepared::PadChannels {
                            channels: shape3(input)[2],
                            extra: *extra,
                            fill: zero_point(input) as u8,
                        }
                    }
                    Op::Flatten => Prepared::Flatten,
                    Op::Embedding { weights } => {
                        let start = weights.data.offset as usize;
                        Prepared::Embedding {
                            table: EmbeddingTable {
                                packed: blob[start..start + weights.data.length as usize].to_vec(),
                                bits: qfront_quant::BitWidth::new(weights.bits).expect("validated"),
                                dim: weights.columns,
                            },
                            dim: weights.columns,
                            mapping: embedding_activation(weights).expect("validated"),
                        }
                    }
                    Op::TokenPool { mode } => {
                        let input = input.expect("validated");
                        let ValueType::Quantized { shape, .. } = input else {
                            unreachable!("validated")
                        };
                        Prepared::TokenPool {
                            mode: *mode,
                            dim: shape[1],
                            zero_point: zero_point(input),
                        }
                    }
                }
            })
            .collect();
        let mut model = Self {
            input: file.model.input.clone(),
            inputs: file.model.nodes.iter().map(|n| n.inputs.clone()).collect(),
            classes: layout.classes(),
            values: layout.values,
            prepared,
            kernels,
            macs_per_example: 0,
        };
        model.macs_per_example = model
            .prepared
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Prepared::Linear(layer) => {
                    let per_in = model.values[model.inputs[i][0]].elements();
                    per_in / layer.columns.max(1) * layer.rows * layer.columns
                }
                // Every output value takes one group's reduction (`columns` is per group).
                Prepared::Conv { layer, .. } => model.values[i].elements() * layer.columns,
                _ => 0,
            })
            .sum();
        if pool.is_some() {
            for prepared in &mut model.prepared {
                if let Prepared::Linear(layer) | Prepared::Conv { layer, .. } = prepared {
                    for weights in &mut layer.groups {
                        weights.set_thread_pool(pool.clone());
                    }
                }
            }
        }
        model
    }

    /// Values of one example's input: pixels (`height·width·channels`) or token ids.
    pub fn input_elements(&self) -> usize {
        match self.input {
            InputSpec::Image {
                height,
                width,
                channels,
                ..
            } => height * width * channels,
            InputSpec::Tokens { max_tokens, .. } => max_tokens,
        }
    }

    /// Bytes of weights held: every weighted layer's kernel layouts and the embedding tables.
    pub fn weight_bytes(&self) -> usize {
        self.prepared
            .iter()
            .map(|p| match p {
                Prepared::Linear(layer) | Prepared::Conv { layer, .. } => layer
                    .groups
                    .iter()
                    .map(|g| g.resident_bytes())
                    .sum::<usize>(),
                Prepared::Embedding { table, .. } => table.packed.len(),
                _ => 0,
            })
            .sum()
    }
}
