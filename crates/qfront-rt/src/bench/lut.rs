//! The latency look-up table: per-layer costs measured on the machine it runs on, keyed by
//! what determines a layer's cost (op, shapes, bits, batch), and a predictor that sums them.
//!
//! Entries come from profiling whole models node by node (so each layer is timed with the
//! caches in the state a real run leaves them). A layer whose key is in the table costs its
//! measured median; an unseen layer costs a per-(op, bits) line `a + b·work` fitted by least
//! squares to the table, with `work` its multiply-adds (or elements moved, for ops without
//! weights). The prediction of a model is the sum over its nodes.

use super::latency::{run_once, synthetic_input, LatencyOptions};
use crate::format::{
    ActivationSpec, ConvGeometry, InputSpec, LayerOutput, ModelBuilder, Op, QfmFile,
    QuantizedWeights, RealAffine, TokenPooling, ValueType,
};
use crate::{Result, Session};
use qfront_quant::packing::code_range;
use qfront_quant::BitWidth;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What a layer's cost depends on.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct LayerKey {
    /// Op name (`linear`, `conv2d`, `max-pool2d`, `input`, …).
    pub op: String,
    /// Input shape followed by the op's parameters (kernel, stride, padding, groups, outputs).
    pub dims: Vec<usize>,
    /// Weight bits (0 for ops without weights).
    pub weight_bits: u32,
    /// Examples per run.
    pub batch: usize,
}

/// The keys and work of every node of a model (node 0 is the input quantization).
pub fn layer_keys(file: &QfmFile, batch: usize) -> Vec<(LayerKey, f64)> {
    let layout = file.layout();
    file.model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let input_dims: Vec<usize> = match node.inputs.first().map(|&j| &layout.values[j]) {
                Some(ValueType::Quantized { shape, .. }) => shape.clone(),
                Some(other) => vec![other.elements()],
                None => vec![],
            };
            let out = layout.values[i].elements();
            let (op, mut extra, bits, work) = match &node.op {
                Op::Input => ("input", vec![out], 0, out as f64),
                Op::Linear { params } => {
                    let w = &params.weights;
                    let rows_in = input_dims.iter().product::<usize>() / w.columns.max(1);
                    (
                        "linear",
                        vec![w.rows],
                        w.bits,
                        (rows_in * w.rows * w.columns) as f64,
                    )
                }
                Op::Conv2d {
                    kernel,
                    stride,
                    padding,
                    groups,
                    params,
                } => {
                    let w = &params.weights;
                    let positions = out / w.rows.max(1);
                    let mut e = vec![
                        kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                        *groups, w.rows,
                    ];
                    e.push(node.inputs.len());
                    ("conv2d", e, w.bits, (positions * w.rows * w.columns) as f64)
                }
                Op::MaxPool2d { kernel, stride } => (
                    "max-pool2d",
                    vec![kernel[0], kernel[1], stride[0], stride[1]],
                    0,
                    out as f64,
                ),
                Op::AvgPool2d { kernel, stride } => (
                    "avg-pool2d",
                    vec![kernel[0], kernel[1], stride[0], stride[1]],
                    0,
                    out as f64,
                ),
                Op::GlobalAvgPool => (
                    "global-avg-pool",
                    vec![],
                    0,
                    input_dims.iter().product::<usize>() as f64,
                ),
                Op::PadChannels { extra } => ("pad-channels", vec![*extra], 0, out as f64),
                Op::Flatten => ("flatten", vec![], 0, out as f64),
                Op::Embedding { weights } => (
                    "embedding",
                    vec![weights.rows, weights.columns],
                    weights.bits,
                    out as f64,
                ),
                Op::TokenPool { mode } => (
                    match mode {
                        TokenPooling::Mean => "token-mean",
                        TokenPooling::Max => "token-max",
                    },
                    vec![],
                    0,
                    input_dims.iter().product::<usize>() as f64,
                ),
            };
            let mut dims = input_dims;
            dims.append(&mut extra);
            (
                LayerKey {
                    op: op.into(),
                    dims,
                    weight_bits: bits,
                    batch,
                },
                work * batch as f64,
            )
        })
        .collect()
}

/// Median per-node times (ms) of a model over timed runs.
pub fn profile_nodes(
    file: &QfmFile,
    session: &mut Session,
    options: &LatencyOptions,
) -> Result<Vec<f64>> {
    let input = synthetic_input(session.input_spec(), options.batch);
    session.set_profiling(true);
    let start = Instant::now();
    for _ in 0..options.warmup_loops {
        if start.elapsed() >= options.warmup_time {
            break;
        }
        run_once(session, &input, options.batch)?;
    }
    let nodes = file.model.nodes.len();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); nodes];
    let start = Instant::now();
    while samples[0].len() < options.max_loops
        && (samples[0].is_empty() || start.elapsed() < options.max_time)
    {
        run_once(session, &input, options.batch)?;
        for (s, &t) in samples.iter_mut().zip(session.node_seconds()) {
            s.push(t * 1e3);
        }
    }
    session.set_profiling(false);
    Ok(samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect())
}

