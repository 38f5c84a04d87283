//! Exploration steps (`OptimizerConfig::exploration_every`): model-based trials that are not
//! the acquisition's, so that a feature the models are confidently wrong about, inside the box
//! or along the observed Pareto set, cannot stay unseen for a whole study (issue #17; design
//! notes, "The MOBO engine on problems it has never seen").
//!
//! - A **box step** takes the point farthest from every trial so far and from the box's faces
//!   (`sampling::maximin_point`) where the models claim to know it: the posterior variance
//!   there is at most [`BOX_STEP_VARIANCE_FRACTION`] of the prior's in every objective. A hole
//!   the models are unsure of usually carries qNEHVI's uncertainty bonus, and a box step
//!   there only spends a trial the acquisition would have spent better (design notes, "Box
//!   steps only where the models claim to know"); so there the step is taken only when the
//!   acquisition shows it does not value the hole: its value at the hole is below
//!   [`BOX_STEP_IGNORED_FRACTION`] of its maximum (design notes, "A hole the acquisition
//!   ignores").
//! - A **line step** takes the point farthest from every trial on a coordinate line through
//!   an observed Pareto-optimal point (`sampling::pareto_line_point`: unexplored stretches of
//!   the Pareto set, such as a disconnected front's far piece on a face of the box), moving
//!   only inputs some model uses (`gp::inputs_in_use`).
//!
//! A step with no point (no direction to spread along, a line whose every valid point was
//! tried, a hole the models are unsure of) leaves that trial to the acquisition.
//!
//! Steps **back off** where they do not pay: a step whose previous step of the same kind was
//! taken (the trial records it, `Trial::proposal`) and came out weakly dominated by an
//! earlier trial is left to the acquisition, so a kind that keeps failing runs at half its
//! rate and the first step of each kind is always taken. On issue #17's suite no box step
//! raised the hypervolume on six problems and no line step on the embedded BraninCurrin;
//! backing off gave the sum of mean ÷ best peer's mean 20.094 → 20.183 with one mean goal
//! gained and none lost (design notes, "Exploration steps that back off").

use super::{Optimizer, ProposalKind, TrialState};
use crate::acq::ModelEnsemble;
use crate::gp::inputs_in_use;
use crate::moo::weakly_dominates;
use crate::sampling::{maximin_point, pareto_line_point, pareto_set_directions};
use crate::Result;

/// Sobol candidates an exploration step chooses among.
pub(super) const EXPLORATION_CANDIDATES: usize = 2048;

/// A box step is taken only where every objective's posterior variance is at most this
/// fraction of its prior variance (averaged over an ensemble's members). Logged at seed 0's
/// box steps on issue #17's suite: 0.007–0.03 on the embedded BraninCurrin, the noisy shifted
/// DTLZ2 and DTLZ5 (the models' lengthscales span the hole), 0.29 then 0.03 on the mixed
/// training problem, 0.97–1.0 on Fonseca–Fleming (lengthscales a few hundredths of the box).
/// A threshold of 0.8 gave the same Fonseca–Fleming gain and differed elsewhere within the
/// seeds' noise (BENCHMARKS.md).
pub const BOX_STEP_VARIANCE_FRACTION: f64 = 0.5;

/// Where the models are unsure of a box step's hole, the step is still taken when the
/// acquisition's value there (its expected improvement; qLogNEHVI's exponentiated) is below
/// this fraction of its maximum: the acquisition ignores the hole and would not go there.
/// On BoTorch's 3-objective GMM (issue #17's unseen part) a single observed basin dominated
/// every other point, qNEHVI valued the unexplored bumps at 1e-5–1e-2 of its maximum beside
/// that basin (seed 2's first ask, replayed with `examples/diagnose_ask.rs`), and 6 of 10
/// seeds never left it (hypervolume 0; design notes, "A hole the
/// acquisition ignores"). The one value measured; not tuned.
pub const BOX_STEP_IGNORED_FRACTION: f64 = 0.01;

/// Whether the acquisition ignores a hole the models are unsure of: its improvement there,
/// `at_hole`, is below [`BOX_STEP_IGNORED_FRACTION`] of its improvement `at_maximum` (both on
/// the improvement's own scale). A NaN at the hole counts as ignored.
pub(super) fn acquisition_ignores_hole(at_hole: f64, at_maximum: f64) -> bool {
    at_hole.is_nan() || at_hole < BOX_STEP_IGNORED_FRACTION * at_maximum
}

/// The point an exploration step proposes ([`Optimizer::exploration_point`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ExplorationPoint {
    /// Taken as it is.
    Take(Vec<f64>),
    /// A box step's hole the models are unsure of: taken only if the acquisition ignores it
    /// ([`acquisition_ignores_hole`]), otherwise the trial is the acquisition's.
    UnlessAcquisitionValues(Vec<f64>),
}

/// An exploration step (`OptimizerConfig::exploration_every`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ExplorationStep {
    /// The largest empty ball of the box (`sampling::maximin_point`).
    Box,
    /// The largest gap on a coordinate line through one of `anchors` (the observed
    /// Pareto-optimal points) along a direction the set spreads in
    /// (`sampling::pareto_set_directions`, among the inputs the models use, so known only
    /// once they are fitted; `sampling::pareto_line_point`).
    ParetoLines { anchors: Vec<Vec<f64>> },
}

