//! The operators, one per file, each holding everything the runtime knows about it (the
//! organisation of tract's `ops`):
//!
//! * **validation**: its parameters checked against its inputs' types, and the type of the
//!   value it produces ([`Operator::output_type`], called by
//!   [`validate_model`](crate::format::validate_model));
//! * **preparation**: weights unpacked from the blob into the kernel set's layouts, shapes and
//!   zero points resolved once ([`Operator::prepare`]);
//! * **execution** of a batch ([`PreparedOp::run`], called by the workspace's forward loop);
//! * **cost**: the latency table's key and work, and the multiply-adds that decide whether a
//!   batch is worth splitting over threads ([`Operator::cost`]).
//!
//! [`operator`] is the one place that maps a graph [`Op`] to its operator: adding an operator
//! takes a variant of [`Op`] (the file format), a file here, and one line in [`operator`].
//! The ONNX export of each operator lives beside the ONNX writer in `qfront-train`
//! (`export/onnx/ops/`, the same file names), because the ONNX protobuf bindings depend on
//! burn's tensor crate, which the runtime must not pull in (it cross-compiles on its own).

mod conv2d;
pub(crate) mod embedding;
mod flatten;
mod global_avg_pool;
pub(crate) mod input;
mod linear;
mod pad_channels;
mod pool;
mod token_pool;
mod weighted_layer;
mod window;

use crate::format::{ActivationSpec, InputSpec, Op, QfmModel, ValueType, WeightSpec, MAX_ELEMENTS};
use crate::kernels::aligned::AlignedBytes;
use crate::kernels::{KernelSet, Scratch};
use crate::{Result, RtError};
use qfront_quant::packing::packed_len;
use qfront_quant::BitWidth;
use std::sync::Arc;

/// Maps a graph op to its operator (the only match over every [`Op`] in the runtime).
pub(crate) fn operator(op: &Op) -> Box<dyn Operator + '_> {
    match op {
        Op::Input => Box::new(input::Input),
        Op::Linear { params } => Box::new(linear::Linear { params }),
        Op::Conv2d {
            kernel,
            stride,
            padding,
            groups,
            params,
        } => Box::new(conv2d::Conv2d {
            kernel: *kernel,
            stride: *stride,
            padding: *padding,
            groups: *groups,
            params,
        }),
        Op::MaxPool2d { kernel, stride } => Box::new(pool::Pool2d {
            kernel: *kernel,
            stride: *stride,
            average: false,
        }),
        Op::AvgPool2d { kernel, stride } => Box::new(pool::Pool2d {
            kernel: *kernel,
            stride: *stride,
            average: true,
        }),
        Op::GlobalAvgPool => Box::new(global_avg_pool::GlobalAvgPool),
        Op::PadChannels { extra } => Box::new(pad_channels::PadChannels { extra: *extra }),
        Op::Flatten => Box::new(flatten::Flatten),
        Op::Embedding { weights } => Box::new(embedding::Embedding { weights }),
        Op::TokenPool { mode } => Box::new(token_pool::TokenPool { mode: *mode }),
    }
}

/// One operator of the graph, with its parameters.
pub(crate) trait Operator {
    /// Values it reads (1 unless the op says otherwise).
    fn arity(&self) -> usize {
        1
    }

    /// Checks the parameters against the inputs' types and returns the type of the output.
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType>;

    /// The operator ready to run on `kernels`, with its weights unpacked from `blob`.
    fn prepare(&self, node: &NodeTypes<'_>, blob: &[u8], kernels: KernelSet)
        -> Box<dyn PreparedOp>;

    /// What the latency table keys it by, and its work.
    fn cost(&self, node: &NodeTypes<'_>) -> Cost;
}

/// An operator prepared for one kernel set (read-only while running, so threads share it).
pub(crate) trait PreparedOp: std::fmt::Debug + Send + Sync {
    /// Computes the output of `cx.batch` examples.
    fn run(&self, cx: RunContext<'_>);

    /// Bytes of weights it holds in the kernels' layouts.
    fn weight_bytes(&self) -> usize {
        0
    }

    /// Lets its large GEMMs split their rows over `pool`'s threads.
    fn share_thread_pool(&mut self, _pool: &Arc<crate::kernels::spin_pool::SpinPool>) {}
}

/// The validated types of a node's inputs and output (what preparation and cost read).
#[derive(Debug, Clone)]
pub(crate) struct NodeTypes<'a> {
    /// The types of the values it reads, in order (empty for the input).
    pub inputs: Vec<&'a ValueType>,
    /// The type it produces.
    pub output: &'a ValueType,
}

impl<'a> NodeTypes<'a> {
    /// The types of node `index` (reading `inputs`) in a validated layout's `values`.
    pub fn of(values: &'a [ValueType], inputs: &[usize], index: usize) -> Self {
        Self {
            inputs: inputs.iter().map(|&j| &values[j]).collect(),
            output: &values[index],
        }
    }

    /// The first input's type.
    pub fn input(&self) -> &ValueType {
        self.inputs
            .first()
            .expect("validated: the op reads a value")
    }
}

/// A node's place in the latency table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cost {
    /// The op's name in the table (`linear`, `conv2d`, `max-pool2d`, …).
    pub name: &'static str,
    /// Parameters appended to the input shape in the table's key (kernel, stride, outputs…).
    pub parameters: Vec<usize>,
    /// Weight bits (0 for ops without weights).
    pub weight_bits: u32,
    /// Work per example the fitted lines scale with: multiply-adds, or elements moved.
    pub work: f64,
    /// Multiply-adds per example (0 for ops without weights).
    pub multiply_adds: usize,
}

impl Cost {
    /// The cost of an op without weights that moves `elements` per example.
    pub fn moves(name: &'static str, parameters: Vec<usize>, elements: usize) -> Self {
        Self {
            name,
            parameters,
            weight_bits: 0,
            work: elements as f64,
            multiply_adds: 0,
        }
    }
}

/// What validation of one node sees.
pub(crate) struct CheckContext<'a> {
    /// The node's index.
    pub node: usize,
    /// The node's name.
    pub name: &'a str,
    /// The whole model (its input spec).
    pub model: &'a QfmModel,
    /// The types of the values the node reads.
    pub inputs: Vec<&'a ValueType>,
    /// Bytes in the blob the weights point into.
    pub blob_len: usize,
}

