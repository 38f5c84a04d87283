//! `Optimizer::ask`: the initial design, then model-based batches (see the module notes of
//! `optimizer`).

use super::anchor::AnchorInputs;
use super::exploration::{acquisition_ignores_hole, ExplorationPoint, ExplorationStep};
use super::reference::{AcquisitionSearch, GIVEN_REFERENCE_FLOOR};
use super::{
    AskTiming, Method, Optimizer, ProposalKind, ReferenceRule, Trial, TrialState, ONE_START_POINTS,
};
use crate::acq::{AcquisitionOptimizerOptions, ModelEnsemble};
use crate::gp::{
    fit_choosing_warp, fit_saas, inputs_to_ignore, ConstantMean, ExactGp, GpFitOptions,
    Hyperparameters, SaasOptions, YeoJohnson,
};
use crate::moo::{hypervolume, pareto_front};
use crate::{BoError, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::time::Instant;

/// A SAAS coordinate counts as active when its median lengthscale is at most this (inputs on
/// the unit cube).
const SAAS_ACTIVE_LENGTHSCALE: f64 = 2.0;

/// The first step of a fit that starts from the last one ([`Trial::model_fit`]): 0.01 in
/// `θ = (ln ℓ, ln σ², …)`, a 1% change of each hyperparameter. The optimum moves little
/// between asks, so the default unit step overshot it and was halved six or seven times, an
/// evaluation each; a short step gives L-BFGS its first curvature pair at once.
const WARM_FIT_FIRST_STEP: f64 = 0.01;

/// The stationarity test of a fit that starts from the last one, on the projected gradient
/// of the negative log posterior summed over the points (Optuna's `GPSampler`: scipy's
/// L-BFGS-B with `gtol = 1e-2` on that sum; qfront's objective is the mean over the `n`
/// points, so the test there is `1e-2 / n`). From a cold start the default 1e-5 on the
/// mean stays: a loose test there stops short in another basin (design notes, "Each fit
/// starts where the last one ended").
const WARM_FIT_GRADIENT_TOLERANCE: f64 = 1e-2;

impl Optimizer {
    /// `n` new trials (see the module notes).
    pub fn ask(&mut self, n: usize) -> Result<Vec<Trial>> {
        let mut out = Vec::with_capacity(n);
        self.last_proposals.clear();
        let usable = self
            .trials
            .iter()
            .filter(|t| !matches!(t.state, TrialState::Failed { .. }))
            .count();
        let complete = self
            .trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete { .. }))
            .count();
        let model_ready = self.config.method != Method::Sobol
            && usable >= self.config.initial_design()
            && complete >= 2;
        if !model_ready {
            for _ in 0..n {
                let x = self.next_sobol_point(0);
                out.push(self.push_trial(x, ProposalKind::Sobol));
            }
            return Ok(out);
        }
        // Trial i of this ask is the (usable + i)-th non-failed trial. Whether an exploration
        // step has a point depends on the models (`optimizer::exploration`), so every
        // model-based ask fits them.
        let mut explores: Vec<Option<ExplorationStep>> =
            (0..n).map(|i| self.exploration_step(usable + i)).collect();
        let (mut x_done, mut y_done) = self.completed();
        let subsampled = x_done.len() > self.config.max_model_points;
        if subsampled {
            let keep = crate::moo::model_subset(
                &y_done,
                self.config.num_objectives,
                self.config.max_model_points,
                self.config.seed,
            );
            x_done = keep.iter().map(|&i| x_done[i].clone()).collect();
            y_done = keep.iter().map(|&i| y_done[i].clone()).collect();
        }
        let started = Instant::now();
        let m = self.config.num_objectives;
        let outcomes = m + self.config.num_constraints;
        // Each objective's GP is fitted on its Yeo–Johnson warp and answers in the objective's
        // own units (the warp undone on every sample), so the acquisition measures
        // hypervolume as the user does. Constraint slacks are not warped.
        let warps: Option<Vec<YeoJohnson>> = self.config.outcome_warp.then(|| {
            (0..m)
                .map(|j| YeoJohnson::fit(&y_done.iter().map(|v| v[j]).collect::<Vec<_>>()))
                .collect()
        });
        // Feasible objective values (all of them when none is feasible yet).
        let mut y_front: Vec<Vec<f64>> = y_done
            .iter()
            .filter_map(|v| self.feasible_objectives(v).map(<[f64]>::to_vec))
            .collect();
        let x_front: Vec<Vec<f64>> = x_done
            .iter()
            .zip(&y_done)
            .filter(|(_, v)| self.feasible_objectives(v).is_some())
            .map(|(x, _)| x.clone())
            .collect();
        let (x_front, y_front) = if y_front.is_empty() {
            y_front = y_done.iter().map(|v| v[..m].to_vec()).collect();
            (x_done.clone(), y_front)
        } else {
            (x_front, y_front)
        };
        // The trend and the warp's second fit (below) are used while the fits are cheap: not
        // on a subset of a long history, nor past the points where a fit takes one start.
        // The trend is fitted with a given reference point too: the anchor steps probe where
        // a trend is confidently wrong, and a given point's vanishing gain yields to the
        // inferred one (design notes, "A quadratic trend under the GP" and "The trend against
        // a given point").
        let cheap_fits = !subsampled && x_done.len() <= ONE_START_POINTS;
        let quadratic_trend = self.config.quadratic_trend && cheap_fits;
        let one_start = subsampled || x_done.len() > ONE_START_POINTS;
        // Where one start will do, it is the newest fit this history records (one ask ago,
        // as a rule), which the added points move little: L-BFGS stops after a few steps
        // where a cold start took tens (design notes, "Each fit starts where the last
        // one ended").
        let starts = if one_start {
            self.fit_starts(outcomes)
        } else {
            None
        };
        let fit_options = GpFitOptions {
            // With more than ONE_START_POINTS points (or a subset of a long history) the
            // likelihood is sharply peaked: one start is enough, and the fit is most of an
            // ask's time.
            restarts: if one_start {
                1
            } else {
                self.config.gp_restarts
            },
            seed: self.config.seed ^ self.trials.len() as u64,
            mean: if self.config.space.dim() >= self.config.worst_observed_mean_min_dim {
                ConstantMean::WorstObserved
            } else {
                ConstantMean::Fitted
            },
            quadratic_trend,
            input_extremes: quadratic_trend.then(|| self.config.space.encoded_extremes()),
            ..GpFitOptions::default()
        };
        // Outcome j's fit from the record's start; `None` without a record.
        let warm_options = |j: usize| -> Option<GpFitOptions> {
            let mut options = fit_options.clone();
            options.start = Some(starts.as_ref()?[j].clone());
            options.lbfgs.first_step = WARM_FIT_FIRST_STEP;
            options.lbfgs.gradient_tolerance = WARM_FIT_GRADIENT_TOLERANCE / x_done.len() as f64;
            Some(options)
        };
        // Objective j's warp (constraints, j ≥ m, have none).
        let warp_of = |j: usize| warps.as_ref().and_then(|w| w.get(j)).copied();
        let column = |j: usize| -> Vec<f64> {
            match warp_of(j) {
                Some(warp) => y_done.iter().map(|v| warp.apply(v[j])).collect(),
                None => y_done.iter().map(|v| v[j]).collect(),
            }
        };
        let answering_in_units = |j: usize, gp: ExactGp| match warp_of(j) {
            Some(warp) => gp.with_output_warp(warp),
            None => gp,
        };
        let mut saas_free: Option<Vec<bool>> = None;
        let saas = matches!(
            self.config.method,
            Method::QnehviSaas | Method::QlognehviSaas
        );
        let mut model_fit: Option<Vec<Hyperparameters>> = None;
        let models: ModelEnsemble = if saas {
            // One chain per objective, in parallel (rayon's pool); member s holds every
            // objective's s-th sample.
            let fits: Vec<crate::gp::SaasGp> = (0..outcomes)
                .into_par_iter()
                .map(|j| {
                    let options = SaasOptions {
                        seed: self.config.seed ^ ((self.trials.len() * outcomes + j) as u64),
                        ..self.config.saas
                    };
                    // A panic in the sampler becomes this ask's error, not the process's.
                    let column = column(j);
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        fit_saas(&x_done, &column, &options)
                    }))
                    .unwrap_or_else(|_| Err(BoError::input("SAAS", "the sampler panicked")))
                })
                .collect::<Result<_>>()?;
            // Coordinates some objective's SAAS model finds active (median ℓ_d ≤ 2 on the unit
            // cube); the acquisition search moves only those.
            let d = self.config.space.dim();
            let mut active = vec![false; d];
            for f in &fits {
                for (a, l) in active.iter_mut().zip(f.median_lengthscales()) {
                    *a |= l <= SAAS_ACTIVE_LENGTHSCALE;
                }
            }
            saas_free = Some(active);
            let kept = fits.iter().map(|f| f.samples.len()).min().unwrap_or(0);
            (0..kept)
                .map(|s| {
                    fits.iter()
                        .enumerate()
                        .map(|(j, f)| answering_in_units(j, f.samples[s].clone()))
                        .collect()
                })
                .collect()
        } else {
            // Each outcome's GP (answering in the outcome's units) and the values it was
            // fitted on. While fits are cheap, an objective whose warp is not the identity
            // gets a plain GP too, one whose values sit on a plateau at their worst a GP on
            // their log distance from it, and each keeps the GP that predicts the better half
            // of its values best (`gp::fit_choosing_warp`; design notes, "The warp where it
            // predicts better" and "A log warp above the worst value").
            // The outcomes are fitted in parallel (rayon's pool; `RAYON_NUM_THREADS=1` keeps an
            // ask on one core): each fit depends only on its own column, so the models are
            // the same bit for bit however the work is spread.
            let fits: Vec<(ExactGp, Vec<f64>)> = (0..outcomes)
                .into_par_iter()
                .map(|j| {
                    let raw: Vec<f64> = y_done.iter().map(|v| v[j]).collect();
                    let fit = |options: &GpFitOptions| match warp_of(j) {
                        Some(warp) => fit_choosing_warp(&x_done, &raw, warp, cheap_fits, options),
                        None => Ok((ExactGp::fit(&x_done, &raw, options)?, raw.clone())),
                    };
                    // A start that fails (a record the data no longer supports) gives way to
                    // a cold start, as `GPSampler` falls back to its defaults; otherwise
                    // one bad record would fail every later ask.
                    match warm_options(j).map(|options| fit(&options)) {
                        Some(Ok(fitted)) => Ok(fitted),
                        _ => fit(&fit_options),
                    }
                })
                .collect::<Result<_>>()?;
            let (mut fitted, columns): (Vec<ExactGp>, Vec<Vec<f64>>) = fits.into_iter().unzip();
            model_fit = Some(
                fitted
                    .iter()
                    .map(|gp| gp.hyperparameters().clone())
                    .collect(),
            );
            // Inputs no outcome uses, or that identical outcomes show to do nothing, leave
            // every model (`ExactGp::ignoring_inputs`), so a point that differs from an
            // observation only in them is that observation.
            let ignored = inputs_to_ignore(
                std::slice::from_ref(&fitted),
                &x_done,
                &y_done,
                &self.config.space,
            );
            if ignored.contains(&true) {
                for (gp, y) in fitted.iter_mut().zip(&columns) {
                    *gp = gp.ignoring_inputs(y, &ignored)?;
                }
            }
            // `ignoring_inputs` keeps each GP's output warp.
            vec![fitted]
        };
        let fit_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        // The user's point, or one inferred from the observations and the models
        // (`Optimizer::inferred_reference`). qParEGO measures no hypervolume (it uses the
        // point only to prune the baseline), so its trials record no rule.
        // With a given point, every `given_reference_alternation`-th trial measures against
        // the predicted front's point instead (`OptimizerConfig::given_reference_alternation`).
        let (mut reference, mut rule) = match &self.config.reference_point {
            Some(_) if self.given_reference_yields() => (
                self.predicted_front_point(&models, &x_done, &y_front)?,
                Some(ReferenceRule::PredictedFront),
            ),
            Some(r) => (
                r.clone(),
                (self.config.method != Method::Qparego).then_some(ReferenceRule::Given),
            ),
            None => self.inferred_reference(&models, &x_done, &y_front)?,
        };
        let mut baseline = self.acquisition_baseline(&models, &x_done, &reference)?;
        // The least expected gain worth following against a given point, once per ask (read
        // only while the rule is `Given`; see the acquisition's loop below).
        let given_floor = match rule {
            Some(ReferenceRule::Given) => {
                GIVEN_REFERENCE_FLOOR * hypervolume(&pareto_front(&y_front), &reference)?
            }
            _ => 0.0,
        };
        // Anchors for local starts: the observed Pareto-optimal points.
        let anchors: Vec<Vec<f64>> = crate::moo::is_non_dominated(&y_front)
            .into_iter()
            .zip(&x_front)
            .filter(|(keep, _)| *keep)
            .map(|(_, x)| x.clone())
            .collect();
        let mut weight_rng = ChaCha8Rng::seed_from_u64(
            self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x7765_6967),
        );
        for i in 0..n {
            // A box step's hole the models are unsure of: measured only if the acquisition
            // ignores it (`optimizer::exploration`).
            let mut unsure_hole: Option<Vec<f64>> = None;
            if let Some(step) = explores[i].take() {
                match self.exploration_point(&step, &models)? {
                    Some(ExplorationPoint::Take(x)) => {
                        let kind = match step {
                            ExplorationStep::Box => ProposalKind::BoxExploration,
                            ExplorationStep::ParetoLines { .. } => ProposalKind::LineExploration,
                        };
                        self.propose(x, kind, &mut baseline, &mut out);
                        continue;
                    }
                    Some(ExplorationPoint::UnlessAcquisitionValues(x)) => unsure_hole = Some(x),
                    None => {}
                }
            }
            let mc_seed = self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x9e37);
            let options = AcquisitionOptimizerOptions {
                raw_samples: self.config.raw_samples,
                restarts: self.config.restarts,
                seed: self.config.seed ^ (self.trials.len() + i) as u64,
                free_dimensions: saas_free.clone(),
                ..AcquisitionOptimizerOptions::default()
            };
            // An anchor step (`optimizer::anchor`) needs a hypervolume acquisition to
            // complement (qParEGO's scalarizations already reach the front's ends). It is
            // taken against a given reference point too: with the trend, it is what finds a
            // feature the models are confidently wrong about (Viennet's dip at the origin).
            let anchor = self
                .anchor_objective(usable + i)
                .filter(|_| self.config.method != Method::Qparego);
            if let Some(first) = anchor {
                let inputs = AnchorInputs {
                    models: &models,
                    baseline: &baseline,
                    observed: &y_front,
                    starts: &anchors,
                    options: &options,
                    mc_seed,
                };
                if let Some((x, objective)) = self.anchor_point(first, &inputs)? {
                    let kind = ProposalKind::Anchor { objective };
                    self.propose(x, kind, &mut baseline, &mut out);
                    continue;
                }
            }
            let search = AcquisitionSearch {
                models: &models,
                anchors: &anchors,
                options: &options,
                mc_seed,
            };
            // A given point that no sample of any candidate improves on (no trial has come
            // near it yet: ZDT2 told (1.1, 1.1), 2 of 10 seeds ended at 0), or by no more
            // than `GIVEN_REFERENCE_FLOOR` of the front's hypervolume against it (a gain of
            // that size is the models' doubt about points already measured: ZDT2 seed 5 with
            // the trend kept 27 of 28 trials next to one corner), leaves the search
            // nothing to follow; the rest of the ask measures against the inferred point
            // (design notes, "A given reference point nothing reaches yet", "The trend
            // against a given point"). qParEGO's rule is never `Given` (its value says
            // nothing about the point), nor is the inferred rule, so the search runs at most
            // twice.
            // qLogNEHVI's value is the logarithm of the expected improvement: compared on the
            // improvement's own scale (a zero improvement underflows to 0).
            let log_acquisition = self.config.method.log_acquisition();
            let improvement_of = |value: f64| if log_acquisition { value.exp() } else { value };
            let (x, value, at_hole) = loop {
                let (x, value, at_hole) = self.acquisition_maximum(
                    &search,
                    &baseline,
                    &reference,
                    &y_front,
                    &mut weight_rng,
                    unsure_hole.as_deref(),
                )?;
                let something_to_follow = improvement_of(value) > given_floor; // false for NaN
                if rule != Some(ReferenceRule::Given) || something_to_follow {
                    break (x, value, at_hole);
                }
                (reference, rule) = self.inferred_reference(&models, &x_done, &y_front)?;
                baseline = self.acquisition_baseline(&models, &x_done, &reference)?;
            };
            if let (Some(hole), Some(at_hole)) = (unsure_hole, at_hole) {
                if acquisition_ignores_hole(improvement_of(at_hole), improvement_of(value)) {
                    self.propose(hole, ProposalKind::BoxExploration, &mut baseline, &mut out);
                    continue;
                }
            }
            self.propose(
                x,
                ProposalKind::Acquisition {
                    rule,
                    reference: rule.map(|_| reference.clone()),
                    value: value.is_finite().then_some(value),
                },
                &mut baseline,
                &mut out,
            );
        }
        self.last_timing = AskTiming {
            fit_seconds,
            acquisition_seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(fit) = model_fit {
            for trial in &mut out {
                trial.model_fit = Some(fit.clone());
                self.trials[trial.id].model_fit = Some(fit.clone());
            }
        }
        Ok(out)
    }

    /// The starts of the next fits of one start: the newest [`Trial::model_fit`] record
    /// with one entry per outcome, one lengthscale per input and every value a positive
    /// finite number (`None` when no trial has such a record: a first model-based ask,
    /// another space, a record from another version).
    pub(super) fn fit_starts(&self, outcomes: usize) -> Option<Vec<Hyperparameters>> {
        let d = self.config.space.dim();
        let usable = |h: &Hyperparameters| {
            h.lengthscales.len() == d
                && h.lengthscales
                    .iter()
                    .chain([&h.outputscale, &h.noise])
                    .all(|v| v.is_finite() && *v > 0.0)
                && h.mean.is_finite()
        };
        self.trials
            .iter()
            .rev()
            .filter_map(|t| t.model_fit.as_ref())
            .find(|fit| fit.len() == outcomes && fit.iter().all(usable))
            .cloned()
    }

    /// Records trial `x`, chosen by `kind`, as pending (`push_trial`), adds it to the
    /// baseline later trials of the same ask improve on, and to the ask's answer.
    fn propose(
        &mut self,
        x: Vec<f64>,
        kind: ProposalKind,
        baseline: &mut Vec<Vec<f64>>,
        out: &mut Vec<Trial>,
    ) {
        let trial = self.push_trial(x, kind);
        baseline.push(trial.x.clone());
        out.push(trial);
    }
}
