//! A workspace: the buffers one run of a [`Model`] writes (every node's output, patches,
//! products, kernel scratch). A session has one, plus one per thread when it splits large
//! batches over threads; they share the model.

use super::layer::PatchRows;
use super::model::{pad_rows, zero_point, Model, Prepared};
use super::{spatial, tokens};
use crate::format::{InputSpec, TokenPooling, ValueType};
use crate::kernels::{KernelSet, Scratch, WIDENED_ROW_MULTIPLE};

#[derive(Debug, Default)]
pub(crate) struct Buffer {
    pub codes: Vec<u8>,
    pub sums: Vec<i32>,
    pub counts: Vec<u32>,
    pub logits: Vec<f32>,
}

/// Every buffer one run writes, reused between runs.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// Each node's output.
    pub buffers: Vec<Buffer>,
    /// The token ids of the batch (token models).
    pub ids: Vec<u32>,
    scratch: Scratch,
    patches: Vec<u8>,
    products: Vec<i32>,
    accumulators: Vec<i32>,
    row_sums: Vec<i32>,
    widened: Vec<i32>,
    padded_image: Vec<i16>,
    padded_bytes: Vec<u8>,
    pool_sums: Vec<u32>,
    embedding_row: Vec<i8>,
    /// Seconds of each node in the last profiled run.
    pub node_seconds: Vec<f64>,
}

impl Workspace {
    /// Buffers for `model`'s values.
    pub fn new(model: &Model) -> Self {
        Self {
            buffers: (0..model.values.len()).map(|_| Buffer::default()).collect(),
            ..Self::default()
        }
    }

    /// Quantizes `batch` images (floats, `[channels, height, width]` per example, checked)
    /// into node 0's codes (`[height, width, channels]` per example).
    pub fn load_images(&mut self, input: &InputSpec, images: &[f32], batch: usize) {
        let InputSpec::Image {
            height,
            width,
            channels,
            scale,
            zero_point,
        } = *input
        else {
            unreachable!("checked: an image model")
        };
        let per = height * width * channels;
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
    }

    /// Loads token ids (checked) for the embedding.
    pub fn load_tokens(&mut self, ids: &[u32]) {
        self.ids.clear();
        self.ids.extend_from_slice(ids);
    }

    /// Runs `batch` examples whose input (node 0's codes, or the token ids) is loaded, from
    /// node 1 on; with `profiling`, records each node's seconds (`started`: when the input
    /// began loading).
    pub fn forward(
        &mut self,
        model: &Model,
        batch: usize,
        profiling: bool,
        started: std::time::Instant,
    ) {
        if profiling {
            self.node_seconds.clear();
            self.node_seconds.push(started.elapsed().as_secs_f64());
        }
        for i in 1..model.prepared.len() {
            let node_start = profiling.then(std::time::Instant::now);
            let (done, rest) = self.buffers.split_at_mut(i);
            let out = &mut rest[0];
            let inputs = &model.inputs[i];
            let src = &done[inputs[0]];
            let in_value = &model.values[inputs[0]];
            let per_in = in_value.elements();
            let per_out = model.values[i].elements();
            match &model.prepared[i] {
                Prepared::Input => unreachable!("node 0 only"),
                Prepared::Linear(layer) if matches!(in_value, ValueType::PooledSum { .. }) => {
                    out.logits.resize(batch * layer.rows, 0.0);
                    layer.logits_from_sums(&src.sums, &src.counts, &mut out.logits);
                }
                Prepared::Linear(layer) => {
                    let m_rows = batch * per_in / layer.columns;
                    if matches!(model.values[i], ValueType::Logits { .. }) {
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
                        .map(|&r| (&done[r].codes[..], zero_point(&model.values[r])));
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
                        // The AVX-512 GEMM reads exactly `m_rows` rows: no padding rows.
                        pad_rows(&mut self.patches, m_rows, 1, stride);
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
                    } else if model.kernels == KernelSet::Reference
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
                            mapping,
                            &mut self.embedding_row,
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
    }

    /// The logits of the last run of `batch` examples.
    pub fn logits(&self, model: &Model, batch: usize) -> &[f32] {
        let last = self.buffers.last().expect("validated: at least one node");
        &last.logits[..batch * model.classes]
    }
}
