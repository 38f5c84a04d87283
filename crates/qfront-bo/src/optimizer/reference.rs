//! What one acquisition trial of `Optimizer::ask` measures against, and its maximum: the
//! reference point (the user's or an inferred one), the baseline of points whose front the
//! improvement is counted over, and the acquisition's search.

use super::{Method, Optimizer, ReferenceRule, TrialState, ONE_START_POINTS};
use crate::acq::{
    optimize_acquisition, optimize_acquisition_mixed, prune_baseline, sample_simplex, Acquisition,
    AcquisitionOptimizerOptions, Chebyshev, ModelEnsemble, QLogNehvi, QParEgo, Qnehvi,
    QnehviOptions,
};
use crate::moo::infer_reference_point;
use crate::Result;
use rand_chacha::ChaCha8Rng;

/// Every this-many-th ask (by trial count) measures against the loose reference point
/// (`acq::loose_reference`: the all-points rule, widened to the models' mean front) instead
/// of the predicted front's; the loose point is what finds a disconnected
/// front's far segments (DTLZ7, ZDT3), the predicted one what keeps the search off weakly
/// Pareto-optimal extremes (DTLZ2's faces) and noisy ones.
pub(super) const LOOSE_REFERENCE_EVERY: usize = 3;

/// The least expected hypervolume improvement, as a fraction of the observed front's
/// hypervolume against a given reference point, that the acquisition's maximum must reach
/// for an ask to follow the given point; below it the ask measures against the inferred
/// point. A gain that small is the models' residual doubt about points already measured:
/// told ZDT2's (1.1, 1.1) with the quadratic trend, seed 5's maximum fell to 6.6e-6–5.9e-11
/// (a front of hypervolume 0.11) and 27 of its 28 model trials stayed at `x₁ = 0` next to
/// the corner it had found, 9 of them measuring it again exactly; told vehicle safety's
/// point, the maxima of trials 30–39 were 5.4e-4 to 1.4e-2 of the front's hypervolume
/// (seeds 0–2; design notes, "The trend against a given point").
pub(super) const GIVEN_REFERENCE_FLOOR: f64 = 1e-5;

/// What every acquisition search of one ask shares.
pub(super) struct AcquisitionSearch<'a> {
    /// The fitted models (`models[s][j]`: member `s`, outcome `j`).
    pub models: &'a ModelEnsemble,
    /// Local-search starts: the observed Pareto-optimal points.
    pub anchors: &'a [Vec<f64>],
    /// Raw samples, restarts, seed, free coordinates.
    pub options: &'a AcquisitionOptimizerOptions,
    /// Seed of the Monte-Carlo samples.
    pub mc_seed: u64,
}

impl Optimizer {
    /// The reference point (maximization) when the user gave none, with its rule. Every
    /// third ask measures against the all-points rule (`worst − 0.1·(best − worst)` over
    /// every feasible observation `observed`), widened where the models' mean front reaches
    /// further (`acq::loose_reference`), until a loose ask re-measures a known outcome
    /// ([`Optimizer::loose_asks_stopped`]); the others, and every ask after that, against
    /// the models' optimistic predicted front (`acq::predicted_front_reference`; design
    /// notes, "The reference point"). qParEGO measures no hypervolume and prunes no
    /// baseline, so its rule is `None`.
    pub(super) fn inferred_reference(
        &self,
        models: &ModelEnsemble,
        x_done: &[Vec<f64>],
        observed: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Option<ReferenceRule>)> {
        if self.config.method == Method::Qparego {
            Ok((infer_reference_point(observed, 0.1)?, None))
        } else if self.trials.len().is_multiple_of(LOOSE_REFERENCE_EVERY)
            && !self.loose_asks_stopped()
        {
            let loose = crate::acq::loose_reference(
                models,
                x_done,
                observed,
                &self.config.space,
                self.config.num_objectives,
                &infer_reference_point(observed, 0.1)?,
                self.reference_seed(),
            )?;
            Ok((loose, Some(ReferenceRule::Loose)))
        } else {
            Ok((
                self.predicted_front_point(models, x_done, observed)?,
                Some(ReferenceRule::PredictedFront),
            ))
        }
    }

    /// The predicted front's reference point (`acq::predicted_front_reference`, bounded by
    /// the all-points rule over `observed`), seeded by the trial count.
    pub(super) fn predicted_front_point(
        &self,
        models: &ModelEnsemble,
        x_done: &[Vec<f64>],
        observed: &[Vec<f64>],
    ) -> Result<Vec<f64>> {
        let loosest = infer_reference_point(observed, 0.1)?;
        crate::acq::predicted_front_reference(
            models,
            x_done,
            observed,
            &self.config.space,
            self.config.num_objectives,
            &loosest,
            self.reference_seed(),
        )
    }

    /// Whether this trial, with a given reference point, measures against the predicted
    /// front's point instead: its count is one past a multiple of
    /// `given_reference_alternation` (0: never), and the method measures hypervolume.
    pub(super) fn given_reference_yields(&self) -> bool {
        let every = self.config.given_reference_alternation;
        // `1 % every`: one past a multiple, and every trial when `every` is 1.
        every > 0 && self.trials.len() % every == 1 % every && self.config.method != Method::Qparego
    }

