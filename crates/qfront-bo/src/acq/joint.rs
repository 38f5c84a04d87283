//! Joint posterior samples over a fixed baseline and one moving candidate, shared by the
//! Monte-Carlo acquisitions (cached-root form, methods-spec §4.5 `cache_root`).
//!
//! For every ensemble member, objective j and quasi-Monte-Carlo base sample `z`:
//! `f_j(X_b) = μ_b + L_b·z_b` (computed once) and
//! `f_j(x) = μ_x + wᵀ·z_b + s·z_x` (per candidate, with its gradient), see `gp::candidate`.

use super::latent_samples::SampleNormals;
use super::{Constraints, ModelEnsemble};
use crate::gp::{BaselinePosterior, CandidatePullback, CandidateTerms, CANDIDATE_CHUNK};
use crate::moo::is_non_dominated;
use crate::sampling::SobolSampler;
use crate::{BoError, Result};
use rayon::prelude::*;

/// `skip(member, sample, latents)`: true when the sample's improvement is known to be zero
/// from the candidate's standardized latent values alone (one per outcome), so its outputs
/// and gradient need not be computed (`Qnehvi`: a sample the baseline front dominates).
pub type SkipSample<'s> = Option<&'s (dyn Fn(usize, usize, &[f64]) -> bool + Sync)>;

/// Baseline factors and base samples for an ensemble.
pub struct JointSamples<'a> {
    models: &'a ModelEnsemble,
    /// `[member][objective]`.
    baselines: Vec<Vec<BaselinePosterior>>,
    normals: SampleNormals,
    baseline_size: usize,
    objectives: usize,
}

impl<'a> JointSamples<'a> {
    /// Prepares `mc_samples` base samples over `baseline` and one candidate.
    pub fn new(
        models: &'a ModelEnsemble,
        baseline: &[Vec<f64>],
        objectives: usize,
        mc_samples: usize,
        seed: u64,
    ) -> Result<Self> {
        if models.is_empty() || models.iter().any(|member| member.len() != objectives) {
            return Err(BoError::input(
                "acquisition",
                format!("every ensemble member needs one model per objective ({objectives})"),
            ));
        }
        if mc_samples == 0 {
            return Err(BoError::input("acquisition", "mc_samples must be positive"));
        }
        if baseline.is_empty() {
            return Err(BoError::input(
                "acquisition",
                "the baseline is empty; evaluate some points first",
            ));
        }
        let nb = baseline.len();
        let mut sobol = SobolSampler::new((nb + 1) * objectives, seed)?;
        let base_samples = sobol.draw_normal(mc_samples)?;
        let baselines = models
            .iter()
            .map(|member| {
                member
                    .iter()
                    .map(|gp| gp.baseline_posterior(baseline))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            models,
            baselines,
            normals: SampleNormals::new(base_samples, objectives, nb),
            baseline_size: nb,
            objectives,
        })
    }

    /// Ensemble members.
    pub fn members(&self) -> usize {
        self.models.len()
    }

    /// Monte-Carlo samples per member.
    pub fn samples(&self) -> usize {
        self.normals.samples()
    }

    /// The base samples (each: `m` blocks of `n_b` baseline normals, then `m` candidate ones).
    #[cfg(test)]
    pub fn base_samples(&self) -> &[Vec<f64>] {
        self.normals.per_sample()
    }

    /// The sampled objective values at the baseline (`n_b × m`) for one member and sample.
    pub fn baseline_values(&self, member: usize, sample: usize) -> Vec<Vec<f64>> {
        let (nb, m) = (self.baseline_size, self.objectives);
        let z = &self.normals.per_sample()[sample];
        (0..nb)
            .map(|a| {
                (0..m)
                    .map(|j| {
                        let latent =
                            self.baselines[member][j].sample_at(a, &z[j * nb..(j + 1) * nb]);
                        self.models[member][j].to_output_value(latent)
                    })
                    .collect()
            })
            .collect()
    }

    /// The Pareto front (first `objectives` outcomes) of the baseline points that are feasible
    /// in this sample: every slack after the objectives ≥ 0.
    pub fn feasible_front(&self, member: usize, sample: usize, objectives: usize) -> Vec<Vec<f64>> {
        let values: Vec<Vec<f64>> = self
            .baseline_values(member, sample)
            .into_iter()
            .filter(|v| Constraints::feasible(&v[objectives..]))
            .map(|mut v| {
                v.truncate(objectives);
                v
            })
            .collect();
        is_non_dominated(&values)
            .into_iter()
            .zip(values)
            .filter_map(|(nd, v)| nd.then_some(v))
            .collect()
    }

