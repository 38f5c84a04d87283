//! The PyTorch peer of `qfront bench train-step`: the same LeNet or SNIPS NLU model and QAT
//! recipe in PyTorch (`bench/train_step_torch.py`, compiled into the binary so an installed
//! `qfront` can run it), timed in the same run when a Python with torch is at hand.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// The PyTorch step benchmark (the same file `bench/train_step.sh` runs).
const TRAIN_STEP_TORCH: &str = include_str!("../../../../bench/train_step_torch.py");

/// Which model of the PyTorch script matches the benchmarked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerModel {
    /// LeNet 16-32-128 on 1×28×28, 10 classes.
    Lenet,
    /// The SNIPS NLU model (4,096 buckets, 64-dim embedding, conv 128 k3, max pooling), 32
    /// tokens, 7 classes.
    Nlu,
}

impl PeerModel {
    /// The script's `--model` value.
    fn name(self) -> &'static str {
        match self {
            PeerModel::Lenet => "lenet",
            PeerModel::Nlu => "nlu",
        }
    }
}

/// One timing request for the peer.
#[derive(Debug, Clone, Copy)]
pub struct PeerRun {
    /// The model.
    pub model: PeerModel,
    /// Weight and activation bits (32 = float).
    pub bits: u32,
    /// Batch size.
    pub batch_size: usize,
    /// Threads (`torch.set_num_threads`).
    pub threads: usize,
    /// Timed steps.
    pub steps: usize,
    /// Untimed warm-up steps.
    pub warmup: usize,
}

/// The Python to run the peer with: `auto` → `python3` when it imports torch (else none),
/// `none` → none, anything else → that interpreter, which must import torch.
pub fn resolve_python(choice: &str) -> Result<Option<String>> {
    let imports_torch = |python: &str| {
        Command::new(python)
            .args(["-c", "import torch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    match choice {
        "none" => Ok(None),
        "auto" => Ok(imports_torch("python3").then(|| "python3".to_string())),
        python if imports_torch(python) => Ok(Some(python.to_string())),
        python => bail!(
            "--pytorch {python}: that interpreter cannot import torch (pip install torch), or give --pytorch none"
        ),
    }
}

/// Runs the peer and returns its JSON record (`median_ms`, `framework`, …).
pub fn run_peer(python: &str, run: &PeerRun) -> Result<serde_json::Value> {
    let mut child = Command::new(python)
        .arg("-")
        .args(["--model", run.model.name()])
        .args(["--bits", &run.bits.to_string()])
        .args(["--batch-size", &run.batch_size.to_string()])
        .args(["--threads", &run.threads.to_string()])
        .args(["--steps", &run.steps.to_string()])
        .args(["--warmup", &run.warmup.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {python} for the PyTorch peer"))?;
    child
        .stdin
        .take()
        .context("the peer's stdin")?
        .write_all(TRAIN_STEP_TORCH.as_bytes())
        .context("cannot send the PyTorch benchmark to Python")?;
    let output = child.wait_with_output().context("the PyTorch peer")?;
    if !output.status.success() {
        bail!(
            "the PyTorch peer failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("the PyTorch peer printed '{line}'"))
}
