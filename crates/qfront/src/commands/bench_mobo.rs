//! `qfront bench mobo`: multi-objective optimization quality and speed on the standard test
//! problems, in the peers' format (hypervolume after every evaluation, seconds per iteration).

use crate::output::Format;
use anyhow::{bail, Result};
use clap::Args;
use qfront_bo::benchmark::{run_benchmark, BenchmarkEvent, BenchmarkSettings};
use qfront_bo::problems::{problem_by_name, PROBLEM_NAMES};
use qfront_bo::Method;
use std::io::Write;

/// Options of `qfront bench mobo`.
#[derive(Debug, Args)]
pub struct MoboArgs {
    /// Problem (kebab case): branin-currin, dtlz1, dtlz2, dtlz2-30d, zdt1, vehicle-safety, ...
    #[arg(long)]
    problem: String,
    /// Method: sobol, qnehvi, qnehvi-saas, qlognehvi, qlognehvi-saas or qparego.
    #[arg(long, default_value = "qnehvi")]
    method: String,
    /// Evaluations per seed (initial design included).
    #[arg(long, default_value_t = 50)]
    budget: usize,
    /// Number of seeds (0..K, offset by --first-seed).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Points per iteration after the initial design.
    #[arg(long, default_value_t = 1)]
    q: usize,
    /// Input dimension (DTLZ, ZDT, DH).
    #[arg(long)]
    dim: Option<usize>,
    /// Objectives (DTLZ).
    #[arg(long)]
    objectives: Option<usize>,
    /// Initial Sobol points (default 2(d + 1)).
    #[arg(long)]
    initial_points: Option<usize>,
    /// qNEHVI Monte-Carlo samples.
    #[arg(long, default_value_t = 128)]
    mc_samples: usize,
    /// Acquisition raw samples.
    #[arg(long, default_value_t = 512)]
    raw_samples: usize,
    /// Acquisition restarts.
    #[arg(long, default_value_t = 10)]
    restarts: usize,
    /// SAAS: NUTS warm-up draws.
    #[arg(long, default_value_t = 512)]
    saas_warmup: u64,
    /// SAAS: NUTS draws after warm-up.
    #[arg(long, default_value_t = 256)]
    saas_samples: u64,
    /// SAAS: keep every n-th draw.
    #[arg(long, default_value_t = 16)]
    saas_thinning: u64,
    /// Output: jsonl (every event and a summary per seed) or table (summaries).
    #[arg(long, default_value = "jsonl")]
    format: String,
}

/// Runs `qfront bench mobo`.
pub fn run(args: MoboArgs) -> Result<()> {
    let format = match args.format.as_str() {
        "jsonl" | "json" => Format::Json,
        "table" => Format::Table,
        other => bail!("--format '{other}' is not one of jsonl, table"),
    };
    let problem = problem_by_name(&args.problem, args.dim, args.objectives)
        .map_err(|e| anyhow::anyhow!("{e} (problems: {})", PROBLEM_NAMES.join(", ")))?;
    let method = Method::from_name(&args.method)?;
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let stdout = std::io::stdout();
    let mut summaries = Vec::new();
    for seed in args.first_seed..args.first_seed + args.seeds {
        let settings = BenchmarkSettings {
            method,
            budget: args.budget,
            seed,
            batch_size: args.q,
            initial_points: args.initial_points,
            mc_samples: args.mc_samples,
            raw_samples: args.raw_samples,
            restarts: args.restarts,
            saas: qfront_bo::gp::SaasOptions {
                warmup: args.saas_warmup,
                samples: args.saas_samples,
                thinning: args.saas_thinning,
                seed,
                ..Default::default()
            },
        };
        let label =
            serde_json::json!({"problem": problem.name(), "method": method.name(), "seed": seed});
        let summary = run_benchmark(problem.as_ref(), &settings, |event| {
            if format == Format::Json {
                let mut record = serde_json::to_value(event).unwrap_or_default();
                if let (Some(r), Some(l)) = (record.as_object_mut(), label.as_object()) {
                    r.extend(l.clone());
                }
                let _ = writeln!(stdout.lock(), "{record}");
            }
            if let BenchmarkEvent::Iteration {
                iteration,
                evaluations,
                seconds,
                ..
            } = event
            {
                tracing::debug!(seed, iteration, evaluations, seconds, "iteration");
            }
        })?;
        tracing::info!(
            seed,
            final_hv = summary.final_hv,
            log10_hv_regret = summary.log10_hv_regret,
            median_iter_seconds = summary.median_iter_seconds,
            "run finished"
        );
        if format == Format::Json {
            let mut record = serde_json::to_value(&summary)?;
            if let Some(r) = record.as_object_mut() {
                r.insert("event".into(), "summary".into());
            }
            writeln!(stdout.lock(), "{record}")?;
        }
        summaries.push(summary);
    }
    if format == Format::Table {
        println!(
            "{:<16} {:<8} {:>5} {:>6} {:>14} {:>10} {:>10}",
            "problem", "method", "seed", "evals", "final hv", "log10 gap", "s/iter"
        );
        for s in &summaries {
            println!(
                "{:<16} {:<8} {:>5} {:>6} {:>14.6} {:>10} {:>10.4}",
                s.problem,
                s.method,
                s.seed,
                s.evaluations,
                s.final_hv,
                s.log10_hv_regret.map_or("-".into(), |v| format!("{v:.3}")),
                s.median_iter_seconds
            );
        }
        let n = summaries.len() as f64;
        let mean = summaries.iter().map(|s| s.final_hv).sum::<f64>() / n;
        let sd = (summaries
            .iter()
            .map(|s| (s.final_hv - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0).max(1.0))
        .sqrt();
        println!(
            "mean final hv {mean:.6} ± {sd:.6} over {} seeds",
            summaries.len()
        );
    }
    Ok(())
}
