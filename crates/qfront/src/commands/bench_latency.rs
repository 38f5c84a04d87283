//! `qfront bench latency` (one `.qfm` model, locally or through a device command) and
//! `qfront bench lut` (build a per-layer latency table and report its prediction error on
//! held-out random models). Both print JSON lines on stdout.

use anyhow::{bail, Result};
use clap::Args;
use qfront_rt::bench::lut::{quick_options, LatencyTable};
use qfront_rt::bench::random_models::{random_model, Widths};
use qfront_rt::bench::{expand_template, measure_latency, run_device_command, LatencyOptions};
use qfront_rt::{KernelSet, QfmFile, Session};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `qfront bench latency`.
#[derive(Debug, Args)]
pub struct LatencyArgs {
    /// The `.qfm` model.
    pub model: PathBuf,
    /// Threads of the executor's large GEMMs (1..=256; small and batch-1 products stay on
    /// one thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Untimed warm-up runs at most.
    #[arg(long, default_value_t = 100)]
    pub warmup_loops: usize,
    /// Warm-up time at most, seconds.
    #[arg(long, default_value_t = 0.2)]
    pub warmup_time: f64,
    /// Timed runs at most.
    #[arg(long, default_value_t = 100_000)]
    pub max_loops: usize,
    /// Measurement time at most, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub max_time: f64,
    /// Examples per run.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Use the scalar reference kernels.
    #[arg(long)]
    pub reference_kernels: bool,
    /// Measure on another machine: a shell command template run instead of the local
    /// measurement, e.g. `ssh board qfront bench latency {model}` ({model}, {batch} and
    /// {threads} are substituted). Its output may be qfront JSON lines or TFLite, ExecuTorch or
    /// PyTorch benchmark output. qfront copies nothing itself.
    #[arg(long)]
    pub device_cmd: Option<String>,
    /// Also print the median time of every node (one JSON line each).
    #[arg(long)]
    pub per_node: bool,
}

/// A one-line description of this machine.
pub fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    json!({
        "machine": {
            "cpu": cpu,
            "logical_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "arch": std::env::consts::ARCH,
            "os": std::env::consts::OS,
            "kernels": KernelSet::detect().name(),
            "qfront": env!("CARGO_PKG_VERSION"),
        }
    })
}

