//! `qfront.Study`: qfront's own studies (`sqlite:///…`, `postgresql://…` stores) from Python,
//! the same operations as `qfront study create | ask | tell`, `qfront trials` and `qfront
//! pareto`. Each call opens the store, works in one transaction where it writes, and closes
//! it, as the CLI does, so any number of processes can share a study. Values cross the
//! boundary as JSON text; `python/qfront/study.py` wraps them in a class.

use pyo3::prelude::*;
use qfront_study::config::StudyConfig;
use qfront_study::search::{
    ask_external, load_stored, open_study, pareto_trials, stored_proposals, tell_external,
    WorkerOptions,
};
use qfront_study::store::StorageLocation;
use std::collections::BTreeMap;

/// What `qfront.Study` keeps of a study: JSON `{"name", "objectives", "constraints",
/// "parameters"}`.
fn describe(study: &qfront_study::Study) -> String {
    serde_json::json!({
        "name": study.config.name,
        "objectives": study.config.objectives,
        "constraints": study.config.constraints,
        "parameters": study.parameter_names(),
    })
    .to_string()
}

fn location(storage: &str) -> PyResult<StorageLocation> {
    StorageLocation::parse(storage).map_err(crate::error)
}

/// Creates the study of `config_toml` in `storage` (relative paths in the config resolved
/// against `base_dir`), or opens it when it exists with the same config and
/// `load_if_exists`; returns `{"name", "objectives", "constraints", "parameters"}` as JSON.
#[pyfunction]
#[pyo3(signature = (storage, config_toml, base_dir=None, load_if_exists=false))]
pub fn study_create(
    py: Python<'_>,
    storage: &str,
    config_toml: &str,
    base_dir: Option<std::path::PathBuf>,
    load_if_exists: bool,
) -> PyResult<String> {
    let location = location(storage)?;
    let mut config = StudyConfig::from_toml(config_toml).map_err(crate::error)?;
    if let Some(base) = base_dir {
        config.resolve_paths(&base);
    }
    let study = py
        .detach(|| open_study(config, &location, load_if_exists).map(|(study, _)| study))
        .map_err(crate::error)?;
    Ok(describe(&study))
}

/// The stored study `name` (or the store's only one): its description, as
/// [`study_create`] returns it.
#[pyfunction]
#[pyo3(signature = (storage, name=None))]
pub fn study_load(py: Python<'_>, storage: &str, name: Option<String>) -> PyResult<String> {
    let location = location(storage)?;
    let study = py
        .detach(|| load_stored(&location, name.as_deref()).map(|(study, _)| study))
        .map_err(crate::error)?;
    Ok(describe(&study))
}

/// Asks for `n` trials: JSON `[{"trial": number, "params": {...}, "proposal": {...}}, ...]`
/// (`proposal`: how the optimizer chose the trial, `qfront_study::search::proposal_json`).
#[pyfunction]
pub fn study_ask(py: Python<'_>, storage: &str, name: &str, n: usize) -> PyResult<String> {
    if n == 0 {
        return Err(crate::error("n must be at least 1"));
    }
    let location = location(storage)?;
    let asked = py
        .detach(|| {
            crate::on_own_pool(|| {
                let (study, mut store) = load_stored(&location, Some(name))?;
                ask_external(&study, &mut store, n, WorkerOptions::default().stale_after)
            })
        })
        .map_err(crate::error)?;
    let asked: Vec<serde_json::Value> = asked
        .into_iter()
        .map(|trial| {
            serde_json::json!({"trial": trial.number, "params": trial.params, "proposal": trial.proposal})
        })
        .collect();
    Ok(serde_json::Value::Array(asked).to_string())
}

/// Tells trial `trial` its metrics (`values_json`, a JSON object of numbers) or that it
/// failed (`failed`, the reason).
#[pyfunction]
#[pyo3(signature = (storage, name, trial, values_json=None, failed=None))]
pub fn study_tell(
    py: Python<'_>,
    storage: &str,
    name: &str,
    trial: usize,
    values_json: Option<&str>,
    failed: Option<String>,
) -> PyResult<()> {
    let outcome = match (values_json, failed) {
        (Some(text), None) => Ok(serde_json::from_str::<BTreeMap<String, f64>>(text)
            .map_err(|e| crate::error(format!("values must map metric names to numbers: {e}")))?),
        (None, Some(reason)) => Err(reason),
        _ => {
            return Err(crate::error(
                "give values={...} or failed=\"reason\", not both",
            ))
        }
    };
    let location = location(storage)?;
    py.detach(|| {
        let (study, mut store) = load_stored(&location, Some(name))?;
        tell_external(&study, &mut store, trial, outcome)
    })
    .map_err(crate::error)
}

/// Every trial (JSON list: each stored trial's fields and `proposal`, how the optimizer
/// chose it, as `qfront trials --format json` lists it, `null` where it kept no record); with
/// `pareto`, only the feasible complete trials on the front.
#[pyfunction]
#[pyo3(signature = (storage, name, pareto=false))]
pub fn study_trials(py: Python<'_>, storage: &str, name: &str, pareto: bool) -> PyResult<String> {
    let location = location(storage)?;
    let (chosen, proposals) = py
        .detach(|| -> qfront_study::Result<_> {
            let (study, mut store) = load_stored(&location, Some(name))?;
            let trials = store.trials()?;
            let proposals = stored_proposals(&study, &mut store)?;
            let chosen: Vec<_> = if pareto {
                pareto_trials(&study, &trials)
                    .into_iter()
                    .cloned()
                    .collect()
            } else {
                trials
            };
            Ok((chosen, proposals))
        })
        .map_err(crate::error)?;
    let listed = chosen
        .iter()
        .map(|trial| {
            let mut entry = serde_json::to_value(trial)?;
            if let serde_json::Value::Object(fields) = &mut entry {
                let proposal = proposals.get(&trial.number).cloned();
                fields.insert("proposal".into(), proposal.unwrap_or_default());
            }
            Ok(entry)
        })
        .collect::<serde_json::Result<Vec<_>>>()
        .map_err(crate::error)?;
    serde_json::to_string(&listed).map_err(crate::error)
}
