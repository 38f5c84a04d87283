//! The SAAS fully Bayesian GP (Eriksson & Jankowiak, "High-dimensional Bayesian optimization
//! with sparse axis-aligned subspaces", UAI 2021), with BoTorch's `SaasPyroModel` priors
//! (methods-spec §4.3, BoTorch column), sampled with NUTS (the `nuts-rs` crate):
//!
//! - kernel `σ²·Matérn52` with inverse squared lengthscales `ρ_d = τ·ρ̃_d`;
//! - global shrinkage `τ ~ HalfCauchy(0.1)`, local `ρ̃_d ~ HalfCauchy(1)`;
//! - outputscale `σ² ~ Gamma(2, rate 0.15)`; noise `σ_n² = 1e-4 + g`, `g ~ Gamma(0.9, rate 10)`;
//! - constant mean `μ ~ N(0, 1)`; outputs standardized.
//!
//! NUTS runs on `u = (ln τ, ln ρ̃, ln σ², ln g, μ)` (the log-Jacobians are included), with
//! BoTorch's defaults: 512 warm-up draws, 256 draws, every 16th kept (16 samples), tree depth
//! at most 6. nuts-rs adapts a diagonal mass matrix (BoTorch a dense one). Predictions are the
//! equal-weight mixture of the kept samples' GPs.

use super::exact::{ExactGp, Hyperparameters, MIN_NOISE};
use super::likelihood::{log_marginal_likelihood, InputColumns};
use super::training_data::{check_data, standardization};
use crate::{BoError, Result};
use nuts_rs::{Chain, CpuLogpFunc, CpuMath, DiagNutsSettings, HasDims, LogpError, Settings};
use rand_nuts::SeedableRng;
use std::collections::HashMap;

/// NUTS settings of the SAAS fit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SaasOptions {
    /// Warm-up (tuning) draws (512).
    pub warmup: u64,
    /// Draws after warm-up (256).
    pub samples: u64,
    /// Keep every `thinning`-th draw (16).
    pub thinning: u64,
    /// Maximum tree depth (6).
    pub max_tree_depth: u64,
    /// Seed of the chain.
    pub seed: u64,
}

impl Default for SaasOptions {
    fn default() -> Self {
        Self {
            warmup: 512,
            samples: 256,
            thinning: 16,
            max_tree_depth: 6,
            seed: 0,
        }
    }
}

/// A SAAS model: the kept posterior samples, each an [`ExactGp`].
#[derive(Debug, Clone)]
pub struct SaasGp {
    /// One GP per kept sample.
    pub samples: Vec<ExactGp>,
}

impl SaasGp {
    /// Median over samples of each dimension's lengthscale (short = important).
    pub fn median_lengthscales(&self) -> Vec<f64> {
        let d = self.samples[0].dim();
        (0..d)
            .map(|dd| {
                let mut v: Vec<f64> = self
                    .samples
                    .iter()
                    .map(|gp| gp.hyperparameters().lengthscales[dd])
                    .collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            })
            .collect()
    }

    /// The mixture's `(mean, variance)` at each point: the average of the samples' means, and
    /// by the law of total variance the average variance plus the variance of the means.
    pub fn predict(&self, points: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        let s = self.samples.len() as f64;
        let per: Vec<(Vec<f64>, Vec<f64>)> =
            self.samples.iter().map(|gp| gp.predict(points)).collect();
        let mean: Vec<f64> = (0..points.len())
            .map(|i| per.iter().map(|(m, _)| m[i]).sum::<f64>() / s)
            .collect();
        let var = (0..points.len())
            .map(|i| {
                per.iter()
                    .map(|(m, v)| v[i] + (m[i] - mean[i]).powi(2))
                    .sum::<f64>()
                    / s
            })
            .collect();
        (mean, var)
    }

    /// Per-dimension importance `1/median ℓ_d`, normalized to sum to 1.
    pub fn importance(&self) -> Vec<f64> {
        let inv: Vec<f64> = self.median_lengthscales().iter().map(|l| 1.0 / l).collect();
        let total: f64 = inv.iter().sum();
        inv.iter().map(|v| v / total).collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the GP kernel matrix cannot be factored here")]
struct SingularKernel;

impl LogpError for SingularKernel {
    fn is_recoverable(&self) -> bool {
        true
    }
}

/// The SAAS log posterior on the unconstrained coordinates.
struct SaasDensity<'a> {
    x: &'a [Vec<f64>],
    inputs: InputColumns,
    y: &'a [f64],
}

const TAU_SCALE: f64 = 0.1;
const OUTPUTSCALE_SHAPE: f64 = 2.0;
const OUTPUTSCALE_RATE: f64 = 0.15;
const NOISE_SHAPE: f64 = 0.9;
const NOISE_RATE: f64 = 10.0;

/// `ln HalfCauchy(v; s)` up to a constant plus the log-Jacobian `u = ln v`, and its
/// derivative in `u`.
fn half_cauchy_log(u: f64, scale: f64) -> (f64, f64) {
    let t = (u.exp() / scale).powi(2);
    (-(1.0 + t).ln() + u, -2.0 * t / (1.0 + t) + 1.0)
}

/// `ln Gamma(v; a, b)` up to a constant plus the log-Jacobian, and its derivative in `u`.
fn gamma_log(u: f64, shape: f64, rate: f64) -> (f64, f64) {
    let v = u.exp();
    (shape * u - rate * v, shape - rate * v)
}

impl SaasDensity<'_> {
    fn hyperparameters(&self, u: &[f64]) -> Hyperparameters {
        let d = self.x[0].len();
        let log_tau = u[0];
        Hyperparameters {
            // ℓ_d = (τ·ρ̃_d)^(−½).
            lengthscales: u[1..=d]
                .iter()
                .map(|lr| (-0.5 * (log_tau + lr)).exp())
                .collect(),
            outputscale: u[d + 1].exp(),
            noise: MIN_NOISE + u[d + 2].exp(),
            mean: u[d + 3],
        }
    }