fn seconds(name: &str, value: f64) -> Result<Duration> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("--{name} {value} must be a non-negative number of seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

/// Runs `qfront bench latency`.
pub fn run_latency(args: LatencyArgs) -> Result<()> {
    if args.threads == 0 || args.threads > 256 {
        bail!("--threads {}: give 1..=256", args.threads);
    }
    if args.batch == 0 || args.max_loops == 0 {
        bail!("--batch and --max-loops must be at least 1");
    }
    if let Some(template) = &args.device_cmd {
        let command = expand_template(
            template,
            &args.model.to_string_lossy(),
            args.batch,
            args.threads,
        );
        tracing::info!(%command, "measuring on the device");
        let figures = run_device_command(&command)?;
        for (metric, value) in &figures {
            println!("{}", json!({"metric": metric, "value": value}));
        }
        println!("{}", json!({"machine": {"device_cmd": command}}));
        return Ok(());
    }
    let file = QfmFile::read(&args.model)?;
    let kernels = if args.reference_kernels {
        KernelSet::Reference
    } else {
        KernelSet::detect()
    };
    let mut session = Session::with_threads(&file, kernels, args.threads)?;
    let options = LatencyOptions {
        warmup_loops: args.warmup_loops,
        warmup_time: seconds("warmup-time", args.warmup_time)?,
        max_loops: args.max_loops,
        max_time: seconds("max-time", args.max_time)?,
        batch: args.batch,
    };
    if args.per_node {
        let times = qfront_rt::bench::lut::profile_nodes(&file, &mut session, &options)?;
        for (node, ms) in file.model.nodes.iter().zip(times) {
            println!("{}", json!({"node": node.name, "median_ms": ms}));
        }
    }
    let report = measure_latency(&mut session, &options)?;
    for (metric, value) in [
        ("median_ms", report.median_ms),
        ("p90_ms", report.p90_ms),
        ("p99_ms", report.p99_ms),
        ("mean_ms", report.mean_ms),
        ("loops", report.loops as f64),
        ("threads", args.threads as f64),
        ("weight_bytes", session.weight_bytes() as f64),
        (
            "batch_parts",
            match session.thread_plan(args.batch) {
                qfront_rt::ThreadPlan::Parts(parts) => parts as f64,
                _ => 1.0,
            },
        ),
        (
            "split_gemms",
            f64::from(session.thread_plan(args.batch) == qfront_rt::ThreadPlan::SplitGemms),
        ),
    ] {
        println!("{}", json!({"metric": metric, "value": value}));
    }
    if let Some(peak) = qfront_rt::bench::memory::peak_rss_bytes() {
        println!("{}", json!({"metric": "peak_rss_bytes", "value": peak}));
    }
    println!("{}", machine());
    Ok(())
}

/// Options of `qfront bench lut`.
#[derive(Debug, Args)]
pub struct LutArgs {
    /// Random models profiled to build the table.
    #[arg(long, default_value_t = 60)]
    pub models: usize,
    /// Held-out random models on which the prediction is checked (≥ 20 for the figure).
    #[arg(long, default_value_t = 24)]
    pub check: usize,
    /// Seed of the random models.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Examples per run.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Write the table (JSON) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `qfront bench lut`.
pub fn run_lut(args: LutArgs) -> Result<()> {
    if args.models == 0 || args.batch == 0 {
        bail!("--models and --batch must be at least 1");
    }
    let kernels = KernelSet::detect();
    let machine_line = machine();
    let mut table = LatencyTable::new(format!(
        "{} ({})",
        machine_line["machine"]["cpu"].as_str().unwrap_or("unknown"),
        kernels.name()
    ));
    let options = quick_options(args.batch);
    for i in 0..args.models as u64 {
        let file = random_model(
            args.seed.wrapping_mul(1_000_003).wrapping_add(i),
            Widths::Menu,
        )?;
        let mut session = Session::new(&file, kernels);
        table.add_model(&file, &mut session, &options)?;
    }
    table.fit();
    tracing::info!(
        entries = table.entries.len(),
        lines = table.lines.len(),
        "latency table built"
    );
    // Held-out models: seeds disjoint from the table's, with widths from the table's menus
    // and, separately, widths drawn anywhere in their ranges (layers never measured).
    for (widths, label) in [(Widths::Menu, "lut"), (Widths::OffMenu, "lut_off_menu")] {
        let (mut errors, mut refused) = (Vec::new(), 0);
        for j in 0..args.check as u64 {
            let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(500_000 + j);
            let file = random_model(seed, widths)?;
            let mut session = Session::new(&file, kernels);
            let measured = measure_latency(
                &mut session,
                &LatencyOptions {
                    max_time: Duration::from_millis(500),
                    ..options
                },
            )?
            .median_ms;
            let predicted = match table.predict(&file, args.batch) {
                Ok(ms) => ms,
                Err(e) => {
                    // An op the table never measured: refused, and counted.
                    refused += 1;
                    println!(
                        "{}",
                        json!({"model": file.model.name, "seed": seed, "widths": label, "measured_ms": measured, "refused": e.to_string()})
                    );
                    continue;
                }
            };
            let error = (predicted - measured) / measured;
            errors.push(error.abs());
            println!(
                "{}",
                json!({"model": file.model.name, "seed": seed, "widths": label, "measured_ms": measured, "predicted_ms": predicted, "relative_error": error})
            );
        }
        println!(
            "{}",
            json!({"metric": format!("{label}_models_refused"), "value": refused})
        );
        if !errors.is_empty() {
            errors.sort_by(f64::total_cmp);
            let median = errors[errors.len() / 2];
            println!(
                "{}",
                json!({"metric": format!("{label}_median_abs_error"), "value": median})
            );
            println!(
                "{}",
                json!({"metric": format!("{label}_max_abs_error"), "value": errors[errors.len() - 1]})
            );
            println!(
                "{}",
                json!({"metric": format!("{label}_models_checked"), "value": errors.len()})
            );
        }
    }
    println!("{machine_line}");
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&table)?)?;
        tracing::info!(path = %path.display(), "table written");
    }
    Ok(())
}

