//! Studies: opening and reading them in a store, the worker loop that runs their trials
//! ([`worker_loop`]), ask/tell for trainers outside qfront ([`external`]), how a trial was
//! chosen as its user reads it ([`proposal_json()`]), and the front.

mod external;
mod proposal_json;
mod worker_loop;

pub use external::{ask_external, tell_external, ExternalTrial, EXTERNAL_WORKER};
pub use proposal_json::{proposal_json, stored_proposals};
pub use worker_loop::{finished_count, release_running_trials, run_study, WorkerOptions};

use crate::config::{Study, StudyConfig};
use crate::pipeline::Metrics;
use crate::settings::Settings;
use crate::store::{StorageLocation, Store, StoredTrial, TrialRowState};
use crate::{Result, StudyError};
use qfront_bo::moo::is_non_dominated;
use qfront_bo::space::ParamValue;
use std::collections::BTreeMap;

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
    /// A running trial's worker was lost; trial `retry` re-runs its parameters.
    fn trial_requeued(&mut self, _number: usize, _retry: usize, _reason: &str) {}
    /// This worker's result for `number` was not stored: the trial had been re-queued
    /// (its heartbeat went stale) while it ran.
    fn result_discarded(&mut self, _number: usize) {}
    /// Every trial is asked; this worker waits for `running` trials on other workers.
    fn waiting(&mut self, _running: usize) {}
    /// Trials finished so far by all workers of the study.
    fn study_progress(&mut self, _finished: usize) {}
}

/// The parameters as JSON values by name (as stored).
pub(crate) fn params_json(
    study: &Study,
    params: &[ParamValue],
) -> BTreeMap<String, serde_json::Value> {
    settings_of(study, params)
        .into_iter()
        .map(|(name, v)| (name, serde_json::to_value(v).expect("values serialise")))
        .collect()
}

/// The parameters as settings by name (what the trial pipeline reads).
pub(crate) fn settings_of(study: &Study, params: &[ParamValue]) -> Settings {
    study
        .optimizer
        .space
        .parameters()
        .iter()
        .zip(params)
        .map(|(p, v)| (p.name.clone(), v.clone()))
        .collect()
}

/// The values the optimizer maximizes: signed objectives, then constraint slacks; an error
/// names a metric the trial did not report.
pub fn optimizer_values(study: &Study, metrics: &Metrics) -> crate::Result<Vec<f64>> {
    let value = |name: &str| {
        metrics.get(name).copied().ok_or_else(|| {
            crate::StudyError::config(
                "metrics",
                format!("the trial reported no '{name}', which the study's objectives or constraints need"),
            )
        })
    };
    let mut v = Vec::with_capacity(study.objectives.len() + study.constraints.len());
    for o in &study.objectives {
        v.push(o.signed(value(&o.metric)?));
    }
    for c in &study.constraints {
        v.push(c.slack(value(&c.metric)?));
    }
    Ok(v)
}

/// The signed objective values of a trial's metrics; `None` when one is missing or not
/// finite (such a trial cannot be placed on a front).
pub fn objective_point(study: &Study, metrics: &Metrics) -> Option<Vec<f64>> {
    study
        .objectives
        .iter()
        .map(|o| {
            metrics
                .get(&o.metric)
                .copied()
                .filter(|v| v.is_finite())
                .map(|v| o.signed(v))
        })
        .collect()
}

/// Whether `metrics` meet every outcome constraint of the study (a missing metric does not).
pub fn is_feasible(study: &Study, metrics: &Metrics) -> bool {
    study
        .constraints
        .iter()
        .all(|c| metrics.get(&c.metric).is_some_and(|&v| c.slack(v) >= 0.0))
}

/// The feasible, non-dominated complete trials.
pub fn pareto_trials<'a>(study: &Study, trials: &'a [StoredTrial]) -> Vec<&'a StoredTrial> {
    let (feasible, points): (Vec<&StoredTrial>, Vec<Vec<f64>>) = trials
        .iter()
        .filter(|t| t.state == TrialRowState::Complete && is_feasible(study, &t.metrics))
        .filter_map(|t| objective_point(study, &t.metrics).map(|point| (t, point)))
        .unzip();
    is_non_dominated(&points)
        .into_iter()
        .zip(feasible)
        .filter(|(keep, _)| *keep)
        .map(|(_, t)| t)
        .collect()
}

/// Opens the study `config` names in the store at `location` (creating it, or checking that
/// the stored one is the same study when resuming or joining as another worker).
pub fn open_study(
    config: StudyConfig,
    location: &StorageLocation,
    resume: bool,
) -> Result<(Study, Store)> {
    // A bad config fails before anything is created.
    let checked = config.clone().validate()?;
    let mut store = Store::open(location)?;
    let config_toml =
        toml::to_string(&config).map_err(|e| StudyError::config("config", e.to_string()))?;
    match store.select_study(Some(&config.name))? {
        Some((name, stored_toml)) => {
            if !resume {
                return Err(StudyError::config("dir", format!("{location} already holds study '{name}'; pass --resume to continue it (or to join it as another worker), or choose another --dir")));
            }
            let stored: StudyConfig = toml::from_str(&stored_toml)
                .map_err(|e| StudyError::config("stored config", e.to_string()))?;
            // The budget may grow on resume, and each worker reads its own data directory;
            // everything else must match.
            let mut same = config.clone();
            same.budget = stored.budget;
            same.data_dir = stored.data_dir.clone();
            if same != stored {
                return Err(StudyError::config("config", format!("differs from study '{name}' stored in {location}; resume with the same config (only the budget and the data directory may change)")));
            }
            Ok((checked, store))
        }
        None => {
            let optimizer = qfront_bo::Optimizer::new(checked.optimizer.clone())?;
            store
                .create_study(&checked.config.name, &config_toml, &optimizer)
                .map_err(|e| match e {
                    StudyError::Store { path, reason } => StudyError::Store {
                        path,
                        reason: format!(
                            "{reason}; choose another --dir for study '{}'",
                            checked.config.name
                        ),
                    },
                    other => other,
                })?;
            Ok((checked, store))
        }
    }
}

/// The seed trial `id` trains with (a re-queued trial keeps its original's).
pub(crate) fn trial_seed(study: &Study, id: usize) -> u64 {
    study.config.seed.wrapping_add(id as u64)
}

/// Opens a stored study for the commands that inspect or extend it: the study `name` (or the
/// only one) at `location`. A SQLite file that does not exist is an error, not a new store.
pub fn load_stored(location: &StorageLocation, name: Option<&str>) -> Result<(Study, Store)> {
    if let StorageLocation::Sqlite(path) = location {
        if !path.exists() {
            let dir = path.parent().unwrap_or(path).display();
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            return Err(StudyError::config(
                "dir",
                format!(
                    "{dir} holds no study (no {file}); run `qfront search --dir {dir}` first, or \
                     `qfront study create --dir {dir} --config …` for a study of your own trainer"
                ),
            ));
        }
    }
    let mut store = Store::open(location)?;
    let (_, config) = store.select_study(name)?.ok_or_else(|| {
        StudyError::config(
            "study",
            match name {
                Some(n) => format!("{location} holds no study '{n}'"),
                None => format!("{location} holds no study"),
            },
        )
    })?;
    let config: StudyConfig =
        toml::from_str(&config).map_err(|e| StudyError::config("stored config", e.to_string()))?;
    Ok((config.validate()?, store))
}