    fn log_density(&self, u: &[f64], grad: &mut [f64]) -> Option<f64> {
        let d = self.x[0].len();
        let h = self.hyperparameters(u);
        let lml = log_marginal_likelihood(&self.inputs, self.y, &h)?;
        let mut value = lml.value;
        // ∂ ln ℓ_d/∂ ln ρ̃_d = ∂ ln ℓ_d/∂ ln τ = −½.
        let (lp, dlp) = half_cauchy_log(u[0], TAU_SCALE);
        value += lp;
        grad[0] = dlp - 0.5 * lml.d_log_lengthscales.iter().sum::<f64>();
        for dd in 0..d {
            let (lp, dlp) = half_cauchy_log(u[1 + dd], 1.0);
            value += lp;
            grad[1 + dd] = dlp - 0.5 * lml.d_log_lengthscales[dd];
        }
        let (lp, dlp) = gamma_log(u[d + 1], OUTPUTSCALE_SHAPE, OUTPUTSCALE_RATE);
        value += lp;
        grad[d + 1] = dlp + lml.d_log_outputscale;
        let (lp, dlp) = gamma_log(u[d + 2], NOISE_SHAPE, NOISE_RATE);
        value += lp;
        grad[d + 2] = dlp + lml.d_noise * u[d + 2].exp();
        value += -0.5 * u[d + 3] * u[d + 3];
        grad[d + 3] = -u[d + 3] + lml.d_mean;
        value.is_finite().then_some(value)
    }
}

impl HasDims for SaasDensity<'_> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        [(
            "unconstrained_parameter".to_string(),
            (self.x[0].len() + 4) as u64,
        )]
        .into_iter()
        .collect()
    }
}

impl CpuLogpFunc for SaasDensity<'_> {
    type LogpError = SingularKernel;
    type ExpandedVector = Vec<f64>;
    type FlowParameters = ();

    fn dim(&self) -> usize {
        self.x[0].len() + 4
    }

    fn logp(
        &mut self,
        position: &[f64],
        gradient: &mut [f64],
    ) -> std::result::Result<f64, SingularKernel> {
        self.log_density(position, gradient).ok_or(SingularKernel)
    }

    fn expand_vector<R: rand_nuts::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        position: &[f64],
    ) -> std::result::Result<Vec<f64>, nuts_rs::CpuMathError> {
        Ok(position.to_vec())
    }
}

