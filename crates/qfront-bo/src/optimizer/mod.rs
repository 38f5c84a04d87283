//! The ask/tell optimizer: a study's whole state (space, settings, trials), serializable so a
//! study can stop and resume.
//!
//! `ask(n)` returns `n` new trials: scrambled Sobol points until `initial_points` trials exist
//! (default `2(d + 1)`, the BoTorch tutorials' design), then qNEHVI batches built
//! sequential-greedily, each new point conditioned on the pending (asked, not yet told) ones.
//! Some model-based trials are not qNEHVI's: exploration steps (`exploration_every`: holes in
//! the box, gaps along the observed Pareto set) and anchor steps (`anchor_every`, `anchor`:
//! one objective's best point, when it is predicted past every observation in another).
//! A model-based ask with exact GPs (one per outcome; SAAS methods instead freeze inactive
//! coordinates) takes the inputs no outcome uses, and those two identical outcomes show to do
//! nothing, out of every model (`gp::inputs_to_ignore`, `ExactGp::ignoring_inputs`).
//! `tell` records objective values (maximized, as in BoTorch; negate what you minimize) or a
//! failure; failed trials are kept but not modelled.

use crate::gp::Hyperparameters;
use crate::sampling::SobolSampler;
use crate::space::ParamValue;
use crate::{BoError, Result};
use serde::{Deserialize, Serialize};

mod anchor;
mod ask;
mod config;
mod exploration;
mod proposal;
mod reference;
mod surrogate;
#[cfg(test)]
mod tests;

/// Past this many modelled points each GP fit takes one start instead of `gp_restarts`, the
/// baseline is pruned with 512 joint samples instead of 2048 (both cost O(n²) or more per
/// evaluation, and the likelihood is sharply peaked by then), and no quadratic trend is
/// fitted (`OptimizerConfig::quadratic_trend`: it costs a second fit, and is a prior for
/// what few points cannot show).
const ONE_START_POINTS: usize = 128;

pub use config::{
    Method, OptimizerConfig, ANCHOR_EVERY, EXPLORATION_EVERY, GIVEN_REFERENCE_ALTERNATION,
    WORST_OBSERVED_MEAN_MIN_DIM,
};
pub use proposal::{Proposal, ProposalKind, ReferenceRule};
pub use surrogate::Surrogate;

/// What is known about a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TrialState {
    /// Asked, not yet told.
    Pending,
    /// Told with objective values (maximized).
    Complete {
        /// One value per objective.
        values: Vec<f64>,
    },
    /// Told as failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One trial: its parameters, encoded point and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Number, from 0 in ask order.
    pub id: usize,
    /// One value per parameter of the space.
    pub params: Vec<ParamValue>,
    /// The encoded point in the unit cube.
    pub x: Vec<f64>,
    /// State.
    #[serde(flatten)]
    pub state: TrialState,
    /// How it was chosen, when this optimizer chose it or was told (`observe_proposed`);
    /// `None` for a trial chosen elsewhere or stored before the record existed. Exploration
    /// steps back off by it (`optimizer::exploration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<ProposalKind>,
    /// The MAP hyperparameters of each outcome's GP (objectives, then constraints) in the
    /// model-based ask that chose it (standardized scale, before any input was set aside);
    /// `None` for a Sobol trial, a SAAS ask, a trial chosen elsewhere or stored before the
    /// record existed. A fit of one start begins from the newest record instead of the prior
    /// medians (`Optimizer::fit_starts`), as Optuna's `GPSampler` begins from its last fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_fit: Option<Vec<Hyperparameters>>,
}

/// Seconds spent in the last model-based `ask`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AskTiming {
    /// Fitting the surrogates.
    pub fit_seconds: f64,
    /// Building and optimizing the acquisitions.
    pub acquisition_seconds: f64,
}

/// The ask/tell optimizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    config: OptimizerConfig,
    trials: Vec<Trial>,
    sobol_drawn: usize,
    #[serde(default)]
    last_timing: AskTiming,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    last_proposals: Vec<Proposal>,
}

