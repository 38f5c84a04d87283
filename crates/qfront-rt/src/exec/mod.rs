//! The integer-only executor: a [`Session`] prepares a validated `.qfm` model for one kernel
//! set and runs batches through it, reusing its buffers between calls.

mod layer;
mod spatial;
mod tokens;

use crate::format::{
    embedding_activation, EmbeddingMapping, InputSpec, Op, QfmFile, TokenPooling, ValueType,
};
use crate::kernels::{KernelSet, Scratch, PADDED_ROW_MULTIPLE, WIDENED_ROW_MULTIPLE};
use crate::{Result, RtError};
use layer::{unpack, PatchRows, PreparedLayer};
use spatial::Window;

#[derive(Debug)]
enum Prepared {
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
        table: Vec<i8>,
        dim: usize,
        mapping: EmbeddingMapping,
    },
    TokenPool {
        mode: TokenPooling,
        dim: usize,
        zero_point: i32,
    },
}

#[derive(Debug, Default)]
struct Buffer {
    codes: Vec<u8>,
    sums: Vec<i32>,
    counts: Vec<u32>,
    logits: Vec<f32>,
}

/// A model prepared for execution.
#[derive(Debug)]
pub struct Session {
    input: InputSpec,
    inputs: Vec<Vec<usize>>,
    values: Vec<ValueType>,
    prepared: Vec<Prepared>,
    buffers: Vec<Buffer>,
    ids: Vec<u32>,
    scratch: Scratch,
    patches: Vec<u8>,
    products: Vec<i32>,
    accumulators: Vec<i32>,
    row_sums: Vec<i32>,
    widened: Vec<i32>,
    padded_image: Vec<i16>,
    padded_bytes: Vec<u8>,
    pool_sums: Vec<u32>,
    kernels: KernelSet,
    threads: usize,
    classes: usize,
    profiling: bool,
    node_seconds: Vec<f64>,
}

/// `[h, w, c]` of an image, or `[1, tokens, features]` of a token sequence.
fn shape3(v: &ValueType) -> [usize; 3] {
    match v {
        ValueType::Quantized { shape, .. } if shape.len() == 2 => [1, shape[0], shape[1]],
        ValueType::Quantized { shape, .. } => [shape[0], shape[1], shape[2]],
        _ => unreachable!("validated image value"),
    }
}

/// Makes `buffer` hold `m_rows` rows of `stride` elements rounded up to a multiple of
/// `multiple` rows (what the GEMM kernels read), with the rows past `m_rows` zeroed.
fn pad_rows<T: Copy + Default>(buffer: &mut Vec<T>, m_rows: usize, multiple: usize, stride: usize) {
    let padded = m_rows.div_ceil(multiple) * multiple;
    if buffer.len() < padded * stride {
        buffer.resize(padded * stride, T::default());
    }
    buffer[m_rows * stride..padded * stride].fill(T::default());
}

fn zero_point(v: &ValueType) -> i32 {
    match v {
        ValueType::Quantized { activation, .. } => activation.zero_point,
        _ => 0,
    }
}

impl Session {
    /// Prepares `file` for `kernels` (unpacks weights into the kernels' layouts).
    pub fn new(file: &QfmFile, kernels: KernelSet) -> Self {
        let layout = file.layout();
        let blob = &file.blob;
        let prepared = file
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
                    Op::Embedding { weights } => Prepared::Embedding {
                        table: unpack(weights, blob),
                        dim: weights.columns,
                        mapping: embedding_activation(weights).expect("validated"),
                    },
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
        Self {
            input: file.model.input.clone(),
            inputs: file.model.nodes.iter().map(|n| n.inputs.clone()).collect(),
            buffers: (0..layout.values.len())
                .map(|_| Buffer::default())
                .collect(),
            classes: layout.classes(),
            values: layout.values,
            prepared,
            ids: Vec::new(),
            scratch: Scratch::default(),
            patches: Vec::new(),
            products: Vec::new(),
            accumulators: Vec::new(),
            row_sums: Vec::new(),
            widened: Vec::new(),
            padded_image: Vec::new(),
            padded_bytes: Vec::new(),
            pool_sums: Vec::new(),
            kernels,
            threads: 1,
            profiling: false,
            node_seconds: Vec::new(),
        }
    }