    /// Calls `visit(member, sample, y, dy)` for every member and sample, with the candidate's
    /// sampled values `y` (length m) and, when `with_gradient`, `dy` (`m × d` row-major,
    /// `∂y_j/∂x_k`).
    pub fn for_each(
        &self,
        x: &[f64],
        with_gradient: bool,
        skip: SkipSample,
        mut visit: impl FnMut(usize, usize, &[f64], &[f64]),
    ) {
        for (k, (models, baselines)) in self.models.iter().zip(&self.baselines).enumerate() {
            let terms: Vec<CandidateTerms> = models
                .iter()
                .zip(baselines)
                .map(|(gp, base)| gp.candidate_terms(base, x, with_gradient))
                .collect();
            let latents = self.latents_of_one(&terms);
            let terms: Vec<&CandidateTerms> = terms.iter().collect();
            self.visit_samples(
                k,
                &terms,
                &latents,
                0,
                x.len(),
                with_gradient,
                skip,
                &mut visit,
            );
        }
    }

    /// Calls `visit(candidate, member, sample, y)` for every candidate of `xs`, member and
    /// sample: [`JointSamples::for_each`] without gradients for many candidates, their
    /// posterior terms computed together (`ExactGp::candidate_terms_many`).
    pub fn for_each_of_many(
        &self,
        xs: &[Vec<f64>],
        skip: SkipSample,
        mut visit: impl FnMut(usize, usize, usize, &[f64]),
    ) {
        let d = xs.first().map_or(0, Vec::len);
        for (k, (models, baselines)) in self.models.iter().zip(&self.baselines).enumerate() {
            // [objective][candidate]
            let terms: Vec<Vec<CandidateTerms>> = models
                .iter()
                .zip(baselines)
                .map(|(gp, base)| gp.candidate_terms_many(base, xs))
                .collect();
            let latents: Vec<Vec<f64>> = terms
                .iter()
                .enumerate()
                .map(|(j, of_outcome)| {
                    self.normals
                        .latents(j, &of_outcome.iter().collect::<Vec<_>>())
                })
                .collect();
            for q in 0..xs.len() {
                let of_candidate: Vec<&CandidateTerms> = terms.iter().map(|t| &t[q]).collect();
                self.visit_samples(
                    k,
                    &of_candidate,
                    &latents,
                    q,
                    d,
                    false,
                    skip,
                    &mut |k, t, y, _| visit(q, k, t, y),
                );
            }
        }
    }

