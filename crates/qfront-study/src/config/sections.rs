//! The optional sections of a study's TOML: `[latency]` (how a trial's latency is measured),
//! `[saas]` (the SAAS GP's NUTS chain) and `[one_bitwidth]` (Chin et al.'s comparison).

use std::path::PathBuf;

/// How a trial's latency is measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySection {
    /// `local` (the runtime on this machine), `lut` (a latency table from `qfront bench lut
    /// --out`), or `device` (a command template, as `qfront bench latency --device-cmd`).
    #[serde(default)]
    pub mode: LatencyMode,
    /// Examples per run.
    #[serde(default = "one")]
    pub batch: usize,
    /// Measurement time per trial, seconds (local).
    #[serde(default = "default_time")]
    pub max_time: f64,
    /// Threads of the runtime's large GEMMs (local), and `{threads}` of a device command.
    #[serde(default = "one")]
    pub threads: usize,
    /// The table (mode `lut`).
    #[serde(default)]
    pub table: Option<PathBuf>,
    /// The command template (mode `device`), e.g. `ssh board qfront bench latency {model}`;
    /// `{onnx}` is the trial's ONNX file (with `onnx = true`), e.g. for
    /// `onnxruntime_perf_test {onnx}` on the device.
    #[serde(default)]
    pub device_cmd: Option<String>,
}

/// NUTS settings of the SAAS GP (`[saas]`). The defaults are lighter than BoTorch's
/// 512 / 256 / 16 / 6 because a study has tens of trials, where the chain mixes quickly;
/// `qfront bench mobo` uses BoTorch's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaasSection {
    /// Warm-up (tuning) draws.
    #[serde(default = "saas_warmup")]
    pub warmup: u64,
    /// Draws after warm-up.
    #[serde(default = "saas_samples")]
    pub samples: u64,
    /// Keep every n-th draw.
    #[serde(default = "saas_thinning")]
    pub thinning: u64,
    /// Maximum NUTS tree depth.
    #[serde(default = "saas_depth")]
    pub max_tree_depth: u64,
}

fn saas_warmup() -> u64 {
    256
}
fn saas_samples() -> u64 {
    128
}
fn saas_thinning() -> u64 {
    16
}
fn saas_depth() -> u64 {
    6
}

impl Default for SaasSection {
    fn default() -> Self {
        Self {
            warmup: saas_warmup(),
            samples: saas_samples(),
            thinning: saas_thinning(),
            max_tree_depth: saas_depth(),
        }
    }
}

/// How a validated study measures latency: the `[latency]` section, checked once.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyPlan {
    /// The runtime on this machine.
    Local,
    /// A per-layer latency table (read when the trials start).
    Table(PathBuf),
    /// A device command template.
    Device(String),
}

/// How a trial's latency is obtained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyMode {
    /// Measured with the runtime on this machine.
    #[default]
    Local,
    /// Predicted from a per-layer latency table.
    Lut,
    /// Measured on a device through a command template.
    Device,
}
/// Serde default of count fields: 1.
pub(super) fn one() -> usize {
    1
}
fn default_time() -> f64 {
    0.3
}
impl Default for LatencySection {
    fn default() -> Self {
        Self {
            mode: LatencyMode::Local,
            batch: 1,
            max_time: default_time(),
            threads: 1,
            table: None,
            device_cmd: None,
        }
    }
}

/// The one-bitwidth comparison of Chin et al. 2020: each uniform weight width in `bits` at
/// the width multiplier aligned to the size of (`reference_bits`, `reference_width`), against
/// `mixed_budget` per-layer mixed-precision configurations searched at the same size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneBitwidthSection {
    /// Uniform weight widths compared.
    pub bits: Vec<u32>,
    /// Weight bits of the reference model that sets the size.
    pub reference_bits: u32,
    /// Width multiplier of the reference model.
    #[serde(default = "one_f")]
    pub reference_width: f64,
    /// The layers whose bits the mixed-precision search chooses.
    pub mixed_layers: Vec<String>,
    /// Mixed-precision trials.
    pub mixed_budget: usize,
}

fn one_f() -> f64 {
    1.0
}
