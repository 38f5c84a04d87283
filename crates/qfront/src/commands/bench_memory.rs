//! `qfront bench memory`: the memory a model's weights take when it runs, per weight width.
//! Each width's wide model (`qfront_rt::bench::random_models::wide_model`) is written to a
//! temporary `.qfm` and run by a child `qfront bench latency` (so each measures its own
//! process), which reports the bytes its session holds and the process's peak resident set
//! size. A child on a tiny model gives the process's own baseline, subtracted to get the
//! weight memory; the ratios to the 8-bit model are printed last.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

/// Options of `qfront bench memory`.
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// The wide model: `mlp` (a 64×64 image through fully connected layers) or `cnn` (3×3
    /// convolutions on a 16×16×64 image).
    #[arg(long, default_value = "mlp")]
    family: String,
    /// Outputs (MLP) or channels (CNN) of each weighted layer.
    #[arg(long, default_value_t = 4096)]
    width: usize,
    /// Weighted layers before the classifier.
    #[arg(long, default_value_t = 3)]
    layers: usize,
    /// Weight widths to measure (comma list, 2..=8; the first is the reference of the
    /// ratios, so give 8 first).
    #[arg(long, default_value = "8,4,2", value_delimiter = ',')]
    bits: Vec<u32>,
    /// Batch sizes whose latency is measured too (comma list).
    #[arg(long, default_value = "1,8,32", value_delimiter = ',')]
    batch: Vec<usize>,
    /// Measurement time per latency, seconds.
    #[arg(long, default_value_t = 1.0)]
    max_time: f64,
    /// Keep the models in this directory (`w<bits>.qfm`, `tiny.qfm`), e.g. to run another
    /// runtime on them; by default they go to a temporary directory that is removed.
    #[arg(long)]
    keep_models: Option<std::path::PathBuf>,
}

/// Where the models go: a directory under the system's temporary directory, removed when
/// dropped (`true`), or one the user keeps.
struct ScratchDir(std::path::PathBuf, bool);

impl ScratchDir {
    fn new() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("qfront-bench-memory-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path, true))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The metrics of one child `qfront bench latency` run.
fn run_child(model: &std::path::Path, batch: usize, max_time: f64) -> Result<Value> {
    let exe = std::env::current_exe().context("finding the qfront executable")?;
    let output = std::process::Command::new(exe)
        .args(["bench", "latency"])
        .arg(model)
        .args([
            "--batch",
            &batch.to_string(),
            "--max-time",
            &max_time.to_string(),
        ])
        .output()
        .context("running qfront bench latency")?;
    if !output.status.success() {
        bail!(
            "qfront bench latency {} failed: {}",
            model.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut metrics = serde_json::Map::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let v: Value = serde_json::from_str(line).context("a JSON line of bench latency")?;
        if let (Some(name), Some(value)) = (v["metric"].as_str(), v.get("value")) {
            metrics.insert(name.to_string(), value.clone());
        }
        if let Some(kernels) = v.get("machine").and_then(|m| m.get("kernels")) {
            metrics.insert("kernels".into(), kernels.clone());
        }
    }
    Ok(Value::Object(metrics))
}

/// Runs `qfront bench memory`.
pub fn run(args: MemoryArgs) -> Result<()> {
    if args.bits.is_empty() || args.bits.iter().any(|b| !(2..=8).contains(b)) {
        bail!("--bits {:?}: give widths in 2..=8", args.bits);
    }
    if args.width == 0 || args.layers == 0 || args.batch.contains(&0) {
        bail!("--width, --layers and every --batch must be at least 1");
    }
    let dir = match &args.keep_models {
        Some(path) => {
            std::fs::create_dir_all(path)
                .with_context(|| format!("creating {}", path.display()))?;
            ScratchDir(path.clone(), false)
        }
        None => ScratchDir::new()?,
    };
    let baseline_model = dir.path().join("tiny.qfm");
    qfront_rt::bench::random_models::wide_model(&args.family, 16, 1, 8)?.write(&baseline_model)?;
    let baseline = run_child(&baseline_model, 1, 0.05)?;
    let base_rss = baseline["peak_rss_bytes"].as_f64().unwrap_or(0.0);
    let mut rows = Vec::new();
    for &bits in &args.bits {
        let path = dir.path().join(format!("w{bits}.qfm"));
        let file = qfront_rt::bench::random_models::wide_model(
            &args.family,
            args.width,
            args.layers,
            bits,
        )?;
        let file_bytes = file.to_bytes().len();
        file.write(&path)?;
        drop(file);
        let mut latencies = serde_json::Map::new();
        let mut memory = Value::Null;
        for &batch in &args.batch {
            let m = run_child(&path, batch, args.max_time)?;
            latencies.insert(format!("batch_{batch}_ms"), m["median_ms"].clone());
            if memory.is_null() {
                memory = m;
            }
        }
        let peak = memory["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN);
        let row = json!({
            "family": args.family,
            "width": args.width,
            "layers": args.layers,
            "bits": bits,
            "file_bytes": file_bytes,
            "session_weight_bytes": memory["weight_bytes"],
            "peak_rss_bytes": peak,
            "weight_memory_bytes": peak - base_rss,
            "latency_ms": latencies,
            "kernels": memory.get("kernels").cloned().unwrap_or(Value::Null),
        });
        println!("{row}");
        rows.push(row);
    }
    let reference = rows[0]["weight_memory_bytes"].as_f64().unwrap_or(f64::NAN);
    let reference_session = rows[0]["session_weight_bytes"].as_f64().unwrap_or(f64::NAN);
    for row in &rows[1..] {
        println!(
            "{}",
            json!({
                "bits": row["bits"],
                "against_bits": rows[0]["bits"],
                "weight_memory_ratio": row["weight_memory_bytes"].as_f64().unwrap_or(f64::NAN) / reference,
                "session_weight_ratio": row["session_weight_bytes"].as_f64().unwrap_or(f64::NAN) / reference_session,
            })
        );
    }
    println!("{}", json!({"baseline_peak_rss_bytes": base_rss}));
    Ok(())
}