impl CheckContext<'_> {
    /// An error that names this node.
    pub fn fail(&self, reason: impl Into<String>) -> RtError {
        RtError::InvalidModel {
            node: self.node,
            name: self.name.to_string(),
            reason: reason.into(),
        }
    }

    /// `Ok` when `ok`, else the error `reason()`.
    pub fn ensure(&self, ok: bool, reason: impl FnOnce() -> String) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(reason()))
        }
    }

    /// The first input's type (validation checked the arity).
    pub fn input(&self) -> &ValueType {
        self.inputs.first().expect("arity checked")
    }

    /// The first input as a u8 activation: its shape and quantization.
    pub fn quantized(&self, what: &str) -> Result<(&[usize], ActivationSpec)> {
        match self.input() {
            ValueType::Quantized { shape, activation } => Ok((shape, *activation)),
            other => Err(self.fail(format!("{what} needs a u8 activation input, got {other:?}"))),
        }
    }

    /// The first input as a `[height, width, channels]` image.
    pub fn image(&self, what: &str) -> Result<([usize; 3], ActivationSpec)> {
        let (shape, activation) = self.quantized(what)?;
        match shape[..] {
            [h, w, c] => Ok(([h, w, c], activation)),
            _ => Err(self.fail(format!(
                "{what} needs a [height, width, channels] input, got {shape:?}"
            ))),
        }
    }

    /// The model's input spec.
    pub fn model_input(&self) -> &InputSpec {
        &self.model.input
    }

    /// Checks an activation's bits, scale and zero point.
    pub fn activation(&self, a: &ActivationSpec) -> Result<()> {
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

    /// Checks that a per-channel list has one entry, or one per output.
    pub fn per_channel_len(&self, what: &str, len: usize, rows: usize) -> Result<()> {
        self.ensure(len == 1 || len == rows, || {
            format!("{what} has {len} entries; expected 1 or one per output ({rows})")
        })
    }

    /// Checks a weight matrix: bits, size, its bytes inside the blob, scales, zero points.
    pub fn weights(&self, w: &WeightSpec) -> Result<()> {
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
        let blob_len = self.blob_len;
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
}

/// One node's output during a run (the fields its value type uses).
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    /// u8 activation codes.
    pub codes: Vec<u8>,
    /// Pooled sums (zero point removed), per example and feature.
    pub sums: Vec<i32>,
    /// How many values each example's sums add up.
    pub counts: Vec<u32>,
    /// Float logits.
    pub logits: Vec<f32>,
}

/// Scratch buffers the operators share within one workspace, reused between runs.
#[derive(Debug, Default)]
pub(crate) struct Scratchpad {
    /// The kernels' own scratch (packed activations).
    pub kernel: Scratch,
    /// im2col patches (u8 rows).
    pub patches: Vec<u8>,
    /// im2col patches in rows of the AVX-512 panels' padded width, on cache lines.
    pub padded_patches: AlignedBytes,
    /// `Σ c·u` products before the epilogue.
    pub products: Vec<i32>,
    /// Accumulators of a logits layer.
    pub accumulators: Vec<i32>,
    /// Activation sums per GEMM row (for weight zero points).
    pub row_sums: Vec<i32>,
    /// Patches widened to i16 pairs (AVX2 GEMM).
    pub widened: Vec<i32>,
    /// An example's image with its padding (i16).
    pub padded_image: Vec<i16>,
    /// An example's image with its padding (u8).
    pub padded_bytes: Vec<u8>,
    /// Per-channel sums of average pooling.
    pub pool_sums: Vec<u32>,
    /// One unpacked embedding row.
    pub embedding_row: Vec<i8>,
}

/// What one operator's run reads and writes.
pub(crate) struct RunContext<'a> {
    /// Examples in the batch.
    pub batch: usize,
    /// The first input's buffer.
    pub input: &'a Buffer,
    /// The codes of a residual (second) input.
    pub residual: Option<&'a [u8]>,
    /// The output buffer.
    pub output: &'a mut Buffer,
    /// Shared scratch.
    pub scratch: &'a mut Scratchpad,
    /// The batch's token ids (token models).
    pub ids: &'a [u32],
}

/// The zero point of a u8 activation value (0 for sums and logits).
pub(crate) fn zero_point(value: &ValueType) -> i32 {
    match value {
        ValueType::Quantized { activation, .. } => activation.zero_point,
        _ => 0,
    }
}

/// `[h, w, c]` of an image, or `[1, tokens, features]` of a token sequence.
pub(crate) fn shape3(value: &ValueType) -> [usize; 3] {
    match value {
        ValueType::Quantized { shape, .. } if shape.len() == 2 => [1, shape[0], shape[1]],
        ValueType::Quantized { shape, .. } => [shape[0], shape[1], shape[2]],
        _ => unreachable!("validated image value"),
    }
}

/// The output size of a window of `kernel` at `stride` over `size` padded by `padding` on
/// each side; `None` when it does not fit.
pub(crate) fn window_output(
    size: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Option<usize> {
    let padded = size.checked_add(2 * padding)?;
    (kernel >= 1 && stride >= 1 && padded >= kernel).then(|| (padded - kernel) / stride + 1)
}