    /// The mean over members and samples of `improvement(member, sample, y, outcome_gradient)`
    /// for one candidate, with its gradient in `x` when `with_gradient`: qNEHVI and qParEGO,
    /// whose value is an average of per-sample improvements. When a gradient is wanted,
    /// `improvement` writes `∂value/∂y_j` for every outcome into `outcome_gradient` (zeroed
    /// before each call).
    ///
    /// The gradient is accumulated in reverse: with `c_tj = ∂value_t/∂y_j · ∂y_j/∂latent_j`
    /// and `latent_j = μ + wᵀ z_b + s z_x`, the sum over samples is
    /// `Σ_j [∂μ·Σ_t c_tj + ∂s·Σ_t c_tj z_x + Σ_b ∂w_b·Σ_t c_tj z_b]`, so a sample costs `n_b`
    /// multiply-adds per outcome, and each outcome's three sums are pulled back through its
    /// posterior once per member (`ExactGp::pull_back`: two triangular solves with one
    /// right-hand side) instead of forming `∂w` (`n_b × d`, `d + 1` right-hand sides against
    /// each factor).
    pub fn mean_improvement(
        &self,
        x: &[f64],
        with_gradient: bool,
        skip: SkipSample,
        improvement: impl Fn(usize, usize, &[f64], Option<&mut [f64]>) -> f64,
    ) -> (f64, Vec<f64>) {
        let count = (self.samples() * self.members()) as f64;
        let mut total = 0.0;
        if !with_gradient {
            self.for_each(x, false, skip, |k, t, y, _| {
                total += improvement(k, t, y, None)
            });
            return (total / count, Vec::new());
        }
        let (m, nb, d) = (self.objectives, self.baseline_size, x.len());
        let mut grad = vec![0.0; d];
        let (mut latent, mut y) = (vec![0.0; m], vec![0.0; m]);
        let (mut derivative, mut outcome_gradient) = (vec![0.0; m], vec![0.0; m]);
        // Per outcome: Σ_t c_tj, Σ_t c_tj·z_x and (n_b each) Σ_t c_tj·z_b.
        let (mut on_mean, mut on_sd) = (vec![0.0; m], vec![0.0; m]);
        let mut on_baseline = vec![0.0; m * nb];
        for (k, (models, baselines)) in self.models.iter().zip(&self.baselines).enumerate() {
            let (terms, pullbacks): (Vec<CandidateTerms>, Vec<CandidatePullback>) = models
                .iter()
                .zip(baselines)
                .map(|(gp, base)| gp.candidate_terms_for_pullback(base, x))
                .unzip();
            let latents = self.latents_of_one(&terms);
            on_mean.fill(0.0);
            on_sd.fill(0.0);
            on_baseline.fill(0.0);
            for (t, z) in self.normals.per_sample().iter().enumerate() {
                for (l, of_outcome) in latent.iter_mut().zip(&latents) {
                    *l = of_outcome[t];
                }
                if skip.is_some_and(|skip| skip(k, t, &latent)) {
                    continue;
                }
                for (j, gp) in models.iter().enumerate() {
                    (y[j], derivative[j]) = gp.to_output(latent[j]);
                }
                outcome_gradient.fill(0.0);
                total += improvement(k, t, &y, Some(&mut outcome_gradient));
                for j in 0..m {
                    let c = outcome_gradient[j] * derivative[j];
                    if c == 0.0 {
                        continue;
                    }
                    on_mean[j] += c;
                    on_sd[j] += c * z[m * nb + j];
                    let zb = &z[j * nb..(j + 1) * nb];
                    for (sum, zbb) in on_baseline[j * nb..(j + 1) * nb].iter_mut().zip(zb) {
                        *sum += c * zbb;
                    }
                }
            }
            for (j, (gp, base)) in models.iter().zip(baselines).enumerate() {
                gp.pull_back(
                    base,
                    &terms[j],
                    &pullbacks[j],
                    on_mean[j],
                    on_sd[j],
                    &on_baseline[j * nb..(j + 1) * nb],
                    &mut grad,
                );
            }
        }
        grad.iter_mut().for_each(|v| *v /= count);
        (total / count, grad)
    }

    /// One candidate's latent samples per outcome (`terms`: its terms per outcome).
    fn latents_of_one(&self, terms: &[CandidateTerms]) -> Vec<Vec<f64>> {
        terms
            .iter()
            .enumerate()
            .map(|(j, term)| self.normals.latents(j, &[term]))
            .collect()
    }

    /// [`JointSamples::mean_improvement`]'s values (no gradients) for many candidates.
    pub fn mean_improvements(
        &self,
        xs: &[Vec<f64>],
        skip: SkipSample,
        improvement: impl Fn(usize, usize, &[f64], Option<&mut [f64]>) -> f64 + Sync,
    ) -> Vec<f64> {
        let count = (self.samples() * self.members()) as f64;
        self.per_candidate_chunk(xs, |chunk| {
            let mut totals = vec![0.0; chunk.len()];
            self.for_each_of_many(chunk, skip, |q, k, t, y| {
                totals[q] += improvement(k, t, y, None);
            });
            totals.into_iter().map(|total| total / count).collect()
        })
    }

    /// `per_chunk` on the candidates of `xs` a chunk of [`CANDIDATE_CHUNK`] at a time, the
    /// chunks in parallel (rayon's pool), the answers joined in order. The chunks are those
    /// `ExactGp::candidate_terms_many` forms its matrix products on, and each candidate's
    /// samples are visited by itself, so every value is the same bit for bit as one pass over
    /// `xs` gives.
    pub fn per_candidate_chunk<T: Send>(
        &self,
        xs: &[Vec<f64>],
        per_chunk: impl Fn(&[Vec<f64>]) -> Vec<T> + Sync,
    ) -> Vec<T> {
        xs.par_chunks(CANDIDATE_CHUNK)
            .flat_map_iter(&per_chunk)
            .collect()
    }