/// Options of `qfront bench kernel`.
#[derive(Debug, Args)]
pub struct KernelArgs {
    /// Rows of activations (batch × positions); 1 is a matrix–vector product.
    #[arg(long, default_value_t = 256)]
    pub m: usize,
    /// Reduction length.
    #[arg(long, default_value_t = 1024)]
    pub k: usize,
    /// Outputs (weight rows).
    #[arg(long, default_value_t = 1024)]
    pub n: usize,
    /// Weight bits to measure (comma list, 2..=8).
    #[arg(long, default_value = "8", value_delimiter = ',')]
    pub bits: Vec<u32>,
    /// Measurement time per width, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub max_time: f64,
    /// Use the scalar reference kernels.
    #[arg(long)]
    pub reference_kernels: bool,
    /// Threads (comma list): each width is measured at each count.
    #[arg(long, default_value = "1", value_delimiter = ',')]
    pub threads: Vec<usize>,
}

/// Runs `qfront bench kernel`: `m×k` u8 activations times `n×k` weights of each width; one JSON
/// line per width with the median time and the throughput in GOP/s (2·m·n·k operations).
pub fn run_kernel(args: KernelArgs) -> Result<()> {
    use qfront_rt::kernels::{PreparedWeights, Scratch};
    if args.m == 0 || args.k == 0 || args.n == 0 {
        bail!("--m, --k and --n must be at least 1");
    }
    let kernels = if args.reference_kernels {
        KernelSet::Reference
    } else {
        KernelSet::detect()
    };
    let max_time = seconds("max-time", args.max_time)?;
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let activations: Vec<u8> = (0..args.m * args.k).map(|_| next() as u8).collect();
    let peak = qfront_rt::bench::peak::int8_peak_gops(kernels);
    if args.threads.iter().any(|&t| t == 0 || t > 256) {
        bail!("--threads takes counts in 1..=256");
    }
    for (&bits, &threads) in args
        .bits
        .iter()
        .flat_map(|b| args.threads.iter().map(move |t| (b, t)))
    {
        let width = qfront_quant::BitWidth::new(bits)?;
        let (lo, hi) = qfront_quant::packing::code_range(width);
        let span = (hi - lo + 1) as u32;
        let codes: Vec<i8> = (0..args.n * args.k)
            .map(|_| (lo + (next() % span) as i32) as i8)
            .collect();
        let mut weights = PreparedWeights::new(codes, args.n, args.k, bits, kernels);
        weights.set_thread_pool(
            qfront_rt::kernels::thread_pool(threads).map_err(|e| anyhow::anyhow!(e))?,
        );
        let mut out = vec![0i32; args.m * args.n];
        let mut scratch = Scratch::default();
        weights.matmul(&activations, args.m, &mut out, &mut scratch);
        let mut samples = Vec::new();
        let start = std::time::Instant::now();
        while samples.len() < 3 || (start.elapsed() < max_time && samples.len() < 100_000) {
            let t = std::time::Instant::now();
            weights.matmul(&activations, args.m, &mut out, &mut scratch);
            samples.push(t.elapsed().as_secs_f64());
        }
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let ops = 2.0 * (args.m * args.n * args.k) as f64;
        let gops = ops / median / 1e9;
        println!(
            "{}",
            json!({"kernel": "matmul", "m": args.m, "k": args.k, "n": args.n, "bits": bits,
                   "kernels": kernels.name(), "threads": threads, "median_ms": median * 1e3, "gops": gops,
                   "fraction_of_peak": peak.map(|p| gops / p),
                   "weight_bytes_streamed": weights.streamed_bytes(), "loops": samples.len()})
        );
    }
    println!(
        "{}",
        json!({"metric": "int8_peak_gops", "value": peak, "kernels": kernels.name()})
    );
    println!("{}", machine());
    Ok(())
}