impl Optimizer {
    /// A fresh optimizer; checks the config.
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            trials: Vec::new(),
            sobol_drawn: 0,
            last_timing: AskTiming::default(),
            last_proposals: Vec::new(),
        })
    }

    /// The optimizer without its trials: what a store keeps in one place while each trial
    /// lives in a row of its own (see [`Optimizer::with_trials`]).
    pub fn without_trials(&self) -> Self {
        Self {
            config: self.config.clone(),
            trials: Vec::new(),
            sobol_drawn: self.sobol_drawn,
            last_timing: self.last_timing,
            last_proposals: self.last_proposals.clone(),
        }
    }

    /// Takes the head of `other` (config, Sobol position, timings: what
    /// [`Optimizer::without_trials`] keeps) and keeps this optimizer's trials: a process that
    /// holds the trials brings them up to date with a stored head.
    pub fn adopt_head(&mut self, other: Self) {
        self.config = other.config;
        self.sobol_drawn = other.sobol_drawn;
        self.last_timing = other.last_timing;
        self.last_proposals = other.last_proposals;
    }

    /// This optimizer with `trials` (by id, from 0, each of the space's dimension) in place of
    /// its own: the inverse of [`Optimizer::without_trials`] plus the stored rows.
    pub fn with_trials(mut self, trials: Vec<Trial>) -> Result<Self> {
        self.trials = Vec::with_capacity(trials.len());
        for trial in trials {
            self.put_trial(trial)?;
        }
        Ok(self)
    }

    /// Puts `trial` in place: it replaces the trial with its id, or comes next when its id is
    /// the number of trials. A stored row read back uses it.
    pub fn put_trial(&mut self, trial: Trial) -> Result<()> {
        let dimension = self.config.space.dim();
        let parameters = self.config.space.parameters().len();
        if trial.x.len() != dimension || trial.params.len() != parameters {
            return Err(BoError::input(
                "trial",
                format!(
                    "trial {} has {} coordinates and {} values for a space of {dimension} coordinates and {parameters} parameters",
                    trial.id,
                    trial.x.len(),
                    trial.params.len()
                ),
            ));
        }
        match trial.id.cmp(&self.trials.len()) {
            std::cmp::Ordering::Less => {
                let id = trial.id;
                self.trials[id] = trial;
            }
            std::cmp::Ordering::Equal => self.trials.push(trial),
            std::cmp::Ordering::Greater => {
                return Err(BoError::input(
                    "trial",
                    format!(
                        "trial {} comes after only {} trials",
                        trial.id,
                        self.trials.len()
                    ),
                ))
            }
        }
        Ok(())
    }

    /// The config.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Every trial, in ask order.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// Timing of the last model-based ask.
    pub fn last_timing(&self) -> AskTiming {
        self.last_timing
    }

    /// How each trial of the last ask was chosen, in ask order (`optimizer::proposal`): which
    /// rule proposed it and, for an acquisition's maximum, the reference point and the
    /// acquisition's value there.
    pub fn last_proposals(&self) -> &[Proposal] {
        &self.last_proposals
    }

    /// Completed trials as `(x, values)`.
    fn completed(&self) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        self.trials
            .iter()
            .filter_map(|t| match &t.state {
                TrialState::Complete { values } => Some((t.x.clone(), values.clone())),
                _ => None,
            })
            .unzip()
    }

    /// The objective part of `values` when its slacks are all feasible.
    fn feasible_objectives<'v>(&self, values: &'v [f64]) -> Option<&'v [f64]> {
        let m = self.config.num_objectives;
        values[m..]
            .iter()
            .all(|s| *s >= 0.0)
            .then_some(&values[..m])
    }

    /// The objectives `trial` was told, when it is complete and feasible.
    fn told_objectives<'t>(&self, trial: &'t Trial) -> Option<&'t [f64]> {
        match &trial.state {
            TrialState::Complete { values } => self.feasible_objectives(values),
            _ => None,
        }
    }

    /// The feasible completed trials on the observed Pareto front.
    pub fn pareto_trials(&self) -> Vec<&Trial> {
        let (complete, values): (Vec<&Trial>, Vec<Vec<f64>>) = self
            .trials
            .iter()
            .filter_map(|t| self.told_objectives(t).map(|v| (t, v.to_vec())))
            .unzip();
        crate::moo::is_non_dominated(&values)
            .into_iter()
            .zip(complete)
            .filter_map(|(keep, t)| keep.then_some(t))
            .collect()
    }

    /// Records a new pending trial at `x` (rounded onto the space), proposed by `kind`, and
    /// how it was chosen ([`Optimizer::last_proposals`]). In a space with discrete parameters
    /// the rounded point may repeat an earlier trial; then the next Sobol points are tried
    /// instead (up to 256), so a study never re-runs a configuration while unseen ones
    /// remain, and the trial is recorded as a Sobol point.
    fn push_trial(&mut self, x: Vec<f64>, kind: ProposalKind) -> Trial {
        let mut x = self.config.space.round(&x);
        let mut tries = 0;
        if !self.config.space.is_continuous() {
            while tries < 256 && self.trials.iter().any(|t| t.x == x) {
                let fresh = self.next_sobol_point(0x0064_7570);
                x = self.config.space.round(&fresh);
                tries += 1;
            }
        }
        let kind = if tries == 0 {
            kind
        } else {
            ProposalKind::Sobol
        };
        self.last_proposals.push(Proposal {
            trial: self.trials.len(),
            kind: kind.clone(),
        });
        let trial = Trial {
            id: self.trials.len(),
            params: self.config.space.decode(&x),
            x,
            state: TrialState::Pending,
            proposal: Some(kind),
            model_fit: None,
        };
        self.trials.push(trial.clone());
        trial
    }

    /// The next point of the study's Sobol stream. Each block of 2^16 points (the most one
    /// scrambled sequence holds) uses its own derived seed, so the stream never runs out.
    fn next_sobol_point(&mut self, salt: u64) -> Vec<f64> {
        let k = self.sobol_drawn;
        self.sobol_drawn += 1;
        let block = (k / crate::sampling::MAX_POINTS) as u64;
        let stream = self.config.sobol_seed.unwrap_or(self.config.seed);
        let seed = stream ^ salt ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        SobolSampler::new(self.config.space.dim(), seed)
            .map(|s| s.point(k % crate::sampling::MAX_POINTS))
            .unwrap_or_else(|_| vec![0.5; self.config.space.dim()])
    }

    /// Like [`Optimizer::ask`], but a failing model (a GP or NUTS fit, the acquisition) does
    /// not fail the call: the trials still missing are drawn from the Sobol stream, and the
    /// error is returned beside them so the caller can log and record it. The next ask fits
    /// again with a seed that moves with the trial count, so a numerical failure is not
    /// simply repeated. This is what a long-running study uses: one bad fit must not stop it.
    pub fn ask_or_sobol(&mut self, n: usize) -> (Vec<Trial>, Option<BoError>) {
        let before = self.trials.len();
        match self.ask(n) {
            Ok(trials) => (trials, None),
            Err(error) => {
                // Trials a failing ask already pushed stay; the rest come from Sobol.
                let mut out: Vec<Trial> = self.trials[before..].to_vec();
                while out.len() < n {
                    let x = self.next_sobol_point(0x0fa1_1bac);
                    out.push(self.push_trial(x, ProposalKind::Sobol));
                }
                (out, Some(error))
            }
        }
    }

    /// Fails pending trial `id` with `reason` and asks it again: a new pending trial at the
    /// same point (no de-duplication), returned. This is how a study re-queues a trial whose
    /// worker died: the lost run counts as failed, and the configuration is not lost.
    pub fn retry(&mut self, id: usize, reason: String) -> Result<Trial> {
        let trial = self.pending_trial(id, "retry")?;
        trial.state = TrialState::Failed { reason };
        let (params, x, proposal, model_fit) = (
            trial.params.clone(),
            trial.x.clone(),
            trial.proposal.clone(),
            trial.model_fit.clone(),
        );
        let retry = Trial {
            id: self.trials.len(),
            params,
            x,
            state: TrialState::Pending,
            proposal,
            model_fit,
        };
        self.trials.push(retry.clone());
        Ok(retry)
    }

    /// Records a trial chosen elsewhere (another sampler, an earlier process): its parameter
    /// values, pending until told. It takes the next trial number and the next point of the
    /// Sobol stream, so an optimizer rebuilt from its history (as an Optuna sampler is, at
    /// every trial) continues the initial design rather than repeating its first point.
    pub fn observe(&mut self, params: &[ParamValue]) -> Result<usize> {
        self.observe_proposed(params, None)
    }

    /// [`Optimizer::observe`] with how the trial was chosen, when an optimizer like this one
    /// chose it (an Optuna sampler rebuilding its history passes the proposal it recorded),
    /// so the rules that look back at their own earlier steps (exploration steps backing off)
    /// see them.
    pub fn observe_proposed(
        &mut self,
        params: &[ParamValue],
        proposal: Option<ProposalKind>,
    ) -> Result<usize> {
        self.observe_chosen(params, proposal, None)
    }

    /// [`Optimizer::observe_proposed`] with the hyperparameters of the models that chose it
    /// ([`Trial::model_fit`], as an earlier ask recorded them), so the next fit of one start
    /// begins where they ended. A record that does not fit this optimizer's space and
    /// outcomes is set aside (the fit then starts cold, from the prior's mode), not an error:
    /// it is a starting point, never a result.
    pub fn observe_chosen(
        &mut self,
        params: &[ParamValue],
        proposal: Option<ProposalKind>,
        model_fit: Option<Vec<Hyperparameters>>,
    ) -> Result<usize> {
        let x = self.config.space.encode(params)?;
        let id = self.trials.len();
        self.sobol_drawn += 1;
        self.trials.push(Trial {
            id,
            params: self.config.space.decode(&x),
            x,
            state: TrialState::Pending,
            proposal,
            model_fit,
        });
        Ok(id)
    }

    /// Skips `n` points of the Sobol stream: trials that other processes are choosing at the
    /// same time and that this optimizer cannot observe yet, so that two processes rebuilding
    /// the same history do not draw the same initial-design point.
    pub fn skip_sobol_points(&mut self, n: usize) {
        self.sobol_drawn += n;
    }

    /// Trial `id`, which must be pending (`action` names the call in the error otherwise).
    fn pending_trial(&mut self, id: usize, action: &str) -> Result<&mut Trial> {
        let trial = self
            .trials
            .get_mut(id)
            .ok_or_else(|| BoError::input(action, format!("there is no trial {id}")))?;
        if trial.state != TrialState::Pending {
            return Err(BoError::input(
                action,
                format!("trial {id} was already told"),
            ));
        }
        Ok(trial)
    }

    /// Records the outcome of trial `id`: `Ok(values)` (one finite value per objective) or
    /// `Err(reason)` for a failure. Telling a trial twice is an error.
    pub fn tell(
        &mut self,
        id: usize,
        outcome: std::result::Result<Vec<f64>, String>,
    ) -> Result<()> {
        let (num_objectives, num_constraints) =
            (self.config.num_objectives, self.config.num_constraints);
        let m = num_objectives + num_constraints;
        let trial = self.pending_trial(id, "tell")?;
        trial.state = match outcome {
            Ok(values) => {
                if values.len() != m {
                    return Err(BoError::input(
                        "tell",
                        format!(
                            "trial {id}: {} values, expected {m} ({} objectives, then {} constraint slacks)",
                            values.len(),
                            num_objectives,
                            num_constraints
                        ),
                    ));
                }
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(BoError::input(
                        "tell",
                        format!("trial {id}: values {values:?} are not all finite; tell a failure instead"),
                    ));
                }
                TrialState::Complete { values }
            }
            Err(reason) => TrialState::Failed { reason },
        };
        Ok(())
    }
}