/// Samples the SAAS posterior of `(x, y)` with NUTS and keeps every `thinning`-th draw.
pub fn fit_saas(x: &[Vec<f64>], y: &[f64], options: &SaasOptions) -> Result<SaasGp> {
    if options.samples == 0 || options.thinning == 0 || options.samples < options.thinning {
        return Err(BoError::input(
            "SAAS",
            format!(
                "samples ({}) and thinning ({}) must be positive, with samples ≥ thinning so that at least one draw is kept",
                options.samples, options.thinning
            ),
        ));
    }
    // Standardize exactly as ExactGp does, so the kept hyperparameters apply to it.
    check_data(x, y)?;
    let (offset, scale) = standardization(y);
    let ys: Vec<f64> = y.iter().map(|v| (v - offset) / scale).collect();
    let d = x[0].len();
    let density = SaasDensity {
        x,
        inputs: InputColumns::new(x),
        y: &ys,
    };
    let settings = DiagNutsSettings {
        num_tune: options.warmup,
        num_draws: options.samples,
        maxdepth: options.max_tree_depth,
        ..DiagNutsSettings::default()
    };
    let mut rng = rand_nuts::rngs::StdRng::seed_from_u64(options.seed);
    let math = CpuMath::new(density);
    let mut chain = settings
        .new_chain(0, math, &mut rng)
        .map_err(|e| BoError::input("SAAS", format!("cannot start NUTS: {e}")))?;
    // Start at τ = 0.1, ρ̃ = 1 (ℓ ≈ 3.2), σ² = 1, noise ≈ 1e-2, μ = 0.
    let mut start = vec![TAU_SCALE.ln()];
    start.extend(std::iter::repeat_n(0.0, d));
    start.extend([0.0, (1e-2f64).ln(), 0.0]);
    chain.set_position(&start).map_err(|e| {
        BoError::input(
            "SAAS",
            format!("NUTS cannot start from the prior centre: {e}"),
        )
    })?;
    let density = SaasDensity {
        x,
        inputs: InputColumns::new(x),
        y: &ys,
    };
    let mut samples = Vec::new();
    for i in 0..options.warmup + options.samples {
        let (draw, _) = chain
            .draw()
            .map_err(|e| BoError::input("SAAS", format!("NUTS failed: {e}")))?;
        if i >= options.warmup && (i - options.warmup + 1).is_multiple_of(options.thinning) {
            samples.push(ExactGp::condition(x, y, density.hyperparameters(&draw))?);
        }
    }
    Ok(SaasGp { samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::SobolSampler;

    #[test]
    fn fewer_samples_than_thinning_is_an_error_not_a_panic() {
        let x = SobolSampler::new(2, 3).unwrap().draw(6).unwrap();
        let y: Vec<f64> = x.iter().map(|p| p[0] - p[1]).collect();
        let options = SaasOptions {
            warmup: 4,
            samples: 4,
            thinning: 16,
            ..SaasOptions::default()
        };
        let message = match fit_saas(&x, &y, &options) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("no draw can be kept"),
        };
        assert!(message.contains("samples ≥ thinning"), "{message}");
    }

    #[test]
    fn log_density_gradient_matches_finite_differences() {
        let x = SobolSampler::new(4, 2).unwrap().draw(10).unwrap();
        let y: Vec<f64> = x.iter().map(|p| (3.0 * p[1]).sin() + 0.1 * p[3]).collect();
        let density = SaasDensity {
            x: &x,
            inputs: InputColumns::new(&x),
            y: &y,
        };
        let u = [-1.5, 0.2, -0.7, 1.1, 0.4, 0.3, -5.0, 0.2];
        let mut g = vec![0.0; 8];
        density.log_density(&u, &mut g).unwrap();
        let mut scratch = vec![0.0; 8];
        for j in 0..8 {
            let (mut up, mut down) = (u, u);
            up[j] += 1e-6;
            down[j] -= 1e-6;
            let numeric = (density.log_density(&up, &mut scratch).unwrap()
                - density.log_density(&down, &mut scratch).unwrap())
                / 2e-6;
            assert!(
                (numeric - g[j]).abs() < 1e-5 * numeric.abs().max(1.0),
                "u_{j}: {numeric} vs {}",
                g[j]
            );
        }
    }

    #[test]
    fn saas_finds_the_active_dimensions() {
        // 2 of 8 inputs matter (the SAAS paper's premise). The second one's effect (a range of 1)
        // is strong enough that 60 of 60 chain seeds rank it second; at half of it, 44 of 60
        // did, so a change of rounding alone could flip the test.
        let x = SobolSampler::new(8, 7).unwrap().draw(24).unwrap();
        let y: Vec<f64> = x
            .iter()
            .map(|p| (4.0 * p[2]).sin() + 4.0 * (p[5] - 0.5).powi(2))
            .collect();
        let model = fit_saas(
            &x,
            &y,
            &SaasOptions {
                warmup: 128,
                samples: 64,
                thinning: 8,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(model.samples.len(), 8);
        let importance = model.importance();
        let mut order: Vec<usize> = (0..8).collect();
        order.sort_by(|a, b| importance[*b].total_cmp(&importance[*a]));
        let top: std::collections::BTreeSet<usize> = order[..2].iter().copied().collect();
        assert_eq!(top, [2, 5].into_iter().collect(), "{importance:?}");
        // The mixture predicts the function.
        let test = SobolSampler::new(8, 70).unwrap().draw(20).unwrap();
        let err: f64 = test
            .iter()
            .map(|p| {
                let truth = (4.0 * p[2]).sin() + 4.0 * (p[5] - 0.5).powi(2);
                let mean = model.predict(std::slice::from_ref(p)).0[0];
                (mean - truth).powi(2)
            })
            .sum::<f64>()
            / 20.0;
        // Better than the MAP GP with an independent lengthscale per input on the same data.
        let map = ExactGp::fit(&x, &y, &Default::default()).unwrap();
        let map_err: f64 = test
            .iter()
            .map(|p| {
                let truth = (4.0 * p[2]).sin() + 4.0 * (p[5] - 0.5).powi(2);
                (map.predict(std::slice::from_ref(p)).0[0] - truth).powi(2)
            })
            .sum::<f64>()
            / 20.0;
        assert!(
            err < map_err && err.sqrt() < 0.2,
            "SAAS rmse {} vs MAP {}",
            err.sqrt(),
            map_err.sqrt()
        );
    }
}
