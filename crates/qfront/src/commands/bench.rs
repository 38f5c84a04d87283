//! `qfront bench`: measurements that compare qfront with its peers.
//!
//! `qfront bench train-step` times one QAT optimisation step (forward, loss, backward, SGD or
//! Adam update, PACT α clamp) of a model on a fixed random batch and, for the LeNet and SNIPS
//! NLU models with the default recipe, the same step in PyTorch in the same run when a Python
//! with torch is found (`--pytorch`), printing the ratio. `bench/train_step.sh` runs both
//! models at both precisions.

use super::bench_pytorch::{resolve_python, run_peer, PeerModel, PeerRun};
use super::model_args::{ModelArgs, ModelName};
use crate::output::Format;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use qfront_train::burn::tensor::Device;
use qfront_train::data::{Features, Split};
use qfront_train::models::{model_cost, Model};
use qfront_train::recipe::FamilyName;
use qfront_train::spec::InputShape;
use qfront_train::training::{batch_input, LrSchedule, OptimizerKind, TrainConfig, TrainStep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// `qfront bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time one training step (forward, backward, update) on a fixed random batch.
    TrainStep(Box<TrainStepArgs>),
    /// Multi-objective optimization on a test problem: hypervolume per evaluation, seconds
    /// per iteration (JSON lines).
    Mobo(Box<super::bench_mobo::MoboArgs>),
    /// Latency of a `.qfm` model with the integer runtime (JSON lines: median/p90/p99/mean ms,
    /// loops, threads, machine), locally or through `--device-cmd`.
    Latency(Box<super::bench_latency::LatencyArgs>),
    /// Build a per-layer latency look-up table on this machine and report its prediction
    /// error on held-out random models (JSON lines).
    Lut(Box<super::bench_latency::LutArgs>),
    /// Throughput of the integer matrix kernels (GEMM, or GEMV with --m 1) per weight width.
    Kernel(Box<super::bench_latency::KernelArgs>),
    /// The memory a wide model's weights take when it runs, per weight width (peak RSS of a
    /// child `bench latency`, and the bytes its session holds), with its latency (JSON lines).
    Memory(Box<super::bench_memory::MemoryArgs>),
    /// Time and peak memory of loading a dataset (your own files or a built-in one), against
    /// the size of the tensors it produces (JSON line).
    Data(Box<super::bench_data::DataBenchArgs>),
    /// The time of one model-based ask after a long history of completed trials (JSON
    /// lines, one per size).
    Ask(Box<super::bench_ask::AskBenchArgs>),
    /// What the study store costs per trial (ask and tell, no training), on SQLite or
    /// PostgreSQL, with one or more workers (JSON line).
    Store(Box<super::bench_store::StoreBenchArgs>),
}

/// Options of `qfront bench train-step`.
#[derive(Debug, Args)]
pub struct TrainStepArgs {
    /// The model (defaults as in `qfront train`; give `--model lenet` for the LeNet bench).
    #[command(flatten)]
    model: ModelArgs,
    /// Input shape: `CxHxW` for images (Fashion-MNIST is 1x28x28), or `tokens` for the NLU
    /// model (`--max-tokens` hashed ids per example).
    #[arg(long, default_value = "1x28x28")]
    input: String,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Worker threads (0 = rayon's default, one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Optimizer: sgd (momentum 0.9, the PyTorch script's) or adam.
    #[arg(long, default_value = "sgd")]
    optimizer: String,
    /// The PyTorch peer: `auto` (python3 when it imports torch), `none`, or a Python
    /// interpreter. Runs for LeNet on 1x28x28 / 10 classes and the NLU model on tokens / 7
    /// classes with the default recipe and SGD, and prints its record and the ratio.
    #[arg(long, default_value = "auto")]
    pytorch: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs a `qfront bench` subcommand.
pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::TrainStep(args) => train_step(*args),
        BenchCommand::Mobo(args) => super::bench_mobo::run(*args),
        BenchCommand::Latency(args) => super::bench_latency::run_latency(*args),
        BenchCommand::Lut(args) => super::bench_latency::run_lut(*args),
        BenchCommand::Data(args) => super::bench_data::run(*args),
        BenchCommand::Kernel(args) => super::bench_latency::run_kernel(*args),
        BenchCommand::Memory(args) => super::bench_memory::run(*args),
        BenchCommand::Store(args) => super::bench_store::run(*args),
        BenchCommand::Ask(args) => super::bench_ask::run(*args),
    }
}