    /// The seed of an inferred point's Sobol probes, moved by the trial count.
    fn reference_seed(&self) -> u64 {
        self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x7265_6672)
    }

    /// Whether the loose asks have stopped for this study: the latest trial a loose ask
    /// chose (its recorded proposal) came back with objective values exactly equal to an
    /// earlier trial's, both feasible. On a deterministic objective that is a known outcome
    /// measured again: the loose point valued it only for the models' doubt (about inputs
    /// that change nothing, or about another corner of the box that gives the same values),
    /// multiplied by the loose point's width behind the front's end, and would keep valuing
    /// it. Noisy objectives never repeat a value exactly, so there the rule never fires. What
    /// it measured on issue #17's suite: design notes, "Loose asks stop after re-measuring a
    /// known outcome".
    pub(super) fn loose_asks_stopped(&self) -> bool {
        let is_loose = |trial: &super::Trial| {
            matches!(
                trial.proposal,
                Some(super::ProposalKind::Acquisition {
                    rule: Some(ReferenceRule::Loose),
                    ..
                })
            )
        };
        let Some(latest) = self.trials.iter().rposition(is_loose) else {
            return false;
        };
        let Some(repeated) = self.told_objectives(&self.trials[latest]) else {
            return false;
        };
        self.trials[..latest]
            .iter()
            .any(|earlier| self.told_objectives(earlier) == Some(repeated))
    }

    /// The points whose joint front an improvement is counted over: the modelled points
    /// `x_done` that may be Pareto-optimal beyond `reference` (`acq::prune_baseline`, as
    /// BoTorch's `prune_baseline`), then every pending trial.
    pub(super) fn acquisition_baseline(
        &self,
        models: &ModelEnsemble,
        x_done: &[Vec<f64>],
        reference: &[f64],
    ) -> Result<Vec<Vec<f64>>> {
        let prune = self.config.prune_baseline && self.config.method != Method::Qparego;
        let mut baseline: Vec<Vec<f64>> = if prune {
            prune_baseline(
                models,
                x_done,
                reference,
                // BoTorch's 2048 joint samples cost O(n²) each; past ONE_START_POINTS
                // points 512 (a rarely optimal point may then be pruned).
                if x_done.len() > ONE_START_POINTS {
                    512
                } else {
                    2048
                },
                self.config.seed,
            )?
            .into_iter()
            .map(|i| x_done[i].clone())
            .collect()
        } else {
            x_done.to_vec()
        };
        baseline.extend(
            self.trials
                .iter()
                .filter(|t| t.state == TrialState::Pending)
                .map(|t| t.x.clone()),
        );
        Ok(baseline)
    }

    /// The acquisition's maximum over the space, rounded onto it (in a mixed space the
    /// acquisition also chooses the rounding), and its value there: qNEHVI or qLogNEHVI
    /// against `reference` over `baseline`, or qNParEGO with random weights drawn from
    /// `weight_rng` over the observed range of `observed`; and, where `probe` names a point,
    /// the same acquisition's value at it.
    pub(super) fn acquisition_maximum(
        &self,
        search: &AcquisitionSearch<'_>,
        baseline: &[Vec<f64>],
        reference: &[f64],
        observed: &[Vec<f64>],
        weight_rng: &mut ChaCha8Rng,
        probe: Option<&[f64]>,
    ) -> Result<(Vec<f64>, f64, Option<f64>)> {
        let m = self.config.num_objectives;
        let acquisition: Box<dyn Acquisition> = if self.config.method.log_acquisition() {
            Box::new(QLogNehvi::new(
                search.models,
                baseline,
                reference,
                self.config.num_constraints,
                self.config.mc_samples,
                search.mc_seed,
            )?)
        } else if self.config.method == Method::Qparego {
            let weights = sample_simplex(m, weight_rng);
            Box::new(QParEgo::new(
                search.models,
                baseline,
                Chebyshev::new(weights, observed)?,
                self.config.num_constraints,
                self.config.mc_samples,
                search.mc_seed,
            )?)
        } else {
            Box::new(Qnehvi::new(
                search.models,
                baseline,
                reference,
                &QnehviOptions {
                    mc_samples: self.config.mc_samples,
                    seed: search.mc_seed,
                    constraints: self.config.num_constraints,
                },
            )?)
        };
        let (x, mut value) = if self.config.space.is_continuous() {
            optimize_acquisition(
                acquisition.as_ref(),
                self.config.space.dim(),
                search.anchors,
                search.options,
            )?
        } else {
            optimize_acquisition_mixed(
                acquisition.as_ref(),
                &self.config.space,
                search.anchors,
                search.options,
            )?
        };
        let rounded = self
            .config
            .space
            .best_rounding(&x, |p| acquisition.evaluate(p, false).0);
        if rounded != x {
            value = acquisition.evaluate(&rounded, false).0;
        }
        let at_probe = probe.map(|p| acquisition.evaluate(p, false).0);
        Ok((rounded, value, at_probe))
    }
}
