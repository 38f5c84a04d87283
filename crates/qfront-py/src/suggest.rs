//! One new trial from a history, on qfront's optimizer: the engine of the Optuna sampler.
//!
//! The optimizer is rebuilt from the history at every call (as Optuna's own `GPSampler`
//! refits at every trial): each past trial is observed with its parameters
//! ([`qfront_bo::Optimizer::observe`]), complete ones told their values, failed ones told as
//! failures, running ones left pending (so the new point avoids them, qNEHVI's pending
//! points); then one trial is asked. Structures cross the boundary as JSON text in the
//! `qfront_bo` serde formats, which `qfront/optuna.py` writes.

use pyo3::prelude::*;
use qfront_bo::gp::Hyperparameters;
use qfront_bo::space::{ParamValue, Parameter, SearchSpace};
use qfront_bo::{Method, Optimizer, OptimizerConfig, Proposal, Surrogate};

/// One past trial as the sampler describes it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PastTrial {
    /// One value per parameter, in the space's order.
    params: Vec<ParamValue>,
    /// Objective values (maximized) then constraint slacks (feasible when ≥ 0); absent while
    /// the trial runs.
    #[serde(default)]
    values: Option<Vec<f64>>,
    /// Whether it failed (pruned or crashed): kept out of the model.
    #[serde(default)]
    failed: bool,
    /// How the sampler chose it (the proposal it recorded, reference point maximized), so
    /// the rules that look back at their own steps see them; one that does not read back
    /// (another version's record) counts as chosen elsewhere.
    #[serde(default)]
    proposal: Option<serde_json::Value>,
    /// The hyperparameters of the GPs that chose it (`qfront_bo::Trial::model_fit`, as the
    /// answer gave them), where the next fit of one start begins; one that does not read
    /// back is left out.
    #[serde(default)]
    model_fit: Option<serde_json::Value>,
}

/// The new trial's parameters, the warning of a fallback to Sobol, how it was chosen, and
/// the hyperparameters of the models that chose it.
type Suggestion = (
    Vec<ParamValue>,
    Option<String>,
    Option<Proposal>,
    Option<Vec<Hyperparameters>>,
);

/// One new trial, as JSON: `{"params": [value, ...] (in the space's order), "warning": text or
/// null, "proposal": {...}}`; the warning says why a model-based ask fell back to a Sobol
/// point, and the proposal how the trial was chosen (`qfront_bo::Proposal`: `kind` is
/// `sobol`, `box-exploration`, `line-exploration`, `anchor` with its `objective`, or
/// `acquisition` with its reference `rule`, `reference` point in the maximized frame and
/// `value`), and `"model_fit"` the hyperparameters of the GPs that chose it (null for a
/// Sobol point), which the sampler passes back with the trial.
///
/// * `parameters`: JSON list of `qfront_bo::space::Parameter`
///   (`{"name": "x", "type": "float", "low": 0, "high": 1, "scale": "log"}`, `int`,
///   `ordered` with `values`, `categorical` with `values`);
/// * `trials`: JSON list of `{"params": [...], "values": [...] | null, "failed": bool,
///   "proposal": {...}, "model_fit": [...]}` (the last two optional);
/// * `method`: `sobol`, `qnehvi`, `qnehvi-saas`, `qparego`, `qlognehvi`, `qlognehvi-saas`;
/// * `seed`: the study's seed, the same at every trial: it scrambles the initial design's
///   Sobol sequence; the model's random choices use `seed + trial_number` (without
///   `trial_number`, `seed` + the number of `trials`);
/// * `initial_points`: Sobol trials before the model (default `2(d + 1)`);
/// * `reference_point`: the hypervolume reference point in the maximized frame (default:
///   inferred at every ask, from the models' predicted front or, every third ask, from
///   every observation and the models' mean front; qfront-bo's
///   `OptimizerConfig::reference_point`);
/// * `surrogate`: the GPs' recipe, `adaptive` (default) or `plain` (qfront-bo's `Surrogate`);
/// * `trial_number`: the new trial's number in its study, when trials before it are not all
///   in `trials` (others still choosing their parameters): the Sobol stream continues from
///   it, so concurrent processes draw different initial points.
#[pyfunction]
#[pyo3(signature = (parameters, trials, method, seed, num_objectives, num_constraints=0, initial_points=None, trial_number=None, reference_point=None, surrogate=None))]
#[allow(clippy::too_many_arguments)]
pub fn suggest(
    py: Python<'_>,
    parameters: &str,
    trials: &str,
    method: &str,
    seed: u64,
    num_objectives: usize,
    num_constraints: usize,
    initial_points: Option<usize>,
    trial_number: Option<usize>,
    reference_point: Option<Vec<f64>>,
    surrogate: Option<&str>,
) -> PyResult<String> {
    let parameters: Vec<Parameter> =
        serde_json::from_str(parameters).map_err(|e| crate::error(format!("parameters: {e}")))?;
    let trials: Vec<PastTrial> =
        serde_json::from_str(trials).map_err(|e| crate::error(format!("trials: {e}")))?;
    let method = Method::from_name(method).map_err(crate::error)?;
    let space = SearchSpace::new(parameters).map_err(crate::error)?;
    // The Sobol stream is the study's (`seed`), so the initial design is one stratified
    // scrambled sequence; the model's random choices move with the trial, so processes that
    // rebuild the same history do not propose the same point.
    let moving = trial_number.unwrap_or(trials.len()) as u64;
    let mut config = OptimizerConfig::new(space, num_objectives, method, seed.wrapping_add(moving));
    config.sobol_seed = Some(seed);
    config.num_constraints = num_constraints;
    config.initial_points = initial_points;
    config.reference_point = reference_point;
    if let Some(name) = surrogate {
        Surrogate::from_name(name)
            .map_err(crate::error)?
            .apply(&mut config);
    }
    let (params, warning, proposal, model_fit) = py
        .detach(|| {
            crate::on_own_pool(|| -> qfront_bo::Result<Suggestion> {
                let mut optimizer = Optimizer::new(config)?;
                let unseen = trial_number.map_or(0, |n| n.saturating_sub(trials.len()));
                for trial in trials {
                    let proposal = trial.proposal.and_then(|p| serde_json::from_value(p).ok());
                    let model_fit = trial.model_fit.and_then(|f| serde_json::from_value(f).ok());
                    let id = optimizer.observe_chosen(&trial.params, proposal, model_fit)?;
                    match (trial.failed, trial.values) {
                        (true, _) => optimizer.tell(id, Err("failed".into()))?,
                        (false, Some(values)) => optimizer.tell(id, Ok(values))?,
                        (false, None) => {}
                    }
                }
                optimizer.skip_sobol_points(unseen);
                // A model that cannot be fitted gives a Sobol point instead, as the CLI's studies
                // do; the reason goes back as a warning.
                let (mut asked, fallback) = optimizer.ask_or_sobol(1);
                let warning = fallback.map(|e| {
                    format!("the model-based ask failed ({e}); this trial is a Sobol point")
                });
                let proposal = optimizer.last_proposals().first().cloned();
                let trial = asked.remove(0);
                Ok((trial.params, warning, proposal, trial.model_fit))
            })
        })
        .map_err(crate::error)?;
    serde_json::to_string(&serde_json::json!({
        "params": params,
        "warning": warning,
        "proposal": proposal,
        "model_fit": model_fit,
    }))
    .map_err(crate::error)
}
