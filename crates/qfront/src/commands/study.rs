//! `qfront study create | ask | tell`: the optimizer for a trainer in any language. `ask`
//! prints one JSON line per trial (`{"trial": n, "params": {...}}`); the trainer measures
//! the study's metrics and `tell`s them (`--values '{"accuracy": 0.93, "latency_ms": 2.1}'`)
//! or a failure (`--failed "out of memory"`). Everything lives in the study's store.

use super::search::load_config;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use qfront_study::search::{ask_external, open_study, tell_external};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `qfront study` subcommands.
#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Create a study (from a preset or a TOML config) without running any trial.
    Create(CreateArgs),
    /// Ask the optimizer for trials (JSON lines on stdout).
    Ask(AskArgs),
    /// Tell the optimizer what a trial measured.
    Tell(TellArgs),
}

/// Options of `qfront study create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A preset (default snips-nlu).
    pub preset: Option<String>,
    /// A study config (TOML) instead of a preset.
    #[arg(long, conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// Study directory (default runs/<study name>).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Options of `qfront study ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// Study directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Trials to ask at once.
    #[arg(long, default_value_t = 1)]
    pub n: usize,
}

/// Options of `qfront study tell`.
#[derive(Debug, Args)]
pub struct TellArgs {
    /// Study directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// The trial number `ask` printed.
    #[arg(long)]
    pub trial: usize,
    /// Measured metrics as a JSON object.
    #[arg(long, conflicts_with = "failed")]
    pub values: Option<String>,
    /// Report the trial as failed, with the reason.
    #[arg(long)]
    pub failed: Option<String>,
}

fn open(
    dir: &std::path::Path,
) -> Result<(
    qfront_study::Study,
    qfront_study::store::Store,
    qfront_bo::Optimizer,
)> {
    let (study, _) = qfront_study::search::load_stored(dir)?;
    Ok(open_study(study.config, dir, true)?)
}

/// Runs `qfront study ...`.
pub fn run(command: StudyCommand) -> Result<()> {
    match command {
        StudyCommand::Create(args) => {
            let config = load_config(args.preset.as_deref(), args.config.as_ref())?;
            let dir = args
                .dir
                .unwrap_or_else(|| PathBuf::from("runs").join(&config.name));
            let (study, _, _) = open_study(config, &dir, false)?;
            println!(
                "{}",
                serde_json::json!({"study": study.config.name, "dir": dir, "objectives": study.config.objectives, "constraints": study.config.constraints})
            );
        }
        StudyCommand::Ask(args) => {
            if args.n == 0 {
                bail!("--n must be at least 1");
            }
            let (study, mut store, mut optimizer) = open(&args.dir)?;
            for (trial, params) in ask_external(&study, &mut store, &mut optimizer, args.n)? {
                println!("{}", serde_json::json!({"trial": trial, "params": params}));
            }
        }
        StudyCommand::Tell(args) => {
            let (study, mut store, mut optimizer) = open(&args.dir)?;
            let outcome = match (args.values, args.failed) {
                (Some(text), None) => Ok(serde_json::from_str::<BTreeMap<String, f64>>(&text)
                    .with_context(|| {
                        format!("--values '{text}' is not a JSON object of numbers")
                    })?),
                (None, Some(reason)) => Err(reason),
                _ => bail!("give --values '{{\"metric\": value, ...}}' or --failed REASON"),
            };
            tell_external(&study, &mut store, &mut optimizer, args.trial, outcome)?;
        }
    }
    Ok(())
}
