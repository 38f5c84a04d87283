//! qNEHVI, the noisy expected hypervolume improvement (Daulton, Balandat & Bakshy, NeurIPS
//! 2021; methods-spec §4.5), in its sequential-greedy, cached-root form:
//!
//! `qNEHVI(x) = (1/N)·Σ_t HVI(f̃_t(x) | Pareto(f̃_t(X_b)))`, one joint posterior sample f̃_t over
//! the baseline `X_b` (pruned observations plus pending points) and `x`, from N fixed
//! quasi-Monte-Carlo normal base samples (common random numbers). The baseline samples, and
//! hence their Pareto fronts, are computed once; each evaluation only conditions the
//! candidate on them (see `gp::candidate`). Batches are built greedily: the chosen point joins
//! the baseline as pending and the next one maximizes its own improvement (BoTorch's
//! `cache_pending`, `incremental_nehvi`). For a fully Bayesian model the value is averaged
//! over the ensemble members (S7 `get_fully_bayesian_acqf`).
//!
//! The gradient is analytic: the chain rule through the single-point HVI and the candidate's
//! posterior terms. The single-point HVI is a sweep of a sorted front for two objectives, a
//! pass over the boxes of each sample's dominated region, built once, for three
//! (`moo::DominatedBoxes3`), and the limited set's hypervolume beyond (`moo::exclusive`).

use super::joint::JointSamples;
use super::{latent_point, Acquisition, Constraints, ModelEnsemble};
use crate::moo::{
    hypervolume_improvement_2d_sorted, hypervolume_improvement_single, sort_front_2d,
    DominatedBoxes3,
};
use crate::Result;

/// Settings of [`Qnehvi`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QnehviOptions {
    /// Quasi-Monte-Carlo samples N (BoTorch and Ax: 128).
    pub mc_samples: usize,
    /// Seed of the base samples.
    pub seed: u64,
    /// Outcome constraints: the models after the objectives are slacks (≥ 0 feasible).
    pub constraints: usize,
}

impl Default for QnehviOptions {
    fn default() -> Self {
        Self {
            mc_samples: 128,
            seed: 0,
            constraints: 0,
        }
    }
}

/// A qNEHVI acquisition, ready to evaluate candidates in the unit cube.
pub struct Qnehvi<'a> {
    joint: JointSamples<'a>,
    reference: Vec<f64>,
    /// Per member, per sample: the Pareto front of the baseline sample (points > reference;
    /// for m = 2 sorted by the first objective, descending).
    fronts: Vec<Vec<Vec<Vec<f64>>>>,
    /// For m = 3, per member, per sample: the region `fronts` dominates as disjoint boxes,
    /// so a candidate's improvement is one pass over them (`moo::DominatedBoxes3`); empty
    /// otherwise.
    boxes: Vec<Vec<DominatedBoxes3>>,
    /// `fronts` and `reference` on each member's standardized latent scale
    /// (`ExactGp::latent_of_output`), for [`Qnehvi::cannot_improve`].
    latent_fronts: Vec<Vec<Vec<Vec<f64>>>>,
    latent_references: Vec<Vec<f64>>,
}

/// How far (relative) a latent value must clear another before [`Qnehvi::cannot_improve`]
/// trusts the comparison: `latent_of_output` inverts the outputs only up to rounding.
const LATENT_MARGIN: f64 = 1e-9;

