//! Ask/tell for trainers outside qfront (`qfront study ask | tell`): trials are handed out
//! as `running` for the worker `external`, carry no heartbeat (qfront cannot tell whether an
//! outside trainer is alive), and are finished only by a tell.

use super::worker_loop::requeue_stale;
use super::{optimizer_values, params_json, proposal_json, trial_seed};
use crate::config::Study;
use crate::pipeline::Metrics;
use crate::store::{Store, TrialRowState};
use crate::{Result, StudyError};
use std::collections::BTreeMap;
use std::time::Duration;

/// The worker name of trials handed out by [`ask_external`].
pub const EXTERNAL_WORKER: &str = "external";

/// A trial handed out by [`ask_external`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalTrial {
    /// Its number, to tell its outcome with.
    pub number: usize,
    /// Its parameters by name.
    pub params: BTreeMap<String, serde_json::Value>,
    /// How the optimizer chose it ([`proposal_json`]); `None` for a trial the optimizer has
    /// no record of (stored by a version before the record existed).
    pub proposal: Option<serde_json::Value>,
}

/// Hands out `n` trials to an external trainer: trials re-queued after a lost worker first,
/// then new ones asked of the optimizer. Returns their numbers, parameters and how each was
/// chosen.
pub fn ask_external(
    study: &Study,
    store: &mut Store,
    n: usize,
    stale_after: Duration,
) -> Result<Vec<ExternalTrial>> {
    store.locked(|l| {
        // A re-queued trial keeps the record of the trial it re-runs (`Optimizer::retry`).
        let proposal = |optimizer: &qfront_bo::Optimizer, number: usize| {
            optimizer
                .trials()
                .get(number)
                .and_then(|t| t.proposal.as_ref())
                .map(|kind| proposal_json(study, kind))
        };
        let open = l.open_trials()?;
        requeue_stale(l, &open, stale_after)?;
        let mut out = Vec::with_capacity(n);
        for waiting in l
            .open_trials()?
            .iter()
            .filter(|t| t.state == TrialRowState::Waiting)
            .take(n)
        {
            l.claim(waiting.number, EXTERNAL_WORKER, false)?;
            out.push(ExternalTrial {
                number: waiting.number,
                params: waiting.params.clone(),
                proposal: proposal(&l.optimizer, waiting.number),
            });
        }
        // The budget counts trials that were not re-queued (their retries count instead).
        let counted = l.counted_trials()?;
        let left = study.config.budget.saturating_sub(counted);
        if out.is_empty() && left == 0 {
            return Err(StudyError::config(
                "budget",
                format!(
                    "every trial of the study's budget ({}) has been asked; tell the running ones, or raise the budget (`qfront search --resume --budget N` with the same config)",
                    study.config.budget
                ),
            ));
        }
        let wanted = (n - out.len()).min(left);
        if wanted > 0 {
            let asked = l.ask(
                wanted,
                |trial| trial_seed(study, trial.id),
                |_| Some(EXTERNAL_WORKER),
                false,
            )?;
            out.extend(asked.iter().map(|trial| ExternalTrial {
                number: trial.id,
                params: params_json(study, &trial.params),
                proposal: trial.proposal.as_ref().map(|kind| proposal_json(study, kind)),
            }));
        }
        Ok(out)
    })
}

/// Checks that `metrics` holds a finite value for every objective and constraint.
fn check_metrics(study: &Study, metrics: &Metrics) -> Result<()> {
    // Every value is stored; a non-finite one would be stored as JSON null.
    if let Some((name, v)) = metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(StudyError::tell(
            format!("values.{name}"),
            format!("{v} is not finite; tell a failure instead"),
        ));
    }
    // Each metric once, in the study's order, though a constraint may bound an objective's.
    let mut needed: Vec<&str> = Vec::new();
    for metric in study
        .objectives
        .iter()
        .map(|o| o.metric.as_str())
        .chain(study.constraints.iter().map(|c| c.metric.as_str()))
    {
        if !needed.contains(&metric) {
            needed.push(metric);
        }
    }
    // Every value told is finite (above), so only a missing one is left to refuse.
    if let Some(name) = needed.iter().find(|name| !metrics.contains_key(**name)) {
        return Err(StudyError::tell(
            "values",
            format!(
                "missing '{name}' (the study's objectives and constraints need {})",
                needed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Tells the outcome an external trainer measured for trial `number`: metrics by name (every
/// objective's and constraint's metric must be present and finite) or a failure. Only a
/// trial handed out by [`ask_external`] and not yet told can be told.
pub fn tell_external(
    study: &Study,
    store: &mut Store,
    number: usize,
    outcome: std::result::Result<Metrics, String>,
) -> Result<()> {
    if let Ok(metrics) = &outcome {
        check_metrics(study, metrics)?;
    }
    store.locked(|l| {
        let trial = l.trial(number)?.ok_or_else(|| {
            StudyError::tell(
                format!("trial {number}"),
                "there is no such trial; `qfront study ask` prints the numbers to tell",
            )
        })?;
        match trial.state {
            TrialRowState::Running => {}
            TrialRowState::Waiting => {
                return Err(StudyError::tell(
                    format!("trial {number}"),
                    "it is waiting to be handed out; `qfront study ask` gives it to a trainer first",
                ))
            }
            state => {
                return Err(StudyError::tell(
                    format!("trial {number}"),
                    format!("it was already told ({state})"),
                ))
            }
        }
        if trial.worker.as_deref() != Some(EXTERNAL_WORKER) {
            return Err(StudyError::tell(
                format!("trial {number}"),
                format!(
                    "it is being run by qfront worker {}; only trials from `qfront study ask` are told",
                    trial.worker.unwrap_or_default()
                ),
            ));
        }
        match &outcome {
            Ok(metrics) => l.tell(number, Ok((metrics, optimizer_values(study, metrics)?))),
            Err(reason) => l.tell(number, Err(reason)),
        }
    })
}
