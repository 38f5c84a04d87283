//! `qfront study create | ask | tell`: the optimizer for a trainer in any language. `ask`
//! prints one JSON line per trial (`{"trial": n, "params": {...}}`); the trainer measures
//! the study's metrics and `tell`s them (`--values '{"accuracy": 0.93, "latency_ms": 2.1}'`)
//! or a failure (`--failed "out of memory"`). Everything lives in the study's store.

use super::search::load_config;
use super::storage::StorageArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use qfront_study::search::{ask_external, open_study, tell_external, WorkerOptions};
use qfront_study::store::{StorageLocation, Store};
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
    /// List the studies of a store (JSON lines: name, trials by state).
    List(ListStudiesArgs),
}

/// Options of `qfront study list`.
#[derive(Debug, Args)]
pub struct ListStudiesArgs {
    /// Where the studies are.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Options of `qfront study create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A preset (default snips-nlu).
    pub preset: Option<String>,
    /// A study config (TOML) instead of a preset.
    #[arg(long, conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// Where to store the study.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Options of `qfront study ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// Where the study is.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Trials to ask at once.
    #[arg(long, default_value_t = 1)]
    pub n: usize,
}

/// Options of `qfront study tell`.
#[derive(Debug, Args)]
pub struct TellArgs {
    /// Where the study is.
    #[command(flatten)]
    pub storage: StorageArgs,
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

/// Runs `qfront study ...`.
pub fn run(command: StudyCommand) -> Result<()> {
    match command {
        StudyCommand::List(args) => {
            let (location, _) = args.storage.stored()?;
            if let StorageLocation::Sqlite(path) = &location {
                if !path.exists() {
                    bail!(
                        "{} does not exist; give the --dir or --storage of a study",
                        path.display()
                    );
                }
            }
            let mut store = Store::open(&location)?;
            for name in store.study_names()? {
                store.select_study(Some(&name))?;
                let mut states: BTreeMap<String, usize> = BTreeMap::new();
                for t in store.trials()? {
                    *states.entry(t.state.to_string()).or_default() += 1;
                }
                println!("{}", serde_json::json!({"study": name, "trials": states}));
            }
        }
        StudyCommand::Create(args) => {
            let mut config = load_config(args.preset.as_deref(), args.config.as_ref())?;
            if let Some(name) = &args.storage.study {
                config.name = name.clone();
            }
            let dir = args.storage.dir_for(&config.name);
            let location = args.storage.location(&dir)?;
            let (study, _) = open_study(config, &location, false)?;
            println!(
                "{}",
                serde_json::json!({"study": study.config.name, "dir": dir, "storage": location.to_string(), "objectives": study.config.objectives, "constraints": study.config.constraints})
            );
        }
        StudyCommand::Ask(args) => {
            if args.n == 0 {
                bail!("--n must be at least 1");
            }
            let (study, mut store, _) = args.storage.open_stored()?;
            let stale_after = WorkerOptions::default().stale_after;
            for trial in ask_external(&study, &mut store, args.n, stale_after)? {
                println!(
                    "{}",
                    serde_json::json!({"trial": trial.number, "params": trial.params, "proposal": trial.proposal})
                );
            }
        }
        StudyCommand::Tell(args) => {
            let outcome = match (args.values, args.failed) {
                (Some(text), None) => Ok(serde_json::from_str::<BTreeMap<String, f64>>(&text)
                    .with_context(|| {
                        format!("--values '{text}' is not a JSON object of numbers")
                    })?),
                (None, Some(reason)) => Err(reason),
                _ => bail!("give --values '{{\"metric\": value, ...}}' or --failed REASON"),
            };
            let (study, mut store, _) = args.storage.open_stored()?;
            tell_external(&study, &mut store, args.trial, outcome)?;
        }
    }
    Ok(())
}