fn parse_input(text: &str, max_tokens: usize, buckets: usize) -> Result<InputShape> {
    if text == "tokens" {
        return Ok(InputShape::Tokens {
            max_tokens,
            vocabulary: buckets + 1,
        });
    }
    let dims: Vec<usize> = text
        .split('x')
        .map(|d| d.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .ok()
        .filter(|d: &Vec<usize>| d.len() == 3 && d.iter().all(|&v| v > 0))
        .with_context(|| {
            format!("--input '{text}' is not CxHxW with positive sizes (e.g. 1x28x28) or 'tokens'")
        })?;
    Ok(InputShape::Image {
        channels: dims[0],
        height: dims[1],
        width: dims[2],
    })
}

/// A seeded random batch of the given shape: pixels uniform in [0, 1) or token ids uniform in
/// `1..vocabulary` (no padding); labels uniform.
fn random_batch(input: &InputShape, classes: usize, n: usize) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let features = match input {
        InputShape::Image {
            channels,
            height,
            width,
        } => Features::Images {
            pixels: (0..n * channels * height * width)
                .map(|_| rng.gen::<f32>())
                .collect(),
            shape: [*channels, *height, *width],
        },
        InputShape::Tokens {
            max_tokens,
            vocabulary,
        } => Features::Tokens {
            ids: (0..n * max_tokens)
                .map(|_| rng.gen_range(1..*vocabulary as i64))
                .collect(),
            max_tokens: *max_tokens,
        },
    };
    Split {
        features,
        labels: (0..n).map(|_| rng.gen_range(0..classes)).collect(),
    }
}

/// The PyTorch script's model when the benchmarked one is it: LeNet or the NLU model with
/// every size, quantizer and bit width at its default, equal weight and activation bits, SGD.
fn peer_model(args: &TrainStepArgs, name: &ModelName, input: &InputShape) -> Option<PeerModel> {
    let m = &args.model;
    let default_recipe = m.wbits == m.abits
        && m.first_bits.is_none()
        && m.last_bits.is_none()
        && m.weight_quantizer == "sawb"
        && m.edge_weight_quantizer == "min-max"
        && !m.pact_plus
        && m.width == 1.0
        && m.hidden.is_none()
        && m.dropout == 0.0
        && args.optimizer == "sgd";
    if !default_recipe {
        return None;
    }
    match (name, input) {
        (
            ModelName::Family(FamilyName::Lenet),
            InputShape::Image {
                channels: 1,
                height: 28,
                width: 28,
            },
        ) if args.classes == 10 => Some(PeerModel::Lenet),
        (ModelName::Family(FamilyName::Nlu), InputShape::Tokens { max_tokens: 32, .. })
            if args.classes == 7 && m.buckets == 4096 && m.blocks == 1 && m.nlu_block == "conv" =>
        {
            Some(PeerModel::Nlu)
        }
        _ => None,
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank]
}