impl Optimizer {
    /// The exploration step the `position`-th non-failed trial (0-based) is, if any
    /// (`OptimizerConfig::exploration_every`). Failed trials taught the model nothing, so
    /// they do not advance the count. With `every = k ≥ 2`, the k-th, 2k-th, ... model-based
    /// trials are box steps and the (k/2)-th, (k + k/2)-th, ... line steps, so a line step
    /// falls halfway between box steps. Whether a step has a point is decided once the models
    /// are fitted ([`Optimizer::exploration_point`]).
    pub(super) fn exploration_step(&self, position: usize) -> Option<ExplorationStep> {
        let (every, initial) = (self.config.exploration_every, self.config.initial_design());
        if every == 0 || position < initial {
            return None;
        }
        let phase = (position - initial) % every;
        if phase == every - 1 {
            (!self.backs_off(position, every, &ProposalKind::BoxExploration))
                .then_some(ExplorationStep::Box)
        } else if every >= 2
            && phase == every / 2 - 1
            && !self.backs_off(position, every, &ProposalKind::LineExploration)
        {
            let anchors: Vec<Vec<f64>> = self.pareto_trials().iter().map(|t| t.x.clone()).collect();
            (anchors.len() >= 2).then_some(ExplorationStep::ParetoLines { anchors })
        } else {
            None
        }
    }

    /// Whether the exploration step of kind `kind` at `position` backs off (module notes):
    /// the trial at the previous position of its kind (`position − every`) was that kind's
    /// step (its recorded [`ProposalKind`]) and came out weakly dominated by an earlier trial
    /// (`a ≥ b` in every objective), or infeasible. A backed-off step, or one that had no
    /// point, leaves an acquisition trial there, so the next step is taken: a kind that keeps
    /// failing runs at half its rate, and one non-dominated step restores it. A step still
    /// pending, or a trial whose proposal is unknown (chosen elsewhere), never makes the next
    /// one back off.
    fn backs_off(&self, position: usize, every: usize, kind: &ProposalKind) -> bool {
        let Some(previous) = position.checked_sub(every) else {
            return false;
        };
        let told: Vec<&super::Trial> = self
            .trials
            .iter()
            .filter(|t| !matches!(t.state, TrialState::Failed { .. }))
            .collect();
        let Some(step) = told.get(previous) else {
            return false;
        };
        if step.proposal.as_ref() != Some(kind) {
            return false;
        }
        let TrialState::Complete { values } = &step.state else {
            return false;
        };
        let Some(y) = self.feasible_objectives(values) else {
            return true;
        };
        told[..previous].iter().any(|earlier| {
            self.told_objectives(earlier)
                .is_some_and(|e| weakly_dominates(e, y))
        })
    }

    /// The seed of the next exploration step's candidates: it moves with the trial count.
    pub(super) fn exploration_seed(&self) -> u64 {
        self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x6578_706c)
    }

    /// The point exploration step `step` proposes (module notes), or `None` when it has
    /// none (a line step whose Pareto set spreads along no input the `models` use,
    /// `gp::inputs_in_use`). A box step whose hole the models of the objectives are unsure
    /// of proposes it only in case the acquisition ignores it.
    pub(super) fn exploration_point(
        &self,
        step: &ExplorationStep,
        models: &ModelEnsemble,
    ) -> Result<Option<ExplorationPoint>> {
        let tried: Vec<Vec<f64>> = self.trials.iter().map(|t| t.x.clone()).collect();
        let seed = self.exploration_seed();
        match step {
            ExplorationStep::Box => {
                let x = maximin_point(
                    &tried,
                    self.config.space.dim(),
                    EXPLORATION_CANDIDATES,
                    seed,
                )?;
                let unsure = largest_variance_fraction(models, self.config.num_objectives, &x)
                    > BOX_STEP_VARIANCE_FRACTION;
                Ok(Some(if unsure {
                    ExplorationPoint::UnlessAcquisitionValues(x)
                } else {
                    ExplorationPoint::Take(x)
                }))
            }
            ExplorationStep::ParetoLines { anchors } => {
                let Some(directions) = pareto_set_directions(anchors, &inputs_in_use(models))
                else {
                    return Ok(None);
                };
                // Candidates are measured as the valid points they round to, so a step never
                // repeats a trial (continuous spaces are left exactly as drawn).
                let space = &self.config.space;
                let continuous = space.is_continuous();
                let round = |x: &[f64]| -> Vec<f64> {
                    if continuous {
                        x.to_vec()
                    } else {
                        space.round(x)
                    }
                };
                Ok(pareto_line_point(
                    &tried,
                    anchors,
                    &directions,
                    EXPLORATION_CANDIDATES,
                    seed,
                    &round,
                )?
                .map(ExplorationPoint::Take))
            }
        }
    }
}

/// The largest, over the first `objectives` outcomes, of the posterior variance at `x` as a
/// fraction of the prior variance (`gp::ExactGp::variance_fraction`), each averaged over the
/// ensemble's members; 1 (know nothing) without models.
fn largest_variance_fraction(models: &ModelEnsemble, objectives: usize, x: &[f64]) -> f64 {
    if models.is_empty() {
        return 1.0;
    }
    let members = models.len() as f64;
    let point = [x.to_vec()];
    (0..objectives)
        .map(|j| {
            models
                .iter()
                .map(|member| member[j].variance_fraction(&point)[0])
                .sum::<f64>()
                / members
        })
        .fold(0.0, f64::max)
}
