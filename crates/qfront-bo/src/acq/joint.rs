//! Joint posterior samples over a fixed baseline and one moving candidate, shared by the
//! Monte-Carlo acquisitions (cached-root form, methods-spec §4.5 `cache_root`).
//!
//! For every ensemble member, objective j and quasi-Monte-Carlo base sample `z`:
//! `f_j(X_b) = μ_b + L_b·z_b` (computed once) and
//! `f_j(x) = μ_x + wᵀ·z_b + s·z_x` (per candidate, with its gradient), see `gp::candidate`.

use super::{Constraints, ModelEnsemble};
use crate::gp::{BaselinePosterior, CandidateTerms};
use crate::moo::is_non_dominated;
use crate::sampling::SobolSampler;
use crate::{BoError, Result};

/// Baseline factors and base samples for an ensemble.
pub struct JointSamples<'a> {
    models: &'a ModelEnsemble,
    /// `[member][objective]`.
    baselines: Vec<Vec<BaselinePosterior>>,
    base_samples: Vec<Vec<f64>>,
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
            base_samples,
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
        self.base_samples.len()
    }

    /// The base samples (each: `m` blocks of `n_b` baseline normals, then `m` candidate ones).
    #[cfg(test)]
    pub fn base_samples(&self) -> &[Vec<f64>] {
        &self.base_samples
    }

    /// The sampled objective values at the baseline (`n_b × m`) for one member and sample.
    pub fn baseline_values(&self, member: usize, sample: usize) -> Vec<Vec<f64>> {
        let (nb, m) = (self.baseline_size, self.objectives);
        let z = &self.base_samples[sample];
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
        mut visit: impl FnMut(usize, usize, &[f64], &[f64]),
    ) {
        let (d, m, nb) = (x.len(), self.objectives, self.baseline_size);
        let mut y = vec![0.0; m];
        let mut dy = vec![0.0; if with_gradient { m * d } else { 0 }];
        for (k, (models, baselines)) in self.models.iter().zip(&self.baselines).enumerate() {
            let terms: Vec<CandidateTerms> = models
                .iter()
                .zip(baselines)
                .map(|(gp, base)| gp.candidate_terms(base, x, with_gradient))
                .collect();
            for (t, z) in self.base_samples.iter().enumerate() {
                for (j, term) in terms.iter().enumerate() {
                    let zb = &z[j * nb..(j + 1) * nb];
                    let zx = z[m * nb + j];
                    let wz: f64 = term.w.iter().zip(zb).map(|(a, b)| a * b).sum();
                    let (value, derivative) = models[j].to_output(term.mean + wz + term.sd * zx);
                    y[j] = value;
                    if with_gradient {
                        for dd in 0..d {
                            let mut g = term.mean_grad[dd] + term.sd_grad[dd] * zx;
                            for (b, zbb) in zb.iter().enumerate() {
                                g += term.w_grad[b * d + dd] * zbb;
                            }
                            dy[j * d + dd] = derivative * g;
                        }
                    }
                }
                visit(k, t, &y, &dy);
            }
        }
    }
}
