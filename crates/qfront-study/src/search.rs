//! The study loop: ask the optimizer, run the trials, tell the outcomes, persist after every
//! step; on resume, re-run the trials a killed process left running, then go on.

use crate::config::{Study, StudyConfig};
use crate::pipeline::{Metrics, TrialRunner};
use crate::settings::Settings;
use crate::store::{Store, StoredTrial};
use crate::{Result, StudyError};
use qfront_bo::moo::is_non_dominated;
use qfront_bo::space::ParamValue;
use qfront_bo::{Optimizer, Trial, TrialState};
use std::collections::BTreeMap;
use std::path::Path;

/// What the loop reports while it runs.
pub trait Observer {
    /// A trial starts.
    fn trial_started(&mut self, _number: usize, _params: &BTreeMap<String, serde_json::Value>) {}
    /// Training progress of the running trial.
    fn step(&mut self, _done: usize, _total: usize) {}
    /// A trial finished (metrics or error), and whether it is on the current front.
    fn trial_finished(
        &mut self,
        _number: usize,
        _outcome: std::result::Result<&Metrics, &str>,
        _on_front: bool,
    ) {
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

fn params_json(study: &Study, params: &[ParamValue]) -> BTreeMap<String, serde_json::Value> {
    study
        .optimizer
        .space
        .parameters()
        .iter()
        .zip(params)
        .map(|(p, v)| {
            (
                p.name.clone(),
                serde_json::to_value(v).expect("values serialise"),
            )
        })
        .collect()
}

fn settings_of(study: &Study, params: &[ParamValue]) -> Settings {
    study
        .optimizer
        .space
        .parameters()
        .iter()
        .zip(params)
        .map(|(p, v)| (p.name.clone(), v.clone()))
        .collect()
}

/// The values the optimizer maximizes: signed objectives, then constraint slacks.
pub fn optimizer_values(study: &Study, metrics: &Metrics) -> Vec<f64> {
    let mut v: Vec<f64> = study
        .objectives
        .iter()
        .map(|o| o.signed(metrics[&o.metric]))
        .collect();
    v.extend(
        study
            .constraints
            .iter()
            .map(|c| c.slack(metrics[&c.metric])),
    );
    v
}

/// The feasible, non-dominated complete trials.
pub fn pareto_trials<'a>(study: &Study, trials: &'a [StoredTrial]) -> Vec<&'a StoredTrial> {
    let feasible: Vec<&StoredTrial> = trials
        .iter()
        .filter(|t| t.state == "complete")
        .filter(|t| {
            study
                .constraints
                .iter()
                .all(|c| t.metrics.get(&c.metric).is_some_and(|&v| c.slack(v) >= 0.0))
        })
        .collect();
    let points: Vec<Vec<f64>> = feasible
        .iter()
        .map(|t| {
            study
                .objectives
                .iter()
                .map(|o| o.signed(t.metrics[&o.metric]))
                .collect()
        })
        .collect();
    is_non_dominated(&points)
        .into_iter()
        .zip(feasible)
        .filter(|(keep, _)| *keep)
        .map(|(_, t)| t)
        .collect()
}

/// Opens the study in `dir` (creating it from `config`, or checking that the stored one is the
/// same study when resuming).
pub fn open_study(
    config: StudyConfig,
    dir: &Path,
    resume: bool,
) -> Result<(Study, Store, Optimizer)> {
    // A bad config fails before anything is created on disk.
    let checked = config.clone().validate()?;
    let store = Store::open(&dir.join("study.db"))?;
    let config_toml =
        toml::to_string(&config).map_err(|e| StudyError::config("config", e.to_string()))?;
    match store.load_study()? {
        Some((name, stored_toml, optimizer)) => {
            if !resume {
                return Err(StudyError::config("dir", format!("{} already holds study '{name}'; pass --resume to continue it or choose another --dir", dir.display())));
            }
            let stored: StudyConfig = toml::from_str(&stored_toml)
                .map_err(|e| StudyError::config("stored config", e.to_string()))?;
            // The budget may grow on resume; everything else must match.
            let mut same = config.clone();
            same.budget = stored.budget;
            if same != stored {
                return Err(StudyError::config("config", format!("differs from the study stored in {}; resume with the same config (only the budget may change)", dir.display())));
            }
            Ok((checked, store, optimizer))
        }
        None => {
            let study = checked;
            let optimizer = Optimizer::new(study.optimizer.clone())?;
            store.create_study(&study.config.name, &config_toml, &optimizer)?;
            Ok((study, store, optimizer))
        }
    }
}

/// The seed trial `id` trains with.
fn trial_seed(study: &Study, id: usize) -> u64 {
    study.config.seed.wrapping_add(id as u64)
}

/// Asks `n` trials and records them as running together with the optimizer that asked them,
/// so a process killed from here on resumes them.
fn ask_and_record(
    study: &Study,
    store: &mut Store,
    optimizer: &mut Optimizer,
    n: usize,
) -> Result<Vec<Trial>> {
    let asked = optimizer.ask(n)?;
    let rows: Vec<_> = asked
        .iter()
        .map(|t| (t.id, params_json(study, &t.params), trial_seed(study, t.id)))
        .collect();
    store.begin_trials(optimizer, &rows)?;
    Ok(asked)
}

