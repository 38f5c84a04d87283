//! Anchor steps (issue #17; design notes, "Anchor steps"): now and then a model-based trial
//! goes to one objective's own best point, when the models predict that point past every
//! observation in another objective.
//!
//! Why: without a reference point from the user, every hypervolume rule the optimizer has
//! (`acq::predicted_front_reference`, `acq::loose_reference`) is inferred from what it has
//! seen, so a trade-off that costs more of another objective than any trial has cost scores
//! no hypervolume at all. On vehicle safety the lowest injuries cost an intrusion past every
//! trial of the initial design, and qNEHVI never proposed them (seed 7: 227.7 against 235.3
//! for `GPSampler`). Estimating the front's extent — its nadir — needs each objective's
//! extreme (the payoff table of Benayoun et al. 1971); an anchor step measures one.
//!
//! At positions `initial + every/2`, `initial + every + every/2`, ... (so, by default, never
//! on an exploration step), objective `j = (cycle mod m)` is tried first, then the others in
//! turn: the point maximizing the noisy expected improvement of `s_j`
//! (`acq::AnchorScalarization`) is taken when its improvement is positive and the models'
//! posterior median there (in the objectives' units) is worse than every observation in some
//! other objective. Otherwise the trial is qNEHVI's, as it would have been: on a problem
//! whose extremes the observations already span, anchor steps never happen.

use super::Optimizer;
use crate::acq::{
    ensemble_quantiles, optimize_acquisition, optimize_acquisition_mixed, Acquisition,
    AcquisitionOptimizerOptions, AnchorScalarization, ModelEnsemble, QParEgo,
};
use crate::Result;

/// What an anchor step needs from the ask that takes it.
pub(super) struct AnchorInputs<'a> {
    /// The fitted models (objectives first, then constraint slacks).
    pub models: &'a ModelEnsemble,
    /// qNEHVI's baseline (observed and pending points).
    pub baseline: &'a [Vec<f64>],
    /// Feasible observed objective values (maximized).
    pub observed: &'a [Vec<f64>],
    /// Starting points for the acquisition optimizer (the observed Pareto set).
    pub starts: &'a [Vec<f64>],
    /// The acquisition optimizer's settings for this trial.
    pub options: &'a AcquisitionOptimizerOptions,
    /// Seed of the Monte-Carlo samples.
    pub mc_seed: u64,
}

impl Optimizer {
    /// The objective an anchor step at `position` (the trial's index among non-failed
    /// trials) tries first, or `None` when `position` is not an anchor position.
    pub(super) fn anchor_objective(&self, position: usize) -> Option<usize> {
        let (every, initial) = (self.config.anchor_every, self.config.initial_design());
        let m = self.config.num_objectives;
        if every == 0 || m < 2 || position < initial || (position - initial) % every != every / 2 {
            return None;
        }
        Some(((position - initial) / every) % m)
    }

    /// The anchor step's point and the objective anchored, starting with objective `first`;
    /// `None` when no objective's best point is predicted past the observations (the trial
    /// is then qNEHVI's).
    pub(super) fn anchor_point(
        &self,
        first: usize,
        inputs: &AnchorInputs<'_>,
    ) -> Result<Option<(Vec<f64>, usize)>> {
        let m = self.config.num_objectives;
        for offset in 0..m {
            let objective = (first + offset) % m;
            let scalarization = AnchorScalarization::new(objective, inputs.observed)?;
            let worst = scalarization.worst_observed().to_vec();
            let acquisition = QParEgo::new(
                inputs.models,
                inputs.baseline,
                scalarization,
                self.config.num_constraints,
                self.config.mc_samples,
                inputs.mc_seed,
            )?;
            let space = &self.config.space;
            let (x, improvement) = if space.is_continuous() {
                optimize_acquisition(&acquisition, space.dim(), inputs.starts, inputs.options)?
            } else {
                optimize_acquisition_mixed(&acquisition, space, inputs.starts, inputs.options)?
            };
            if improvement <= 0.0 {
                continue;
            }
            let x = space.best_rounding(&x, |p| acquisition.evaluate(p, false).0);
            let predicted =
                ensemble_quantiles(inputs.models, std::slice::from_ref(&x), 0.0).remove(0);
            if reaches_past_observations(&predicted[..m], &worst, objective) {
                return Ok(Some((x, objective)));
            }
        }
        Ok(None)
    }
}

/// Whether a point predicted at `predicted` (maximized) is worse than every observation
/// (`worst`, each objective's lowest observed value) in some objective other than
/// `objective`: a trade-off no reference point inferred from the observations values.
fn reaches_past_observations(predicted: &[f64], worst: &[f64], objective: usize) -> bool {
    predicted
        .iter()
        .zip(worst)
        .enumerate()
        .any(|(k, (p, w))| k != objective && p < w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loss_past_every_observation_in_another_objective_counts() {
        let worst = [-10.0, -0.2, -5.0];
        // Objective 1 anchored: objective 2 predicted past its worst observation.
        assert!(reaches_past_observations(&[-9.0, 0.5, -5.5], &worst, 1));
        // Within the observations everywhere.
        assert!(!reaches_past_observations(&[-9.0, 0.5, -4.0], &worst, 1));
        // Only the anchored objective is past them: that is not a trade-off.
        assert!(!reaches_past_observations(&[-9.0, -0.3, -4.0], &worst, 1));
    }
}
