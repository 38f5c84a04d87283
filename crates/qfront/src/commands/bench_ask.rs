//! `qfront bench ask`: the time of one model-based ask after a long history, the cost a
//! study pays per trial once it has many. The history is `--trials` Sobol points of a test
//! problem (DTLZ2 with 10 parameters and 3 objectives by default), told with their values;
//! then one ask is timed (GP fits and acquisition separately). Prints one JSON line per size.

use anyhow::{bail, Result};
use clap::Args;
use qfront_bo::problems::problem_by_name;
use qfront_bo::space::SearchSpace;
use qfront_bo::{Method, Optimizer, OptimizerConfig};
use std::time::Instant;

/// Options of `qfront bench ask`.
#[derive(Debug, Args)]
pub struct AskBenchArgs {
    /// Completed trials before the timed ask (comma list).
    #[arg(long, default_value = "100,500,1000")]
    trials: String,
    /// Problem (as `qfront bench mobo --problem`).
    #[arg(long, default_value = "dtlz2")]
    problem: String,
    /// Parameters of the problem.
    #[arg(long, default_value_t = 10)]
    dim: usize,
    /// Objectives of the problem.
    #[arg(long, default_value_t = 3)]
    objectives: usize,
    /// Method: qnehvi, qnehvi-saas, qlognehvi, qparego, ...
    #[arg(long, default_value = "qnehvi")]
    method: String,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs `qfront bench ask`.
pub fn run(args: AskBenchArgs) -> Result<()> {
    let sizes: Vec<usize> = args
        .trials
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            anyhow::anyhow!(
                "--trials {}: {e} (give a comma list of counts)",
                args.trials
            )
        })?;
    if sizes.iter().any(|&n| n < 2) {
        bail!("--trials: every count must be at least 2");
    }
    let problem = problem_by_name(&args.problem, Some(args.dim), Some(args.objectives))?;
    let method = Method::from_name(&args.method)?;
    for n in sizes {
        let mut config = OptimizerConfig::new(
            SearchSpace::unit_cube(problem.dim())?,
            problem.num_objectives(),
            Method::Sobol,
            args.seed,
        );
        config.reference_point = Some(problem.reference_point().iter().map(|v| -v).collect());
        let mut history = Optimizer::new(config.clone())?;
        for trial in history.ask(n)? {
            let values = problem
                .evaluate_unit(&trial.x)
                .into_iter()
                .map(|v| -v)
                .collect();
            history.tell(trial.id, Ok(values))?;
        }
        // The same history under the method being timed.
        config.method = method;
        let mut optimizer = Optimizer::new(config)?.with_trials(history.trials().to_vec())?;
        optimizer.skip_sobol_points(n);
        let started = Instant::now();
        let asked = optimizer.ask(1)?;
        let seconds = started.elapsed().as_secs_f64();
        let timing = optimizer.last_timing();
        println!(
            "{}",
            serde_json::json!({
                "bench": "ask",
                "problem": problem.name(),
                "method": method.name(),
                "trials": n,
                "ask_s": seconds,
                "fit_s": timing.fit_seconds,
                "acquisition_s": timing.acquisition_seconds,
                "asked": asked.len(),
            })
        );
    }
    Ok(())
}