impl<'a> Qnehvi<'a> {
    /// Builds the acquisition over `baseline` (maximization frame, `reference` in it).
    pub fn new(
        models: &'a ModelEnsemble,
        baseline: &[Vec<f64>],
        reference: &[f64],
        options: &QnehviOptions,
    ) -> Result<Self> {
        let m = reference.len();
        let joint = JointSamples::new(
            models,
            baseline,
            m + options.constraints,
            options.mc_samples,
            options.seed ^ 0x6e65_6876,
        )?;
        let fronts: Vec<Vec<Vec<Vec<f64>>>> = (0..joint.members())
            .map(|k| {
                (0..joint.samples())
                    .map(|t| {
                        // Only baseline points feasible in this sample shape its front.
                        let mut front: Vec<Vec<f64>> = joint
                            .feasible_front(k, t, m)
                            .into_iter()
                            .filter(|v| v.iter().zip(reference).all(|(a, r)| a > r))
                            .collect();
                        if m == 2 {
                            sort_front_2d(&mut front);
                        }
                        front
                    })
                    .collect()
            })
            .collect();
        let boxes = if m == 3 {
            fronts
                .iter()
                .map(|of_member| {
                    of_member
                        .iter()
                        .map(|front| DominatedBoxes3::new(front, reference))
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        let latent_fronts = fronts
            .iter()
            .enumerate()
            .map(|(k, of_member)| {
                of_member
                    .iter()
                    .map(|front| front.iter().map(|p| latent_point(&models[k], p)).collect())
                    .collect()
            })
            .collect();
        let latent_references = (0..joint.members())
            .map(|k| latent_point(&models[k], reference))
            .collect();
        Ok(Self {
            joint,
            reference: reference.to_vec(),
            fronts,
            boxes,
            latent_fronts,
            latent_references,
        })
    }
}

impl Qnehvi<'_> {
    /// Whether sample `t` of member `k` is sure to improve nothing, read from the candidate's
    /// latent values alone: some objective does not clear the reference point, or a point of
    /// the sample's baseline front is at least as good in every objective. Outputs are
    /// increasing in latents, so both tests hold in the objectives' units too, and the
    /// hypervolume improvement is exactly 0; the margin keeps rounding in
    /// `latent_of_output` from deciding a near tie. Skipping such samples saves the warp's
    /// inverse and the gradient of most samples of a poor candidate.
    fn cannot_improve(&self, k: usize, t: usize, latent: &[f64]) -> bool {
        let clear = |above: f64, below: f64| {
            above - below > LATENT_MARGIN * (1.0 + above.abs().max(below.abs()))
        };
        let reference = &self.latent_references[k];
        let m = reference.len();
        if latent[..m]
            .iter()
            .zip(reference)
            .any(|(y, r)| clear(*r, *y))
        {
            return true;
        }
        self.latent_fronts[k][t]
            .iter()
            .any(|f| f.iter().zip(&latent[..m]).all(|(f, y)| clear(*f, *y)))
    }

    /// One sample's weighted hypervolume improvement of the candidate's values `y` over the
    /// sample's baseline front; writes its gradient in the outcomes to `outcome_gradient` when
    /// one is given.
    fn sample_improvement(
        &self,
        k: usize,
        t: usize,
        y: &[f64],
        outcome_gradient: Option<&mut [f64]>,
    ) -> f64 {
        let m = self.reference.len();
        let front = &self.fronts[k][t];
        // The gradient in the m objectives: in `few` for two and three, in `many` beyond.
        let (few, many);
        let (hvi, dvalue): (f64, &[f64]) = match m {
            2 => {
                let (v, g) = hypervolume_improvement_2d_sorted(front, &y[..2], &self.reference);
                few = [g[0], g[1], 0.0];
                (v, &few[..2])
            }
            3 => {
                let value;
                (value, few) = self.boxes[k][t].improvement(&y[..3], outcome_gradient.is_some());
                (value, &few[..])
            }
            _ => {
                let value;
                (value, many) = hypervolume_improvement_single(
                    front,
                    &y[..m],
                    &self.reference,
                    outcome_gradient.is_some(),
                );
                (value, &many[..])
            }
        };
        if hvi <= 0.0 {
            return 0.0;
        }
        Constraints::weighted_improvement(hvi, dvalue, y, outcome_gradient)
    }
}

impl Acquisition for Qnehvi<'_> {
    fn evaluate(&self, x: &[f64], with_gradient: bool) -> (f64, Vec<f64>) {
        self.joint.mean_improvement(
            x,
            with_gradient,
            Some(&|k, t, latent: &[f64]| self.cannot_improve(k, t, latent)),
            |k, t, y, gradient| self.sample_improvement(k, t, y, gradient),
        )
    }

    fn evaluate_many(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        self.joint.mean_improvements(
            xs,
            Some(&|k, t, latent: &[f64]| self.cannot_improve(k, t, latent)),
            |k, t, y, gradient| self.sample_improvement(k, t, y, gradient),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::{cholesky_with_jitter, ExactGp, GpFitOptions};
    use crate::moo::hypervolume;
    use crate::sampling::SobolSampler;

    fn models() -> (ModelEnsemble, Vec<Vec<f64>>) {
        let x = SobolSampler::new(2, 11).unwrap().draw(12).unwrap();
        let f0: Vec<f64> = x.iter().map(|p| -(p[0] - 0.2).powi(2) - p[1]).collect();
        let f1: Vec<f64> = x
            .iter()
            .map(|p| -(p[0] - 0.8).powi(2) + 0.3 * p[1])
            .collect();
        let options = GpFitOptions::default();
        let gps = vec![
            ExactGp::fit(&x, &f0, &options).unwrap(),
            ExactGp::fit(&x, &f1, &options).unwrap(),
        ];
        (vec![gps], x)
    }

    /// Skipping the samples `cannot_improve` accepts changes no value or gradient beyond
    /// rounding, against the same acquisition visiting every sample, on models with a
    /// Yeo–Johnson output warp, two ensemble members and an outcome constraint, at candidates
    /// good and poor; and it does skip (over a fifth of the samples of 64 quasi-random candidates).
    #[test]
    fn skipped_samples_change_nothing() {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let x = SobolSampler::new(3, 5).unwrap().draw(16).unwrap();
        let ensemble: ModelEnsemble = crate::acq::joint::tests::ensemble(&x);
        let acq = Qnehvi::new(
            &ensemble,
            &x,
            &[-60.0, -0.6],
            &QnehviOptions {
                constraints: 1,
                ..QnehviOptions::default()
            },
        )
        .unwrap();
        let every_sample = |c: &[f64], with_gradient: bool| {
            acq.joint
                .mean_improvement(c, with_gradient, None, |k, t, y, gradient| {
                    acq.sample_improvement(k, t, y, gradient)
                })
        };
        // A skipped sample adds exactly 0; visited, a dominated one adds the rounding residue
        // of the 2-D improvement's area differences (~1e-16 here), so equal up to that.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs() + 1e-12;
        let candidates = SobolSampler::new(3, 9).unwrap().draw(64).unwrap();
        for c in &candidates {
            for with_gradient in [false, true] {
                let (value, gradient) = acq.evaluate(c, with_gradient);
                let (want, want_gradient) = every_sample(c, with_gradient);
                assert!(close(value, want), "{c:?}: {value} against {want}");
                assert_eq!(gradient.len(), want_gradient.len());
                for (g, w) in gradient.iter().zip(&want_gradient) {
                    assert!(
                        close(*g, *w),
                        "{c:?}: {gradient:?} against {want_gradient:?}"
                    );
                }
            }
        }
        let many = acq.evaluate_many(&candidates);
        for (c, v) in candidates.iter().zip(&many) {
            assert!(close(*v, every_sample(c, false).0), "{c:?}");
        }
        let (skipped, visited) = (AtomicUsize::new(0), Cell::new(0usize));
        let counting = |k: usize, t: usize, latent: &[f64]| {
            let skip = acq.cannot_improve(k, t, latent);
            skipped.fetch_add(usize::from(skip), Ordering::Relaxed);
            skip
        };
        for c in &candidates {
            acq.joint.for_each(c, false, Some(&counting), |_, _, _, _| {
                visited.set(visited.get() + 1)
            });
        }
        let (skipped, visited) = (skipped.into_inner(), visited.get());
        assert!(
            visited > 0 && 5 * skipped > skipped + visited,
            "{skipped} skipped, {visited} visited"
        );
    }

    #[test]
    fn value_equals_brute_force_on_the_same_base_samples() {
        let (ens, x) = models();
        let reference = [-1.5, -1.0];
        let baseline = x[..8].to_vec();
        let acq = Qnehvi::new(
            &ens,
            &baseline,
            &reference,
            &QnehviOptions {
                mc_samples: 16,
                seed: 3,
                constraints: 0,
            },
        )
        .unwrap();
        let cand = vec![0.45, 0.1];
        let nb = baseline.len();
        // Brute force: the joint posterior of baseline ∪ {x} per objective, its own Cholesky,
        // the same normals, HV(P ∪ y) − HV(P).
        let joint: Vec<_> = ens[0]
            .iter()
            .map(|gp| gp.posterior(&[baseline.clone(), vec![cand.clone()]].concat()))
            .collect();
        let factors: Vec<_> = joint
            .iter()
            .map(|p| cholesky_with_jitter(&p.covariance, nb + 1).unwrap())
            .collect();
        let mut want = 0.0;
        for z in acq.joint.base_samples() {
            let sample = |j: usize, a: usize| -> f64 {
                let zz = |b: usize| if b < nb { z[j * nb + b] } else { z[2 * nb + j] };
                joint[j].mean[a] + (0..=a).map(|b| factors[j].lower(a, b) * zz(b)).sum::<f64>()
            };
            let base: Vec<Vec<f64>> = (0..nb).map(|a| vec![sample(0, a), sample(1, a)]).collect();
            let y = vec![sample(0, nb), sample(1, nb)];
            want += hypervolume(&[base.clone(), vec![y]].concat(), &reference).unwrap()
                - hypervolume(&base, &reference).unwrap();
        }
        want /= acq.joint.samples() as f64;
        let (got, _) = acq.evaluate(&cand, false);
        assert!(want > 0.0);
        // The two factorizations agree up to the jitter of the baseline covariance.
        assert!(
            (got - want).abs() < 1e-6 * want.max(1e-3),
            "{got} vs {want}"
        );
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (ens, x) = models();
        let acq = Qnehvi::new(&ens, &x, &[-1.5, -1.0], &QnehviOptions::default()).unwrap();
        for cand in [vec![0.45, 0.1], vec![0.9, 0.05], vec![0.3, 0.6]] {
            assert_central_differences(&acq, &cand, 1e-6);
        }
    }

    /// Checks `acq`'s gradient at `cand` against central differences of step `h` (to 1e-3 of
    /// the difference or of the value, whichever is larger); returns the value.
    fn assert_central_differences(acq: &Qnehvi, cand: &[f64], h: f64) -> f64 {
        let (v, g) = acq.evaluate(cand, true);
        for dd in 0..cand.len() {
            let (mut up, mut down) = (cand.to_vec(), cand.to_vec());
            up[dd] += h;
            down[dd] -= h;
            let numeric = (acq.evaluate(&up, false).0 - acq.evaluate(&down, false).0) / (2.0 * h);
            assert!(
                (numeric - g[dd]).abs() < 1e-3 * numeric.abs().max(v.max(1e-6)),
                "{cand:?} d{dd}: numeric {numeric} analytic {}",
                g[dd]
            );
        }
        v
    }

    /// Three objectives take the dominated-box path (`moo::DominatedBoxes3`): its gradient,
    /// through a Yeo–Johnson warp and two ensemble members, matches central differences.
    #[test]
    fn three_objective_gradient_matches_finite_differences() {
        let x = SobolSampler::new(3, 5).unwrap().draw(16).unwrap();
        let ensemble: ModelEnsemble = crate::acq::joint::tests::ensemble(&x);
        let acq = Qnehvi::new(
            &ensemble,
            &x,
            &[-60.0, -0.8, -0.7],
            &QnehviOptions::default(),
        )
        .unwrap();
        let mut checked = 0;
        for cand in SobolSampler::new(3, 21).unwrap().draw(12).unwrap() {
            if assert_central_differences(&acq, &cand, 1e-6) > 1e-6 {
                checked += 1;
            }
        }
        assert!(checked >= 4, "only {checked} candidates improve");
    }

    #[test]
    fn constrained_gradient_matches_finite_differences_and_infeasibility_costs() {
        let (mut ens, x) = models();
        // A slack that is negative for x₀ > 0.6.
        let slack: Vec<f64> = x.iter().map(|p| 0.6 - p[0]).collect();
        ens[0].push(ExactGp::fit(&x, &slack, &GpFitOptions::default()).unwrap());
        let options = QnehviOptions {
            constraints: 1,
            ..QnehviOptions::default()
        };
        let acq = Qnehvi::new(&ens, &x, &[-1.5, -1.0], &options).unwrap();
        let unconstrained: ModelEnsemble = ens.iter().map(|m| m[..2].to_vec()).collect();
        let free =
            Qnehvi::new(&unconstrained, &x, &[-1.5, -1.0], &QnehviOptions::default()).unwrap();
        // Deep in the infeasible region the constrained value vanishes.
        assert!(
            acq.evaluate(&[0.95, 0.05], false).0
                < 1e-3 * free.evaluate(&[0.95, 0.05], false).0.max(1e-12) + 1e-12
        );
        for cand in [vec![0.3, 0.2], vec![0.45, 0.7]] {
            assert_central_differences(&acq, &cand, 1e-7);
        }
    }

    #[test]
    fn an_observed_point_scores_less_than_a_promising_new_one() {
        let (ens, x) = models();
        let acq = Qnehvi::new(&ens, &x, &[-1.5, -1.0], &QnehviOptions::default()).unwrap();
        let (at_data, _) = acq.evaluate(&x[2], false);
        let (best, value) =
            crate::acq::optimize_acquisition(&acq, 2, &[], &Default::default()).unwrap();
        assert!(value > at_data, "{value} vs {at_data} at {best:?}");
        assert!(best.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