    /// The sample loop of one candidate (its terms per objective, its latent samples row `q`
    /// of `latents`, per outcome) for member `k`. A sample `skip` accepts from its latent
    /// values is not visited: its outputs (through the warp's inverse) and gradient are never
    /// formed.
    #[allow(clippy::too_many_arguments)]
    fn visit_samples(
        &self,
        k: usize,
        terms: &[&CandidateTerms],
        latents: &[Vec<f64>],
        q: usize,
        d: usize,
        with_gradient: bool,
        skip: SkipSample,
        visit: &mut impl FnMut(usize, usize, &[f64], &[f64]),
    ) {
        let (m, nb) = (self.objectives, self.baseline_size);
        let models = &self.models[k];
        let mut latent = vec![0.0; m];
        let mut y = vec![0.0; m];
        let mut dy = vec![0.0; if with_gradient { m * d } else { 0 }];
        let samples = self.samples();
        for (t, z) in self.normals.per_sample().iter().enumerate() {
            for (l, of_outcome) in latent.iter_mut().zip(latents) {
                *l = of_outcome[q * samples + t];
            }
            if skip.is_some_and(|skip| skip(k, t, &latent)) {
                continue;
            }
            for (j, term) in terms.iter().enumerate() {
                if with_gradient {
                    let zb = &z[j * nb..(j + 1) * nb];
                    let zx = z[m * nb + j];
                    let (value, derivative) = models[j].to_output(latent[j]);
                    y[j] = value;
                    // `∂latent/∂x = ∂μ + ∂s·z_x + Σ_b ∂w_b·z_b`, the sum taken a row of `∂w`
                    // (contiguous, one per baseline point) at a time: every component still
                    // adds its terms in the order of `b`, so the result is the column-wise
                    // loop's to the bit, without its stride-`d` reads.
                    let gradient = &mut dy[j * d..(j + 1) * d];
                    for ((g, mean_grad), sd_grad) in
                        gradient.iter_mut().zip(&term.mean_grad).zip(&term.sd_grad)
                    {
                        *g = mean_grad + sd_grad * zx;
                    }
                    for (w_row, zbb) in term.w_grad.chunks_exact(d.max(1)).zip(zb) {
                        for (g, w) in gradient.iter_mut().zip(w_row) {
                            *g += w * zbb;
                        }
                    }
                    for g in gradient.iter_mut() {
                        *g *= derivative;
                    }
                } else {
                    y[j] = models[j].to_output_value(latent[j]);
                }
            }
            visit(k, t, &y, &dy);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{Acquisition, Chebyshev, QLogNehvi, QParEgo, Qnehvi, QnehviOptions};
    use crate::gp::{ExactGp, GpFitOptions, YeoJohnson};
    use crate::sampling::SobolSampler;

    /// Two ensemble members of three outcomes on 3-D inputs; the first outcome's values span
    /// orders of magnitude and are fitted through a Yeo–Johnson warp.
    pub(crate) fn ensemble(x: &[Vec<f64>]) -> Vec<Vec<ExactGp>> {
        let outcomes: [fn(&[f64]) -> f64; 3] = [
            |p| -(4.0 * p[0] + p[2]).exp(),
            |p| -(p[0] - 0.8).powi(2) + 0.3 * p[1] - 0.1 * p[2],
            |p| 0.6 - p[1] - 0.2 * p[2],
        ];
        (0..2)
            .map(|member| {
                outcomes
                    .iter()
                    .enumerate()
                    .map(|(j, f)| {
                        let y: Vec<f64> = x.iter().map(|p| f(p)).collect();
                        let options = GpFitOptions {
                            seed: member as u64,
                            restarts: 1 + member,
                            ..GpFitOptions::default()
                        };
                        if j == 0 {
                            let warp = YeoJohnson::fit(&y);
                            let warped: Vec<f64> = y.iter().map(|v| warp.apply(*v)).collect();
                            ExactGp::fit(x, &warped, &options)
                                .unwrap()
                                .with_output_warp(warp)
                        } else {
                            ExactGp::fit(x, &y, &options).unwrap()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// `evaluate_many` is `evaluate(x, false)` for every acquisition on the joint samples,
    /// with constraints, a warp, two members, 2 and 3 objectives, and more candidates than
    /// one block of the batched posterior.
    #[test]
    fn many_candidates_score_as_one_at_a_time() {
        let x = SobolSampler::new(3, 4).unwrap().draw(20).unwrap();
        let models = ensemble(&x);
        let candidates = SobolSampler::new(3, 9).unwrap().draw(300).unwrap();
        let observed: Vec<Vec<f64>> = x
            .iter()
            .map(|p| vec![-(4.0 * p[0] + p[2]).exp(), -(p[0] - 0.8).powi(2)])
            .collect();
        let qnehvi = Qnehvi::new(
            &models,
            &x[..12],
            &[-60.0, -1.0],
            &QnehviOptions {
                mc_samples: 32,
                seed: 5,
                constraints: 1,
            },
        )
        .unwrap();
        let qlognehvi = QLogNehvi::new(&models, &x[..12], &[-60.0, -1.0, -1.0], 0, 32, 6).unwrap();
        let qparego = QParEgo::new(
            &models,
            &x[..12],
            Chebyshev::new(vec![0.3, 0.7], &observed).unwrap(),
            1,
            32,
            7,
        )
        .unwrap();
        let acquisitions: [(&str, &dyn Acquisition); 3] = [
            ("qNEHVI", &qnehvi),
            ("qLogNEHVI", &qlognehvi),
            ("qParEGO", &qparego),
        ];
        for (name, acquisition) in acquisitions {
            let many = acquisition.evaluate_many(&candidates);
            assert_eq!(many.len(), candidates.len());
            // Rounding differs (blocked solves, one matrix product): relative to the largest
            // value, since a hypervolume improvement of ~1e-15 is rounding noise itself.
            let scale = many.iter().fold(0f64, |a, v| a.max(v.abs()));
            let mut positive = 0;
            for (candidate, got) in candidates.iter().zip(&many) {
                let want = acquisition.evaluate(candidate, false).0;
                positive += usize::from(want > 0.0);
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(scale),
                    "{name} at {candidate:?}: {got} vs {want}"
                );
            }
            assert!(
                positive > 0 || name == "qLogNEHVI",
                "{name}: every value is 0"
            );
        }
    }

    /// `mean_improvement`'s gradient, accumulated in reverse, equals the per-sample chain rule
    /// through `for_each`'s `∂y/∂x` (the obviously correct order), with skipped samples, a
    /// warped outcome and two ensemble members.
    #[test]
    fn the_reverse_gradient_is_the_per_sample_chain_rule() {
        let x = SobolSampler::new(3, 4).unwrap().draw(20).unwrap();
        let models = ensemble(&x);
        let joint = super::JointSamples::new(&models, &x[..12], 3, 64, 11).unwrap();
        // A smooth improvement of all three outcomes and its gradient in them.
        let improvement = |y: &[f64], outcome_gradient: Option<&mut [f64]>| {
            if let Some(g) = outcome_gradient {
                g.copy_from_slice(&[0.5 + y[1], y[0] - 2.0, 3.0]);
            }
            0.5 * y[0] - 2.0 * y[1] + 3.0 * y[2] + y[0] * y[1]
        };
        let skip = |_: usize, t: usize, latent: &[f64]| t.is_multiple_of(3) && latent[1] < 0.0;
        let mut skipped = 0;
        for candidate in SobolSampler::new(3, 9).unwrap().draw(8).unwrap() {
            let (value, gradient) =
                joint.mean_improvement(&candidate, true, Some(&skip), |_, _, y, g| {
                    improvement(y, g)
                });
            let (mut want, mut want_gradient) = (0.0, vec![0.0; 3]);
            let mut visited = 0;
            joint.for_each(&candidate, true, Some(&skip), |_, _, y, dy| {
                let mut outcome_gradient = [0.0; 3];
                want += improvement(y, Some(&mut outcome_gradient));
                for (j, g) in outcome_gradient.iter().enumerate() {
                    for (dd, w) in want_gradient.iter_mut().enumerate() {
                        *w += g * dy[j * 3 + dd];
                    }
                }
                visited += 1;
            });
            skipped += 2 * 64 - visited;
            let count = (2 * 64) as f64;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * (1.0 + b.abs());
            assert!(close(value, want / count), "{value} vs {}", want / count);
            for (g, w) in gradient.iter().zip(&want_gradient) {
                assert!(close(*g, w / count), "{gradient:?} vs {want_gradient:?}");
            }
            let (value_only, none) =
                joint.mean_improvement(&candidate, false, Some(&skip), |_, _, y, g| {
                    improvement(y, g)
                });
            assert!(close(value_only, value) && none.is_empty());
        }
        assert!(skipped > 0, "no sample was skipped");
    }
}