fn train_step(args: TrainStepArgs) -> Result<()> {
    if args.batch_size == 0 || args.steps == 0 || args.classes < 2 {
        bail!("--batch-size and --steps must be positive and --classes at least 2");
    }
    if args.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .context("cannot size the worker pool (--threads)")?;
    }
    let input = parse_input(&args.input, args.model.max_tokens, args.model.buckets)?;
    let model_name = args
        .model
        .model_name(matches!(input, InputShape::Tokens { .. }))?;
    let spec = args
        .model
        .build_spec(&model_name, input.clone(), args.classes)?;
    let optimizer = match args.optimizer.as_str() {
        "sgd" => OptimizerKind::Sgd { momentum: 0.9 },
        "adam" => OptimizerKind::Adam,
        other => bail!("--optimizer '{other}' is not one of sgd, adam"),
    };
    let config = TrainConfig {
        optimizer,
        learning_rate: 0.01,
        weight_decay: 1e-4,
        schedule: LrSchedule::Constant,
        epochs: 1,
        batch_size: args.batch_size,
        seed: 0,
    };
    config.validate()?;
    // The peer is resolved before timing, so a bad --pytorch fails fast.
    let peer = match peer_model(&args, &model_name, &input) {
        Some(model) => resolve_python(&args.pytorch)?.map(|python| (model, python)),
        None => {
            if args.pytorch != "none" {
                tracing::info!("no PyTorch peer for this model or recipe (LeNet and the NLU model with their defaults have one)");
            }
            None
        }
    };
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model = Model::build(&spec, 0, &device)?;
    let batch = random_batch(&input, args.classes, args.batch_size);
    let rows: Vec<usize> = (0..args.batch_size).collect();
    let mut stepper = TrainStep::new(&config, args.classes);
    let mut times = Vec::with_capacity(args.steps);
    for i in 0..args.warmup + args.steps {
        let started = Instant::now();
        // Building the batch tensors is part of a real step, so it is timed too.
        let (x, y) = batch_input(&batch, &rows, &device);
        let outcome;
        (model, outcome) = stepper.step(model, x, y, config.learning_rate);
        if !outcome.loss.is_finite() {
            bail!("the loss diverged during the benchmark ({})", outcome.loss);
        }
        if i >= args.warmup {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = quantile(&sorted, 0.5);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let threads = rayon::current_num_threads();
    let cost = model_cost(&spec);
    let record = serde_json::json!({
        "bench": "train-step",
        "framework": "qfront (burn 0.22.1 flex)",
        "model": model_name.cli_name(),
        "input": args.input,
        "wbits": args.model.wbits,
        "abits": args.model.abits,
        "batch_size": args.batch_size,
        "threads": threads,
        "steps": args.steps,
        "median_ms": median,
        "mean_ms": mean,
        "min_ms": sorted[0],
        "p90_ms": quantile(&sorted, 0.9),
        "examples_per_second": args.batch_size as f64 / (median / 1e3),
        "forward_macs_per_example": cost.macs,
    });
    let peer = match peer {
        Some((model, python)) => {
            tracing::info!("timing the same step in PyTorch ({python})");
            let run = PeerRun {
                model,
                bits: args.model.wbits,
                batch_size: args.batch_size,
                threads,
                steps: args.steps,
                warmup: args.warmup,
            };
            Some(run_peer(&python, &run)?)
        }
        None => None,
    };
    let ratio = peer.as_ref().and_then(|p| {
        let theirs = p.get("median_ms")?.as_f64()?;
        Some(serde_json::json!({
            "bench": "train-step-ratio",
            "model": model_name.cli_name(),
            "mode": if args.model.wbits >= 32 { "float".to_string() } else { format!("QAT W{}A{}", args.model.wbits, args.model.abits) },
            "batch_size": args.batch_size,
            "threads": threads,
            "qfront_median_ms": median,
            "pytorch_median_ms": theirs,
            "ratio": median / theirs,
            "pytorch": p.get("framework").cloned().unwrap_or_default(),
        }))
    });
    match args.format {
        Format::Json => {
            println!("{}", serde_json::to_string(&record)?);
            for extra in [&peer, &ratio].into_iter().flatten() {
                println!("{}", serde_json::to_string(extra)?);
            }
        }
        Format::Table => {
            println!(
                "{:<16} {} W{}A{}",
                "model",
                model_name.cli_name(),
                args.model.wbits,
                args.model.abits
            );
            println!("{:<16} {}", "batch size", args.batch_size);
            println!("{:<16} {}", "threads", threads);
            println!("{:<16} {:.2}", "median ms", median);
            println!("{:<16} {:.2}", "mean ms", mean);
            println!("{:<16} {:.2}", "p90 ms", quantile(&sorted, 0.9));
            if let Some(ratio) = &ratio {
                println!(
                    "{:<16} {:.2}",
                    "pytorch ms",
                    ratio["pytorch_median_ms"].as_f64().unwrap_or(f64::NAN)
                );
                println!(
                    "{:<16} {:.3}",
                    "ratio",
                    ratio["ratio"].as_f64().unwrap_or(f64::NAN)
                );
            }
        }
    }
    Ok(())
}