    /// Like [`Session::new`], with the GEMMs of large layers split over `threads` threads (a
    /// pool made once here; 1 = everything on the caller's thread). Small products and batch-1
    /// matrix–vector products stay on one thread (see
    /// [`PARALLEL_MIN_MACS`](crate::kernels::PARALLEL_MIN_MACS)); results are identical for
    /// every thread count.
    pub fn with_threads(file: &QfmFile, kernels: KernelSet, threads: usize) -> Result<Self> {
        if threads == 0 || threads > 256 {
            return Err(RtError::Parameter {
                name: "threads",
                reason: format!("{threads}: give 1..=256"),
            });
        }
        let mut session = Self::new(file, kernels);
        let pool = crate::kernels::thread_pool(threads).map_err(|reason| RtError::Parameter {
            name: "threads",
            reason,
        })?;
        if pool.is_some() {
            for prepared in &mut session.prepared {
                if let Prepared::Linear(layer) | Prepared::Conv { layer, .. } = prepared {
                    for weights in &mut layer.groups {
                        weights.set_thread_pool(pool.clone());
                    }
                }
            }
        }
        session.threads = threads;
        Ok(session)
    }

    /// Bytes of weights the session holds: every weighted layer's kernel layouts
    /// ([`PreparedWeights::resident_bytes`](crate::kernels::PreparedWeights::resident_bytes))
    /// and the embedding tables.
    pub fn weight_bytes(&self) -> usize {
        self.prepared
            .iter()
            .map(|p| match p {
                Prepared::Linear(layer) | Prepared::Conv { layer, .. } => layer
                    .groups
                    .iter()
                    .map(|g| g.resident_bytes())
                    .sum::<usize>(),
                Prepared::Embedding { table, .. } => table.len(),
                _ => 0,
            })
            .sum()
    }

    /// Threads the GEMMs may use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Times every node of each run (for the latency look-up table); see [`Session::node_seconds`].
    pub fn set_profiling(&mut self, on: bool) {
        self.profiling = on;
    }

    /// Seconds each node took in the last run while profiling (node 0: input quantization).
    pub fn node_seconds(&self) -> &[f64] {
        &self.node_seconds
    }

    /// The kernel set in use.
    pub fn kernels(&self) -> KernelSet {
        self.kernels
    }

    /// Number of classes (logits per example).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// What the model consumes.
    pub fn input_spec(&self) -> &InputSpec {
        &self.input
    }

    /// Runs a batch of images given as floats in `[channels, height, width]` order per example
    /// (the training layout); returns logits `[batch, classes]`.
    pub fn run_images(&mut self, images: &[f32], batch: usize) -> Result<&[f32]> {
        let InputSpec::Image {
            height,
            width,
            channels,
            scale,
            zero_point,
        } = self.input
        else {
            return Err(RtError::input("this model reads token ids, not images"));
        };
        let per = height * width * channels;
        if images.len() != batch * per {
            return Err(RtError::input(format!(
                "expected {batch}×{channels}×{height}×{width} = {} values, got {}",
                batch * per,
                images.len()
            )));
        }
        if let Some(bad) = images.iter().find(|v| !v.is_finite()) {
            return Err(RtError::input(format!("image value {bad} is not finite")));
        }
        let started = std::time::Instant::now();
        let codes = &mut self.buffers[0].codes;
        codes.clear();
        codes.resize(batch * per, 0);
        let inverse = 1.0 / scale;
        for b in 0..batch {
            for c in 0..channels {
                for p in 0..height * width {
                    let x = images[b * per + c * height * width + p];
                    // Round half away from zero without a libm call: |x|/s + 0.5, truncated.
                    let v = x * inverse;
                    let q = (v.abs() + 0.5) as i32 * if v < 0.0 { -1 } else { 1 } + zero_point;
                    codes[b * per + p * channels + c] = q.clamp(0, 255) as u8;
                }
            }
        }
        self.forward(batch, started)
    }