/// Runs trials until the budget is spent; returns every stored trial.
pub fn run_study(
    study: &Study,
    store: &mut Store,
    optimizer: &mut Optimizer,
    runner: &TrialRunner,
    observer: &mut dyn Observer,
) -> Result<Vec<StoredTrial>> {
    let budget = study.config.budget;
    loop {
        // Trials asked but not told: left running by a killed process (or just asked).
        let pending: Vec<Trial> = optimizer
            .trials()
            .iter()
            .filter(|t| t.state == TrialState::Pending)
            .cloned()
            .collect();
        let batch = if !pending.is_empty() {
            pending
        } else {
            let done = optimizer.trials().len();
            if done >= budget {
                break;
            }
            ask_and_record(
                study,
                store,
                optimizer,
                study.config.batch_size.min(budget - done),
            )?
        };
        for trial in batch {
            let seed = trial_seed(study, trial.id);
            let params = params_json(study, &trial.params);
            store.mark_started(trial.id)?;
            observer.trial_started(trial.id, &params);
            let result = runner.run(
                trial.id,
                &settings_of(study, &trial.params),
                seed,
                |done, total| {
                    observer.step(done, total);
                },
            );
            // A measurement that is not a finite number (a device command printing NaN, say)
            // fails the trial rather than the study.
            let result = result.and_then(|metrics| {
                let values = optimizer_values(study, &metrics);
                match values.iter().position(|v| !v.is_finite()) {
                    None => Ok(metrics),
                    Some(i) => Err(StudyError::config(
                        "metrics",
                        format!(
                            "trial {}: measured value {} of {} is not finite",
                            trial.id,
                            values[i],
                            study
                                .objectives
                                .iter()
                                .map(|o| o.label())
                                .chain(study.constraints.iter().map(|c| c.label()))
                                .nth(i)
                                .unwrap_or_default()
                        ),
                    )),
                }
            });
            match result {
                Ok(metrics) => {
                    optimizer.tell(trial.id, Ok(optimizer_values(study, &metrics)))?;
                    store.finish_trial(optimizer, trial.id, Ok(&metrics))?;
                    let trials = store.trials()?;
                    let on_front = pareto_trials(study, &trials)
                        .iter()
                        .any(|t| t.number == trial.id);
                    observer.trial_finished(trial.id, Ok(&metrics), on_front);
                }
                Err(e) => {
                    let reason = e.to_string();
                    optimizer.tell(trial.id, Err(reason.clone()))?;
                    store.finish_trial(optimizer, trial.id, Err(&reason))?;
                    observer.trial_finished(trial.id, Err(&reason), false);
                }
            }
        }
    }
    store.trials()
}

/// Reads a stored study (config and trials) from `dir`, for the commands that inspect it.
pub fn load_stored(dir: &Path) -> Result<(Study, Vec<StoredTrial>)> {
    let path = dir.join("study.db");
    if !path.exists() {
        return Err(StudyError::config(
            "dir",
            format!(
                "{} holds no study (no study.db); run `qfront search --dir {}` first",
                dir.display(),
                dir.display()
            ),
        ));
    }
    let store = Store::open(&path)?;
    let (_, config, _) = store.load_study()?.ok_or_else(|| {
        StudyError::config("dir", format!("{} has an empty store", path.display()))
    })?;
    let config: StudyConfig =
        toml::from_str(&config).map_err(|e| StudyError::config("stored config", e.to_string()))?;
    Ok((config.validate()?, store.trials()?))
}

/// Asks `n` trials for an external trainer and records them as running; returns their
/// numbers and parameters.
pub fn ask_external(
    study: &Study,
    store: &mut Store,
    optimizer: &mut Optimizer,
    n: usize,
) -> Result<Vec<(usize, BTreeMap<String, serde_json::Value>)>> {
    Ok(ask_and_record(study, store, optimizer, n)?
        .into_iter()
        .map(|t| (t.id, params_json(study, &t.params)))
        .collect())
}

/// Tells the outcome an external trainer measured for trial `number`: metrics by name (every
/// objective's and constraint's metric must be present and finite) or a failure.
pub fn tell_external(
    study: &Study,
    store: &mut Store,
    optimizer: &mut Optimizer,
    number: usize,
    outcome: std::result::Result<Metrics, String>,
) -> Result<()> {
    match outcome {
        Ok(metrics) => {
            for name in study
                .objectives
                .iter()
                .map(|o| &o.metric)
                .chain(study.constraints.iter().map(|c| &c.metric))
            {
                match metrics.get(name) {
                    Some(v) if v.is_finite() => {}
                    Some(v) => {
                        return Err(StudyError::config(
                            format!("values.{name}"),
                            format!("{v} is not finite; tell a failure instead"),
                        ))
                    }
                    None => {
                        return Err(StudyError::config(
                            "values",
                            format!(
                                "missing '{name}' (the study's objectives and constraints need {})",
                                study
                                    .objectives
                                    .iter()
                                    .map(|o| o.metric.as_str())
                                    .chain(study.constraints.iter().map(|c| c.metric.as_str()))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ))
                    }
                }
            }
            optimizer.tell(number, Ok(optimizer_values(study, &metrics)))?;
            store.finish_trial(optimizer, number, Ok(&metrics))
        }
        Err(reason) => {
            optimizer.tell(number, Err(reason.clone()))?;
            store.finish_trial(optimizer, number, Err(&reason))
        }
    }
}
