//! The latency look-up table: per-layer costs measured on the machine it runs on, keyed by
//! what determines a layer's cost (op, shapes, bits, batch), and a predictor that sums them.
//!
//! Entries come from profiling whole models node by node (so each layer is timed with the
//! caches in the state a real run leaves them). A layer whose key is in the table costs its
//! measured median; an unseen layer costs a per-(op, bits) line `a + b·work` fitted by least
//! squares to the table, with `work` its multiply-adds (or elements moved, for ops without
//! weights). The prediction of a model is the sum over its nodes.

use super::latency::{run_once, synthetic_input, LatencyOptions};
use crate::format::{QfmFile, ValueType};
use crate::ops::{self, NodeTypes};
use crate::{Result, RtError, Session};
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

/// The keys and work of every node of a model (node 0 is the input quantization); each op
/// says what its cost depends on (`crate::ops`, `Operator::cost`).
pub fn layer_keys(file: &QfmFile, batch: usize) -> Vec<(LayerKey, f64)> {
    let layout = file.layout();
    file.model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let types = NodeTypes::of(&layout.values, &node.inputs, i);
            let cost = ops::operator(&node.op).cost(&types);
            let mut dims: Vec<usize> = match types.inputs.first() {
                Some(ValueType::Quantized { shape, .. }) => shape.clone(),
                Some(other) => vec![other.elements()],
                None => vec![],
            };
            dims.extend(cost.parameters);
            (
                LayerKey {
                    op: cost.name.into(),
                    dims,
                    weight_bits: cost.weight_bits,
                    batch,
                },
                cost.work * batch as f64,
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

    /// Predicted latency (ms per run) of a model: the sum over its nodes of the measured time
    /// of a layer the table holds, else the fitted line of its op, weight bits and input
    /// rank, else the line of the same op and rank at the nearest measured weight width (a
    /// kernel's cost per multiply-add changes little between neighbouring widths). A layer
    /// whose op the table never measured is refused, naming it, rather than costed 0 ms.
    pub fn predict(&self, file: &QfmFile, batch: usize) -> Result<f64> {
        let mut total = 0.0;
        for (node, (key, work)) in file.model.nodes.iter().zip(layer_keys(file, batch)) {
            if let Some(e) = self.entries.iter().find(|e| e.key == key) {
                total += e.ms;
                continue;
            }
            // Ops without weights have one line (bits 0): no other width to fall back to.
            let line = self.lines.get(&line_name(&key)).or_else(|| {
                (1..=8u32)
                    .filter(|_| key.weight_bits > 0)
                    .flat_map(|gap| [key.weight_bits + gap, key.weight_bits.wrapping_sub(gap)])
                    .filter(|bits| (2..=8).contains(bits))
                    .find_map(|bits| {
                        self.lines.get(&line_name(&LayerKey {
                            weight_bits: bits,
                            ..key.clone()
                        }))
                    })
            });
            let Some(line) = line else {
                return Err(RtError::Parameter {
                    name: "latency table",
                    reason: format!(
                        "node '{}' is a {} layer{}, which the table ({}) never measured; rebuild it with `qfront bench lut` over more models (--models), or measure latency locally",
                        node.name,
                        key.op,
                        if key.weight_bits > 0 { format!(" with {}-bit weights", key.weight_bits) } else { String::new() },
                        self.machine
                    ),
                });
            };
            total += line.intercept_ms + line.slope_ms * work;
        }
        Ok(total)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::random_models::{random_model, Widths};

    fn line(intercept_ms: f64, slope_ms: f64) -> CostLine {
        CostLine {
            intercept_ms,
            slope_ms,
        }
    }

    /// An MLP among the random models.
    fn mlp(widths: Widths) -> QfmFile {
        (0..)
            .map(|seed| random_model(seed, widths).unwrap())
            .find(|f| f.model.name == "mlp")
            .unwrap()
    }

    #[test]
    fn unmeasured_widths_take_the_nearest_measured_line() {
        let mut table = LatencyTable::new("test".into());
        table.lines.insert("input/w0/r0".into(), line(0.01, 0.0));
        table.lines.insert("flatten/w0/r0".into(), line(0.002, 0.0));
        table.lines.insert("linear/w8/r1".into(), line(0.1, 1e-6));
        table.lines.insert("linear/w2/r1".into(), line(0.3, 1e-6));
        let file = mlp(Widths::OffMenu);
        let mut expected = 0.0;
        for (key, work) in layer_keys(&file, 1) {
            expected += match key.op.as_str() {
                "input" => 0.01,
                "flatten" => 0.002,
                // 2..=4 bits are nearer 2; 5 is 3 from both and takes 8's line (the search
                // tries the wider width first at equal distance).
                _ if key.weight_bits <= 4 => 0.3 + 1e-6 * work,
                _ => 0.1 + 1e-6 * work,
            };
        }
        let predicted = table.predict(&file, 1).unwrap();
        assert!(
            (predicted - expected).abs() < 1e-12,
            "{predicted} vs {expected}"
        );
    }

    #[test]
    fn an_op_the_table_never_measured_is_refused_by_name() {
        let mut table = LatencyTable::new("test machine".into());
        let options = LatencyOptions {
            warmup_loops: 1,
            max_loops: 3,
            max_time: Duration::from_millis(5),
            ..quick_options(1)
        };
        let file = mlp(Widths::Menu);
        table
            .add_model(
                &file,
                &mut Session::new(&file, crate::KernelSet::Reference),
                &options,
            )
            .unwrap();
        table.fit();
        assert!(table.predict(&mlp(Widths::OffMenu), 1).unwrap() > 0.0);
        let resnet = (0..)
            .map(|seed| random_model(seed, Widths::Menu).unwrap())
            .find(|f| f.model.name == "resnet")
            .unwrap();
        let err = table.predict(&resnet, 1).unwrap_err().to_string();
        assert!(
            err.contains("conv2d")
                && err.contains("never measured")
                && err.contains("test machine"),
            "{err}"
        );
    }
}