    /// Runs a batch of token ids `[batch, max_tokens]` (0 = padding); returns logits.
    pub fn run_tokens(&mut self, ids: &[u32], batch: usize) -> Result<&[f32]> {
        let InputSpec::Tokens {
            max_tokens,
            vocabulary,
            ..
        } = self.input
        else {
            return Err(RtError::input("this model reads images, not token ids"));
        };
        if ids.len() != batch * max_tokens {
            return Err(RtError::input(format!(
                "expected {batch}×{max_tokens} token ids, got {}",
                ids.len()
            )));
        }
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= vocabulary) {
            return Err(RtError::input(format!(
                "token id {bad} is outside the vocabulary of {vocabulary}"
            )));
        }
        let started = std::time::Instant::now();
        self.ids.clear();
        self.ids.extend_from_slice(ids);
        self.forward(batch, started)
    }

    fn forward(&mut self, batch: usize, started: std::time::Instant) -> Result<&[f32]> {
        if self.profiling {
            self.node_seconds.clear();
            self.node_seconds.push(started.elapsed().as_secs_f64());
        }
        for i in 1..self.prepared.len() {
            let node_start = self.profiling.then(std::time::Instant::now);
            let (done, rest) = self.buffers.split_at_mut(i);
            let out = &mut rest[0];
            let inputs = &self.inputs[i];
            let src = &done[inputs[0]];
            let in_value = &self.values[inputs[0]];
            let per_in = in_value.elements();
            let per_out = self.values[i].elements();
            match &self.prepared[i] {
                Prepared::Input => unreachable!("node 0 only"),
                Prepared::Linear(layer) if matches!(in_value, ValueType::PooledSum { .. }) => {
                    out.logits.resize(batch * layer.rows, 0.0);
                    layer.logits_from_sums(&src.sums, &src.counts, &mut out.logits);
                }
                Prepared::Linear(layer) => {
                    let m_rows = batch * per_in / layer.columns;
                    if matches!(self.values[i], ValueType::Logits { .. }) {
                        self.accumulators.resize(m_rows * layer.rows, 0);
                        layer.accumulate(
                            &src.codes,
                            m_rows,
                            &mut self.products,
                            &mut self.accumulators,
                            &mut self.scratch,
                            &mut self.row_sums,
                        );
                        out.logits.resize(m_rows * layer.rows, 0.0);
                        layer.logits(&self.accumulators, &mut out.logits);
                    } else {
                        out.codes.resize(m_rows * layer.rows, 0);
                        layer.requantize_group(
                            0,
                            &src.codes,
                            m_rows,
                            None,
                            &mut self.products,
                            &mut self.row_sums,
                            &mut self.scratch,
                            &mut out.codes,
                        );
                    }
                }
                Prepared::Conv {
                    layer,
                    window,
                    groups,
                    pad,
                } => {
                    let positions = window.output[0] * window.output[1];
                    let m_rows = batch * positions;
                    let channels = window.input[2];
                    let cg = channels / groups;
                    let direct = *groups == 1
                        && window.kernel == [1, 1]
                        && window.stride == [1, 1]
                        && window.padding == [0, 0];
                    out.codes.resize(m_rows * layer.rows, 0);
                    let residual = inputs
                        .get(1)
                        .map(|&r| (&done[r].codes[..], zero_point(&self.values[r])));
                    if *groups == 1 && !direct && layer.groups[0].takes_widened(m_rows) {
                        // Patches go straight into the GEMM's i16 rows: no u8 copy to widen.
                        let pairs = layer.columns.div_ceil(2);
                        pad_rows(&mut self.widened, m_rows, WIDENED_ROW_MULTIPLE, pairs);
                        for b in 0..batch {
                            spatial::im2col_widened(
                                &src.codes[b * per_in..(b + 1) * per_in],
                                window,
                                *pad,
                                pairs,
                                b * positions,
                                &mut self.widened,
                                &mut self.padded_image,
                            );
                        }
                        layer.requantize_patches(
                            PatchRows::Widened(&self.widened),
                            m_rows,
                            residual,
                            &mut self.products,
                            &mut self.row_sums,
                            &mut out.codes,
                        );
                    } else if *groups == 1 && !direct && layer.groups[0].takes_padded(m_rows) {
                        let stride = layer.groups[0].padded_columns();
                        pad_rows(&mut self.patches, m_rows, PADDED_ROW_MULTIPLE, stride);
                        for b in 0..batch {
                            spatial::im2col_padded(
                                &src.codes[b * per_in..(b + 1) * per_in],
                                window,
                                *pad,
                                stride,
                                b * positions,
                                &mut self.patches,
                                &mut self.padded_bytes,
                            );
                        }
                        layer.requantize_patches(
                            PatchRows::Padded(&self.patches),
                            m_rows,
                            residual,
                            &mut self.products,
                            &mut self.row_sums,
                            &mut out.codes,
                        );
                    } else if self.kernels == KernelSet::Reference
                        && *groups == channels
                        && layer.rows == channels
                    {
                        layer.depthwise_reference(
                            &src.codes,
                            batch,
                            window,
                            *pad,
                            residual,
                            &mut self.products,
                            &mut self.row_sums,
                            &mut out.codes,
                        );
                    } else {
                        for g in 0..*groups {
                            let patches: &[u8] = if direct {
                                &src.codes
                            } else {
                                self.patches.clear();
                                for b in 0..batch {
                                    spatial::im2col(
                                        &src.codes[b * per_in..(b + 1) * per_in],
                                        window,
                                        g * cg,
                                        cg,
                                        *pad,
                                        &mut self.patches,
                                    );
                                }
                                &self.patches
                            };
                            layer.requantize_group(
                                g,
                                patches,
                                m_rows,
                                residual,
                                &mut self.products,
                                &mut self.row_sums,
                                &mut self.scratch,
                                &mut out.codes,
                            );
                        }
                    }
                }
                Prepared::Pool { window, average } => {
                    out.codes.resize(batch * per_out, 0);
                    for b in 0..batch {
                        spatial::pool(
                            &src.codes[b * per_in..(b + 1) * per_in],
                            window,
                            *average,
                            &mut out.codes[b * per_out..(b + 1) * per_out],
                            &mut self.pool_sums,
                        );
                    }
                }
                Prepared::GlobalAvgPool {
                    channels,
                    zero_point,
                } => {
                    out.sums.resize(batch * channels, 0);
                    out.counts.clear();
                    for b in 0..batch {
                        spatial::channel_sums(
                            &src.codes[b * per_in..(b + 1) * per_in],
                            *channels,
                            *zero_point,
                            &mut out.sums[b * channels..],
                        );
                        out.counts.push((per_in / channels) as u32);
                    }
                }
                Prepared::PadChannels {
                    channels,
                    extra,
                    fill,
                } => {
                    out.codes.resize(batch * per_out, 0);
                    spatial::pad_channels(
                        &src.codes[..batch * per_in],
                        *channels,
                        *extra,
                        *fill,
                        &mut out.codes,
                    );
                }
                Prepared::Flatten => {
                    out.codes.clear();
                    out.codes.extend_from_slice(&src.codes[..batch * per_in]);
                }
                Prepared::Embedding {
                    table,
                    dim,
                    mapping,
                } => {
                    out.codes.resize(batch * per_out, 0);
                    let tokens = per_out / dim;
                    for b in 0..batch {
                        tokens::embed(
                            &self.ids[b * tokens..(b + 1) * tokens],
                            table,
                            *dim,
                            mapping,
                            &mut out.codes[b * per_out..(b + 1) * per_out],
                        );
                    }
                }
                Prepared::TokenPool {
                    mode,
                    dim,
                    zero_point,
                } => {
                    let tokens = per_in / dim;
                    match mode {
                        TokenPooling::Mean => {
                            out.sums.resize(batch * dim, 0);
                            out.counts.clear();
                            for b in 0..batch {
                                let count = tokens::token_sums(
                                    &src.codes[b * per_in..(b + 1) * per_in],
                                    &self.ids[b * tokens..(b + 1) * tokens],
                                    *dim,
                                    *zero_point,
                                    &mut out.sums[b * dim..],
                                );
                                out.counts.push(count);
                            }
                        }
                        TokenPooling::Max => {
                            out.codes.resize(batch * dim, 0);
                            for b in 0..batch {
                                tokens::token_max(
                                    &src.codes[b * per_in..(b + 1) * per_in],
                                    &self.ids[b * tokens..(b + 1) * tokens],
                                    *dim,
                                    *zero_point as u8,
                                    &mut out.codes[b * dim..(b + 1) * dim],
                                );
                            }
                        }
                    }
                }
            }
            if let Some(t) = node_start {
                self.node_seconds.push(t.elapsed().as_secs_f64());
            }
        }
        let last = self.buffers.last().expect("validated: at least one node");
        Ok(&last.logits[..batch * self.classes])
    }
}

/// Index of the largest logit of each example (`logits` is `[batch, classes]`; ties go to
/// the lower index, as `argmax` in PyTorch does).
pub fn argmax(logits: &[f32], classes: usize) -> Vec<usize> {
    logits
        .chunks(classes)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Softmax of each example, computed stably as `exp(x − max)/Σ exp(x − max)`.
pub fn softmax(logits: &[f32], classes: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(classes) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let start = out.len();
        out.extend(row.iter().map(|&v| (v - max).exp()));
        let total: f32 = out[start..].iter().sum();
        for v in &mut out[start..] {
            *v /= total;
        }
    }
    out
}