/// A fitted line `a + b·work` for one (op, bits).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CostLine {
    /// Fixed cost (ms).
    pub intercept_ms: f64,
    /// Cost per unit of work (ms).
    pub slope_ms: f64,
}

/// One measured layer: the mean over the models it appeared in of its per-model median time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LutEntry {
    /// What it is.
    pub key: LayerKey,
    /// Mean time (ms).
    pub ms: f64,
    /// Multiply-adds or elements moved per run.
    pub work: f64,
    /// Models it was measured in.
    pub samples: u32,
}

/// The table: measured layers plus fitted lines.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencyTable {
    /// Where it was measured (CPU model, kernel set).
    pub machine: String,
    /// Measured layers.
    pub entries: Vec<LutEntry>,
    /// Lines per "op/bits".
    pub lines: BTreeMap<String, CostLine>,
}

/// The line a key falls back to: op, weight bits and the rank of its input (a convolution
/// over a token sequence and one over an image have different costs per multiply-add).
fn line_name(key: &LayerKey) -> String {
    let rank = match key.op.as_str() {
        "conv2d" | "linear" => {
            key.dims
                .len()
                .saturating_sub(if key.op == "conv2d" { 9 } else { 1 })
        }
        _ => 0,
    };
    format!("{}/w{}/r{rank}", key.op, key.weight_bits)
}

impl LatencyTable {
    /// An empty table for `machine`.
    pub fn new(machine: String) -> Self {
        Self {
            machine,
            entries: Vec::new(),
            lines: BTreeMap::new(),
        }
    }

    /// Profiles `file` and adds its layers (a layer seen before enters its running mean).
    pub fn add_model(
        &mut self,
        file: &QfmFile,
        session: &mut Session,
        options: &LatencyOptions,
    ) -> Result<()> {
        let times = profile_nodes(file, session, options)?;
        for ((key, work), ms) in layer_keys(file, options.batch).into_iter().zip(times) {
            match self.entries.iter_mut().find(|e| e.key == key) {
                Some(e) => {
                    e.samples += 1;
                    e.ms += (ms - e.ms) / e.samples as f64;
                }
                None => self.entries.push(LutEntry {
                    key,
                    ms,
                    work,
                    samples: 1,
                }),
            }
        }
        Ok(())
    }

    /// Fits the per-(op, bits, input rank) lines by weighted least squares with weights
    /// `1/t²`, i.e. minimising the squared *relative* error, so small layers count as much
    /// as large ones (a single point gives a line through the origin).
    pub fn fit(&mut self) {
        let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for e in &self.entries {
            if e.ms > 0.0 {
                groups
                    .entry(line_name(&e.key))
                    .or_default()
                    .push((e.work, e.ms));
            }
        }
        self.lines = groups
            .into_iter()
            .map(|(name, points)| {
                let weight = |y: f64| 1.0 / (y * y);
                let sw: f64 = points.iter().map(|p| weight(p.1)).sum();
                let mx = points.iter().map(|p| weight(p.1) * p.0).sum::<f64>() / sw;
                let my = points.iter().map(|p| weight(p.1) * p.1).sum::<f64>() / sw;
                let sxx: f64 = points
                    .iter()
                    .map(|p| weight(p.1) * (p.0 - mx).powi(2))
                    .sum();
                let sxy: f64 = points
                    .iter()
                    .map(|p| weight(p.1) * (p.0 - mx) * (p.1 - my))
                    .sum();
                let line = if points.len() >= 2 && sxx > 0.0 {
                    let slope = (sxy / sxx).max(0.0);
                    CostLine {
                        intercept_ms: (my - slope * mx).max(0.0),
                        slope_ms: slope,
                    }
                } else {
                    CostLine {
                        intercept_ms: 0.0,
                        slope_ms: if mx > 0.0 { my / mx } else { 0.0 },
                    }
                };
                (name, line)
            })
            .collect();
    }

    /// Predicted latency (ms per run) of a model: measured layers where known, fitted lines
    /// elsewhere.
    pub fn predict(&self, file: &QfmFile, batch: usize) -> f64 {
        layer_keys(file, batch)
            .into_iter()
            .map(|(key, work)| {
                if let Some(e) = self.entries.iter().find(|e| e.key == key) {
                    return e.ms;
                }
                self.lines
                    .get(&line_name(&key))
                    .map_or(0.0, |l| l.intercept_ms + l.slope_ms * work)
            })
            .sum()
    }
}

