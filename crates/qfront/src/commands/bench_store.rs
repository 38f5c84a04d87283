//! `qfront bench store`: what the study store costs per trial, without training. Each trial
//! is one ask (the study's lock, the optimizer read, a Sobol point asked, the trial stored as
//! running, the optimizer written back) and one tell (the same, with the outcome), as
//! `qfront search` does, on a space of `--params` floats with a cheap objective. Workers are
//! threads with a connection each. Prints one JSON line.

use anyhow::Result;
use clap::Args;
use qfront_bo::space::{Parameter, SearchSpace};
use qfront_bo::{Method, Optimizer, OptimizerConfig};
use qfront_study::store::{StorageLocation, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Options of `qfront bench store`.
#[derive(Debug, Args)]
pub struct StoreBenchArgs {
    /// Storage URL (default: a SQLite file in a new temporary directory).
    #[arg(long)]
    storage: Option<String>,
    /// Trials in all.
    #[arg(long, default_value_t = 200)]
    trials: usize,
    /// Float parameters of the search space.
    #[arg(long, default_value_t = 5)]
    params: usize,
    /// Workers (threads, each with its own connection).
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

/// Runs `qfront bench store`.
pub fn run(args: StoreBenchArgs) -> Result<()> {
    if args.trials == 0 || args.params == 0 || args.workers == 0 {
        anyhow::bail!("--trials, --params and --workers must be at least 1");
    }
    let scratch = std::env::temp_dir().join(format!("qfront-bench-store-{}", std::process::id()));
    let location = match &args.storage {
        Some(url) => StorageLocation::parse(url)?,
        None => StorageLocation::in_dir(&scratch),
    };
    let name = format!(
        "bench-store-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros()
    );
    let space = SearchSpace::new(
        (0..args.params)
            .map(|i| Parameter::float(&format!("x{i}"), 0.0, 1.0))
            .collect(),
    )?;
    let optimizer = Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 0))?;
    let mut store = Store::open(&location)?;
    store.create_study(&name, "", &optimizer)?;
    let durations = Arc::new(Mutex::new(Vec::with_capacity(args.trials)));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.workers)
        .map(|w| {
            let (location, name, durations) = (location.clone(), name.clone(), durations.clone());
            let trials = args.trials;
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::open(&location)?;
                store.select_study(Some(&name))?;
                let worker = format!("bench:{w}:0");
                loop {
                    let begin = Instant::now();
                    let asked = store.locked(|l| {
                        if l.optimizer.trials().len() >= trials {
                            return Ok(None);
                        }
                        let t = l.optimizer.ask(1)?.remove(0);
                        l.insert_trial(t.id, 0, Some(&worker), true)?;
                        Ok(Some(t))
                    })?;
                    let Some(trial) = asked else { return Ok(()) };
                    let value: f64 = trial.x.iter().map(|x| (x - 0.5) * (x - 0.5)).sum();
                    let metrics = BTreeMap::from([("objective".to_string(), value)]);
                    store.locked(|l| l.tell(trial.id, Ok((&metrics, vec![-value]))))?;
                    durations
                        .lock()
                        .expect("no worker panics holding it")
                        .push((trial.id, begin.elapsed().as_secs_f64()));
                }
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
    }
    let total = started.elapsed().as_secs_f64();
    // What each ask and tell reads and writes back at the end of the run.
    let state_bytes = serde_json::to_string(&store.optimizer()?)?.len();
    store.delete_study()?;
    std::fs::remove_dir_all(&scratch).ok();
    let mut by_trial = durations.lock().expect("workers are done").clone();
    by_trial.sort_by_key(|(id, _)| *id);
    let ms: Vec<f64> = by_trial.iter().map(|(_, s)| s * 1e3).collect();
    let tenth = (ms.len() / 10).max(1);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "bench": "store",
            "store": if location.is_shared() { "postgresql" } else { "sqlite" },
            "trials": ms.len(),
            "params": args.params,
            "workers": args.workers,
            "total_s": total,
            "optimizer_state_bytes": state_bytes,
            "trials_per_s": ms.len() as f64 / total,
            "ask_tell_ms_mean": mean(&ms),
            "ask_tell_ms_first_tenth": mean(&ms[..tenth]),
            "ask_tell_ms_last_tenth": mean(&ms[ms.len() - tenth..]),
        })
    );
    Ok(())
}