/// Random model families for building and checking a table: the shapes a study searches
/// (MLP, LeNet-style CNN, NLU conv model), with widths from fixed menus and per-layer weight
/// and activation bits in 2..=8. Weights are random: latency does not depend on their values.
pub fn random_model(seed: u64) -> Result<QfmFile> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut pick = |menu: &[usize]| menu[next() % menu.len()];
    let bits_menu = [2, 3, 4, 5, 8];
    let family = pick(&[0, 1, 2]);
    let weights = |rows: usize, columns: usize, bits: usize, codes_seed: usize| {
        let (lo, hi) = code_range(BitWidth::new(bits as u32).expect("menu bits"));
        let span = (hi - lo + 1) as usize;
        QuantizedWeights {
            codes: (0..rows * columns)
                .map(|i| (lo + ((i * 7919 + codes_seed) % span) as i32) as i8)
                .collect(),
            rows,
            columns,
            bits: bits as u32,
            scale: vec![0.02],
            zero_point_x2: vec![0],
        }
    };
    let real = |rows: usize| RealAffine::bias_only(vec![0.01; rows]);
    let act = |bits: usize| {
        LayerOutput::Activation(ActivationSpec {
            bits: bits as u32,
            scale: 0.05,
            zero_point: 0,
        })
    };
    let file = match family {
        0 => {
            let input = InputSpec::Image {
                height: 28,
                width: 28,
                channels: 1,
                scale: 1.0 / 255.0,
                zero_point: 0,
            };
            let mut b = ModelBuilder::new("mlp", "qfront bench lut", input)?;
            let mut h = b.flatten("flatten", 0)?;
            let mut features = 784;
            let layers = pick(&[1, 2, 3]);
            for i in 0..layers {
                let width = pick(&[64, 128, 256, 512]);
                let bits = if i == 0 { 8 } else { pick(&bits_menu) };
                h = b.linear(
                    &format!("fc{i}"),
                    h,
                    &weights(width, features, bits, i),
                    &real(width),
                    act(pick(&bits_menu)),
                )?;
                features = width;
            }
            b.linear(
                "classifier",
                h,
                &weights(10, features, 8, 99),
                &real(10),
                LayerOutput::Logits,
            )?;
            b.finish()?
        }
        1 => {
            let input = InputSpec::Image {
                height: 28,
                width: 28,
                channels: 1,
                scale: 1.0 / 255.0,
                zero_point: 0,
            };
            let mut b = ModelBuilder::new("lenet", "qfront bench lut", input)?;
            let k = pick(&[3, 5]);
            let geometry = ConvGeometry {
                kernel: [k, k],
                stride: [1, 1],
                padding: [k / 2, k / 2],
                groups: 1,
            };
            let c1 = pick(&[8, 16, 32]);
            let c2 = pick(&[16, 32, 64]);
            let fc = pick(&[64, 128, 256]);
            let h = b.conv2d(
                "conv1",
                0,
                None,
                geometry,
                &weights(c1, k * k, 8, 1),
                &real(c1),
                act(pick(&bits_menu)),
            )?;
            let h = b.max_pool("pool1", h, [2, 2], [2, 2])?;
            let h = b.conv2d(
                "conv2",
                h,
                None,
                geometry,
                &weights(c2, k * k * c1, pick(&bits_menu), 2),
                &real(c2),
                act(pick(&bits_menu)),
            )?;
            let h = b.max_pool("pool2", h, [2, 2], [2, 2])?;
            let h = b.flatten("flatten", h)?;
            let h = b.linear(
                "fc",
                h,
                &weights(fc, 49 * c2, pick(&bits_menu), 3),
                &real(fc),
                act(pick(&bits_menu)),
            )?;
            b.linear(
                "classifier",
                h,
                &weights(10, fc, 8, 4),
                &real(10),
                LayerOutput::Logits,
            )?;
            b.finish()?
        }
        _ => {
            let input = InputSpec::Tokens {
                max_tokens: 32,
                vocabulary: 4097,
                words: Vec::new(),
            };
            let mut b = ModelBuilder::new("nlu", "qfront bench lut", input)?;
            let dim = pick(&[32, 64, 128]);
            let hidden = pick(&[64, 128, 256]);
            let k = pick(&[1, 3, 5]);
            let e = b.embedding("embedding", 0, &weights(4097, dim, 8, 5))?;
            let geometry = ConvGeometry {
                kernel: [1, k],
                stride: [1, 1],
                padding: [0, k / 2],
                groups: 1,
            };
            let h = b.conv2d(
                "block0",
                e,
                None,
                geometry,
                &weights(hidden, k * dim, pick(&bits_menu), 6),
                &real(hidden),
                act(pick(&bits_menu)),
            )?;
            let mode = if pick(&[0, 1]) == 0 {
                TokenPooling::Mean
            } else {
                TokenPooling::Max
            };
            let p = b.token_pool("pool", h, mode)?;
            b.linear(
                "classifier",
                p,
                &weights(7, hidden, 8, 7),
                &real(7),
                LayerOutput::Logits,
            )?;
            b.finish()?
        }
    };
    Ok(file)
}

/// Options of a table-building run with a short time budget per model.
pub fn quick_options(batch: usize) -> LatencyOptions {
    LatencyOptions {
        warmup_loops: 20,
        warmup_time: Duration::from_millis(50),
        max_loops: 2000,
        max_time: Duration::from_millis(300),
        batch,
    }
}
