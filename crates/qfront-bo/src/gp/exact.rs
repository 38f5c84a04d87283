//! The exact GP with MAP hyperparameters: BoTorch's `SingleTaskGP` recipe with a Matérn-5/2
//! ARD kernel (methods-spec §4.3).
//!
//! - Inputs are taken as given (the search space already maps them to `[0, 1]^d`); outputs
//!   are standardized (mean 0, unit sample standard deviation) before fitting.
//! - Mean: a constant μ (flat prior). Kernel: `σ²·Matérn52(r)`.
//! - Priors: lengthscales `ℓ_d ~ LogNormal(√2 + ½·ln d, √3)`, the dimension-scaled prior that
//!   BoTorch uses since 0.12 (Hvarfner, Hellsten & Nardi, "Vanilla Bayesian optimization
//!   performs great in high dimensions", ICML 2024); outputscale `σ² ~ Gamma(2, rate 0.15)`,
//!   BoTorch's classic `ScaleKernel` prior; noise `σ_n² ~ LogNormal(−4, 1)` with
//!   `σ_n² ≥ 1e-4`, BoTorch's inferred-noise prior and floor. A fit whose every
//!   lengthscale is under [`BUMPY_LENGTHSCALE`] is refitted with `Gamma(2, 0.2)` on `1/ℓ²`
//!   in place of the log-normal ([`SMOOTH_LENGTHSCALE_PRIOR`]) and the refit kept.
//! - Fit: maximize `(ln p(y | θ) + ln p(θ))/n` with the projected L-BFGS over
//!   `θ = (ln ℓ, ln σ², ln(σ_n² − 1e-4), μ)` inside wide bounds, from several starts (the
//!   prior medians, then draws from the priors), keeping the best. The gradient is analytic:
//!   `∂ ln p(y|θ)/∂θ_j = ½·tr((ααᵀ − K⁻¹)·∂K/∂θ_j)` with `α = K⁻¹(y − μ)`.

use super::cholesky::{cholesky_with_jitter, Cholesky};
use super::kernel::matern52_matrix;
use super::likelihood::InputColumns;
use super::map_objective::{LengthscalePrior, Problem};
use super::priors::{GammaPrior, InverseSquaredGammaPrior, LogNormalPrior};
use super::training_data::{check_data, standardization};
use crate::optim::{minimize_box, LbfgsOptions};
use crate::sampling::SobolSampler;
use crate::{BoError, Result};

/// Noise floor on standardized outputs (BoTorch's `MIN_INFERRED_NOISE_LEVEL`).
pub const MIN_NOISE: f64 = 1e-4;
/// Bound on every log-hyperparameter (and on the standardized mean) during the fit.
const THETA_BOUND: f64 = 10.0;

/// A fit whose lengthscales are all below this (on the unit cube) is refitted under
/// [`SMOOTH_LENGTHSCALE_PRIOR`] and the refit kept (design notes, "A fit made of bumps is
/// refitted smooth"): every input then varies the model within a few per cent of the box,
/// so it explains the data as isolated bumps and predicts the mean a short way from them.
/// On Fonseca–Fleming's plateau that hid the wells between the observed dips.
pub const BUMPY_LENGTHSCALE: f64 = 0.15;

/// The lengthscale prior of the refit of a fit made of bumps ([`BUMPY_LENGTHSCALE`]):
/// `Gamma(2, 0.2)` on `1/ℓ²`, mode `ℓ ≈ 0.45`, of the form Optuna's `GPSampler` uses.
pub const SMOOTH_LENGTHSCALE_PRIOR: InverseSquaredGammaPrior = InverseSquaredGammaPrior {
    shape: 2.0,
    rate: 0.2,
};

/// Fitted hyperparameters, on the standardized output scale.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hyperparameters {
    /// ARD lengthscales ℓ_d.
    pub lengthscales: Vec<f64>,
    /// Output scale σ².
    pub outputscale: f64,
    /// Observation noise variance σ_n².
    pub noise: f64,
    /// Constant mean μ.
    pub mean: f64,
}

/// Settings of the MAP fit.
#[derive(Debug, Clone, PartialEq)]
pub struct GpFitOptions {
    /// Optimizer starts (the prior medians first, then draws from the priors). Default 3.
    pub restarts: usize,
    /// L-BFGS settings of each start.
    pub lbfgs: LbfgsOptions,
    /// Seed of the extra starts.
    pub seed: u64,
    /// Outputscale prior (default `Gamma(2, 0.15)`).
    pub outputscale_prior: GammaPrior,
    /// Noise prior (default `LogNormal(−4, 1)`).
    pub noise_prior: LogNormalPrior,
    /// Lengthscale prior; `None` means the dimension-scaled `LogNormal(√2 + ½ ln d, √3)`,
    /// with a fit made of bumps refitted smooth ([`BUMPY_LENGTHSCALE`]). A prior given here
    /// is used as it is.
    pub lengthscale_prior: Option<LogNormalPrior>,
}

impl Default for GpFitOptions {
    fn default() -> Self {
        Self {
            restarts: 3,
            lbfgs: LbfgsOptions {
                max_iterations: 100,
                ..LbfgsOptions::default()
            },
            seed: 0,
            outputscale_prior: GammaPrior {
                shape: 2.0,
                rate: 0.15,
            },
            noise_prior: LogNormalPrior {
                mu: -4.0,
                sigma: 1.0,
            },
            lengthscale_prior: None,
        }
    }
}

/// The joint posterior of the latent function at some points (original output units).
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// Means.
    pub mean: Vec<f64>,
    /// Covariance, row-major `n × n`.
    pub covariance: Vec<f64>,
}

impl Posterior {
    /// Joint draws `mean + L·z`, one per vector of standard normals in `normals` (each of the
    /// posterior's length), with `L` the jittered Cholesky factor of the covariance.
    pub fn sample(&self, normals: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let n = self.mean.len();
        let factor = cholesky_with_jitter(&self.covariance, n)?;
        normals
            .iter()
            .map(|z| {
                if z.len() != n {
                    return Err(BoError::input(
                        "posterior sample",
                        format!("{} normals for {n} points", z.len()),
                    ));
                }
                Ok((0..n)
                    .map(|a| self.mean[a] + (0..=a).map(|b| factor.lower(a, b) * z[b]).sum::<f64>())
                    .collect())
            })
            .collect()
    }
}

/// A fitted exact GP.
#[derive(Debug, Clone)]
pub struct ExactGp {
    pub(super) x: Vec<Vec<f64>>,
    pub(super) y_offset: f64,
    pub(super) y_scale: f64,
    pub(super) hyper: Hyperparameters,
    pub(super) inv_lengthscales: Vec<f64>,
    pub(super) cholesky: Cholesky,
    pub(super) alpha: Vec<f64>,
    /// The warp the training values went through, undone on every sample
    /// ([`ExactGp::to_output`]); `None` for a GP of the values themselves.
    pub(super) output_warp: Option<super::YeoJohnson>,
}

/// The squared norm of each of the `m` columns of the row-major `matrix`, accumulated row by
/// row (contiguous reads; each column's terms added in row order).
pub(super) fn column_squared_norms(matrix: &[f64], m: usize) -> Vec<f64> {
    let mut norms = vec![0.0; m];
    for row in matrix.chunks_exact(m) {
        for (norm, x) in norms.iter_mut().zip(row) {
            *norm += x * x;
        }
    }
    norms
}

impl ExactGp {
    /// Fits the hyperparameters by MAP (see the module notes) and conditions on the data.
    /// Under the default lengthscale prior, a fit whose every lengthscale is below
    /// [`BUMPY_LENGTHSCALE`] is refitted under [`SMOOTH_LENGTHSCALE_PRIOR`], and the refit
    /// returned; a prior the caller chose is kept as it is.
    pub fn fit(x: &[Vec<f64>], y: &[f64], options: &GpFitOptions) -> Result<Self> {
        let first = Self::fit_under(x, y, options, false)?;
        let bumpy = first
            .hyper
            .lengthscales
            .iter()
            .all(|&l| l < BUMPY_LENGTHSCALE);
        if bumpy && options.lengthscale_prior.is_none() {
            return Self::fit_under(x, y, options, true);
        }
        Ok(first)
    }

    /// [`ExactGp::fit`]'s MAP fit, under the smooth lengthscale prior when `smooth`. The
    /// optimizer starts are the same either way (from the log-normal prior).
    fn fit_under(x: &[Vec<f64>], y: &[f64], options: &GpFitOptions, smooth: bool) -> Result<Self> {
        let d = check_data(x, y)?;
        let n = y.len();
        let (y_offset, y_scale) = standardization(y);
        let ys: Vec<f64> = y.iter().map(|v| (v - y_offset) / y_scale).collect();
        let lengthscale_prior = options.lengthscale_prior.unwrap_or(LogNormalPrior {
            mu: std::f64::consts::SQRT_2 + 0.5 * (d as f64).ln(),
            sigma: 3f64.sqrt(),
        });
        let problem = Problem {
            x,
            inputs: InputColumns::new(x),
            y: &ys,
            lengthscale_prior: if smooth {
                LengthscalePrior::InverseSquaredGamma(SMOOTH_LENGTHSCALE_PRIOR)
            } else {
                LengthscalePrior::LogNormal(lengthscale_prior)
            },
            outputscale_prior: options.outputscale_prior,
            noise_prior: options.noise_prior,
        };
        let dim = d + 3;
        let lower = vec![-THETA_BOUND; dim];
        let upper = vec![THETA_BOUND; dim];
        let mut starts = vec![{
            let mut t = vec![lengthscale_prior.mu.clamp(-THETA_BOUND, THETA_BOUND); d];
            t.push(0.0); // σ² = 1 on standardized data
            t.push((1e-3f64).ln());
            t.push(0.0);
            t
        }];
        if options.restarts > 1 {
            let mut sobol = SobolSampler::new(dim, options.seed)?;
            for z in sobol.draw_normal(options.restarts - 1)? {
                let mut t: Vec<f64> = z[..d]
                    .iter()
                    .map(|zi| lengthscale_prior.mu + lengthscale_prior.sigma * zi)
                    .collect();
                t.push(0.5 * z[d]);
                t.push(options.noise_prior.mu + options.noise_prior.sigma * z[d + 1]);
                t.push(0.0);
                t.iter_mut()
                    .for_each(|v| *v = v.clamp(-THETA_BOUND, THETA_BOUND));
                starts.push(t);
            }
        }
        let best = starts
            .iter()
            .map(|s| {
                minimize_box(
                    |t, g| problem.negative_log_posterior(t, g),
                    s,
                    &lower,
                    &upper,
                    &options.lbfgs,
                )
            })
            .filter(|o| o.value.is_finite())
            .min_by(|a, b| a.value.total_cmp(&b.value))
            .ok_or_else(|| BoError::NotPositiveDefinite {
                size: n,
                jitter_tried: vec![],
            })?;
        let hyper = problem.unpack(&best.x);
        Self::condition(x, y, hyper)
    }

    /// A GP with given hyperparameters (standardized scale), conditioned on `(x, y)`.
    pub fn condition(x: &[Vec<f64>], y: &[f64], hyper: Hyperparameters) -> Result<Self> {
        let d = check_data(x, y)?;
        if hyper.lengthscales.len() != d {
            return Err(BoError::input(
                "GP hyperparameters",
                format!(
                    "{} lengthscales for {d} dimensions",
                    hyper.lengthscales.len()
                ),
            ));
        }
        let n = y.len();
        let (y_offset, y_scale) = standardization(y);
        let inv_lengthscales: Vec<f64> = hyper.lengthscales.iter().map(|l| 1.0 / l).collect();
        let mut k = matern52_matrix(x, x, &inv_lengthscales, hyper.outputscale);
        for i in 0..n {
            k[i * n + i] += hyper.noise;
        }
        let cholesky = cholesky_with_jitter(&k, n)?;
        let centred: Vec<f64> = y
            .iter()
            .map(|v| (v - y_offset) / y_scale - hyper.mean)
            .collect();
        let alpha = cholesky.solve(&centred);
        Ok(Self {
            x: x.to_vec(),
            y_offset,
            y_scale,
            hyper,
            inv_lengthscales,
            cholesky,
            alpha,
            output_warp: None,
        })
    }

    /// This GP, fitted on `warp.apply(y)`, now answers in the units of `y`: every sample
    /// [`ExactGp::to_output`] maps is passed back through `warp`'s inverse.
    pub fn with_output_warp(mut self, warp: super::YeoJohnson) -> Self {
        self.output_warp = Some(warp);
        self
    }

    /// The fitted hyperparameters (standardized scale).
    pub fn hyperparameters(&self) -> &Hyperparameters {
        &self.hyper
    }

    /// Training inputs.
    pub fn train_x(&self) -> &[Vec<f64>] {
        &self.x
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.inv_lengthscales.len()
    }

    /// `(mean, variance)` of the latent function at each point (original units).
    pub fn predict(&self, points: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        let post = self.posterior(points);
        let m = points.len();
        let var = (0..m)
            .map(|i| post.covariance[i * m + i].max(0.0))
            .collect();
        (post.mean, var)
    }

    /// The posterior variance of the latent function at each point as a fraction of its
    /// prior variance `σ²` (both in the standardized frame, so the fraction is unitless):
    /// `1 − ‖L⁻¹k*‖²/σ²`, 1 far from every training point, near 0 at one.
    pub fn variance_fraction(&self, points: &[Vec<f64>]) -> Vec<f64> {
        let m = points.len();
        self.explained_variances(&self.cross_covariance(points), m)
            .into_iter()
            .map(|explained| (1.0 - explained / self.hyper.outputscale).clamp(0.0, 1.0))
            .collect()
    }

    /// `‖L⁻¹k*‖²` for each of the `m` columns of `k_star` ([`ExactGp::cross_covariance`]):
    /// the part of the prior variance σ² the data explains there (standardized frame), so
    /// the posterior variance is `σ² − ‖L⁻¹k*‖²`.
    fn explained_variances(&self, k_star: &[f64], m: usize) -> Vec<f64> {
        column_squared_norms(&self.cholesky.solve_lower(k_star, m), m)
    }

    /// `K*`, the kernel between the training points and `points`: `n × m`, row-major (train
    /// rows, test columns).
    pub(super) fn cross_covariance(&self, points: &[Vec<f64>]) -> Vec<f64> {
        matern52_matrix(
            &self.x,
            points,
            &self.inv_lengthscales,
            self.hyper.outputscale,
        )
    }

    /// The standardized latent mean `μ + K*ᵀα` at each of the `m` columns of `k_star`
    /// ([`ExactGp::cross_covariance`]), accumulated row by row (contiguous reads; the terms
    /// are added in the same order as a per-column sum).
    pub(super) fn standardized_means(&self, k_star: &[f64], m: usize) -> Vec<f64> {
        let mut sums = vec![0.0; m];
        for (row, a) in k_star.chunks_exact(m).zip(&self.alpha) {
            for (sum, k) in sums.iter_mut().zip(row) {
                *sum += k * a;
            }
        }
        sums.into_iter().map(|s| self.hyper.mean + s).collect()
    }

    /// The posterior quantile `μ* + β·σ*` of the latent function at each point, in the
    /// objective's own units (the output warp undone; it is monotone, so a quantile maps to
    /// the same quantile). `β = 0` gives the posterior median. Only the variances' diagonal is
    /// formed: `σ*² = k(x, x) − ‖L⁻¹k*‖²`.
    pub fn quantile_in_units(&self, points: &[Vec<f64>], beta: f64) -> Vec<f64> {
        let m = points.len();
        let k_star = self.cross_covariance(points);
        let mut latent = self.standardized_means(&k_star, m);
        if beta != 0.0 {
            for (l, e) in latent.iter_mut().zip(self.explained_variances(&k_star, m)) {
                *l += beta * (self.hyper.outputscale - e).max(0.0).sqrt();
            }
        }
        latent
            .into_iter()
            .map(|l| self.to_output_value(l))
            .collect()
    }

    /// The joint posterior of the latent function at `points` (original units; no
    /// observation noise): `μ* = μ + K*ᵀα`, `Σ* = K** − VᵀV` with `V = L⁻¹K*`.
    pub fn posterior(&self, points: &[Vec<f64>]) -> Posterior {
        let (n, m) = (self.x.len(), points.len());
        let k_star = self.cross_covariance(points);
        let mean = self
            .standardized_means(&k_star, m)
            .into_iter()
            .map(|l| l * self.y_scale + self.y_offset)
            .collect();
        let v = self.cholesky.solve_lower(&k_star, m);
        let k_ss = matern52_matrix(
            points,
            points,
            &self.inv_lengthscales,
            self.hyper.outputscale,
        );
        let s2 = self.y_scale * self.y_scale;
        let mut covariance = vec![0.0; m * m];
        for a in 0..m {
            for b in 0..=a {
                let vv: f64 = (0..n).map(|i| v[i * m + a] * v[i * m + b]).sum();
                let c = (k_ss[a * m + b] - vv) * s2;
                covariance[a * m + b] = c;
                covariance[b * m + a] = c;
            }
        }
        Posterior { mean, covariance }
    }

    /// The negative log posterior of the MAP fit and its gradient at `theta =
    /// (ln ℓ, ln σ², ln(σ_n² − 1e-4), μ)` on already standardized outputs, for the
    /// finite-difference test of the analytic gradient.
    #[cfg(test)]
    fn map_objective(
        x: &[Vec<f64>],
        y_standardized: &[f64],
        theta: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        let d = x[0].len();
        let problem = Problem {
            x,
            inputs: InputColumns::new(x),
            y: y_standardized,
            lengthscale_prior: LengthscalePrior::LogNormal(LogNormalPrior {
                mu: std::f64::consts::SQRT_2 + 0.5 * (d as f64).ln(),
                sigma: 3f64.sqrt(),
            }),
            outputscale_prior: GpFitOptions::default().outputscale_prior,
            noise_prior: GpFitOptions::default().noise_prior,
        };
        problem.negative_log_posterior(theta, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, d: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let x = SobolSampler::new(d, seed).unwrap().draw(n).unwrap();
        let y = x
            .iter()
            .map(|p| (6.0 * p[0]).sin() + 0.5 * p[d - 1] * p[d - 1])
            .collect();
        (x, y)
    }

    #[test]
    fn quantiles_match_the_full_posterior() {
        // The diagonal-only quantile against the full posterior's mean and variance, with and
        // without an output warp.
        let (x, y) = data(15, 3, 2);
        let probes = SobolSampler::new(3, 9).unwrap().draw(7).unwrap();
        let plain = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
        let (mean, variance) = plain.predict(&probes);
        for beta in [0.0, 1.0, -2.0] {
            let quantiles = plain.quantile_in_units(&probes, beta);
            for i in 0..probes.len() {
                let expected = mean[i] + beta * variance[i].sqrt();
                assert!(
                    (quantiles[i] - expected).abs() < 1e-9,
                    "{beta}: {quantiles:?}"
                );
            }
        }
        // An explicit, non-identity warp (a fitted one may keep λ = 1, which would not show a
        // missing inversion).
        let warp = crate::gp::YeoJohnson {
            offset: 0.2,
            scale: 0.8,
            lambda: 0.4,
        };
        let warped: Vec<f64> = y.iter().map(|v| warp.apply(*v)).collect();
        let gp = ExactGp::fit(&x, &warped, &GpFitOptions::default())
            .unwrap()
            .with_output_warp(warp);
        let (mean, variance) = gp.predict(&probes);
        let quantiles = gp.quantile_in_units(&probes, 1.5);
        for i in 0..probes.len() {
            let expected = warp.invert_value(mean[i] + 1.5 * variance[i].sqrt());
            assert!((quantiles[i] - expected).abs() < 1e-9, "{quantiles:?}");
        }
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let (x, y) = data(12, 3, 1);
        let mean = y.iter().sum::<f64>() / 12.0;
        let ys: Vec<f64> = y.iter().map(|v| v - mean).collect();
        let theta = [-0.4, 0.3, 1.1, 0.2, -5.0, 0.1];
        let mut grad = vec![0.0; 6];
        ExactGp::map_objective(&x, &ys, &theta, &mut grad);
        for j in 0..6 {
            let h = 1e-5;
            let (mut up, mut down) = (theta, theta);
            up[j] += h;
            down[j] -= h;
            let mut scratch = vec![0.0; 6];
            let numeric = (ExactGp::map_objective(&x, &ys, &up, &mut scratch)
                - ExactGp::map_objective(&x, &ys, &down, &mut scratch))
                / (2.0 * h);
            assert!(
                (numeric - grad[j]).abs() < 1e-6 * numeric.abs().max(1.0),
                "θ_{j}: numeric {numeric}, analytic {}",
                grad[j]
            );
        }
    }

    #[test]
    fn the_fit_interpolates_a_smooth_function_and_is_uncertain_away_from_data() {
        let (x, y) = data(30, 2, 3);
        let gp = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
        let test = SobolSampler::new(2, 99).unwrap().draw(50).unwrap();
        let (mean, var) = gp.predict(&test);
        let truth: Vec<f64> = test
            .iter()
            .map(|p| (6.0 * p[0]).sin() + 0.5 * p[1] * p[1])
            .collect();
        let rmse = (mean
            .iter()
            .zip(&truth)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / 50.0)
            .sqrt();
        assert!(rmse < 0.05, "rmse {rmse}");
        assert!(var.iter().all(|v| *v >= 0.0));
        // The first coordinate matters more: a shorter lengthscale.
        let l = &gp.hyperparameters().lengthscales;
        assert!(l[0] < l[1], "{l:?}");
        // Far outside the data the variance returns to the prior's.
        let (_, far) = gp.predict(&[vec![5.0, 5.0]]);
        let (_, near) = gp.predict(&[x[3].clone()]);
        assert!(far[0] > 100.0 * near[0]);
        // The variance fraction is the full posterior's variance over the prior's, in the
        // same units: σ² on the standardized scale times the scale squared.
        let fractions = gp.variance_fraction(&test);
        let prior = gp.hyperparameters().outputscale * gp.y_scale * gp.y_scale;
        for (fraction, v) in fractions.iter().zip(&var) {
            assert!(
                (fraction - v / prior).abs() < 1e-9,
                "{fraction} against {}",
                v / prior
            );
        }
        assert!(gp.variance_fraction(&[vec![5.0, 5.0]])[0] > 0.99);
        assert!(gp.variance_fraction(&[x[3].clone()])[0] < 0.01);
    }

    /// Fonseca–Fleming's second objective (`1 − exp(−Σ(xᵢ + 1/√3)²)` on `[−4, 4]³`, mapped
    /// to the unit cube) at 24 Sobol points: a plateau at 1 with a few dips. The log-normal
    /// prior's fit explains it with lengthscales all under 0.15, so the refit under the
    /// smooth prior is the one returned, unless the caller gave the prior. A smooth function
    /// keeps its first fit.
    #[test]
    fn a_fit_made_of_bumps_is_refitted_smooth() {
        let x = SobolSampler::new(3, 3).unwrap().draw(24).unwrap();
        let objective = |u: &[f64]| {
            let r2: f64 = u
                .iter()
                .map(|&v| (8.0 * v - 4.0 + 1.0 / 3f64.sqrt()).powi(2))
                .sum();
            1.0 - (-r2).exp()
        };
        let y: Vec<f64> = x.iter().map(|u| objective(u)).collect();
        let options = GpFitOptions::default();
        let bumpy = ExactGp::fit_under(&x, &y, &options, false).unwrap();
        let bumps = &bumpy.hyperparameters().lengthscales;
        assert!(bumps.iter().all(|&l| l < BUMPY_LENGTHSCALE), "{bumps:?}");
        let gp = ExactGp::fit(&x, &y, &options).unwrap();
        let smooth = ExactGp::fit_under(&x, &y, &options, true).unwrap();
        assert_eq!(gp.hyperparameters(), smooth.hyperparameters());
        assert!(gp
            .hyperparameters()
            .lengthscales
            .iter()
            .any(|&l| l >= BUMPY_LENGTHSCALE));
        // The same prior given explicitly is the caller's choice: no refit.
        let given = GpFitOptions {
            lengthscale_prior: Some(LogNormalPrior {
                mu: std::f64::consts::SQRT_2 + 0.5 * 3f64.ln(),
                sigma: 3f64.sqrt(),
            }),
            ..GpFitOptions::default()
        };
        let kept = ExactGp::fit(&x, &y, &given).unwrap();
        assert_eq!(kept.hyperparameters(), bumpy.hyperparameters());
        // A smooth function keeps its own fit.
        let (x, y) = data(30, 2, 3);
        let plain = ExactGp::fit_under(&x, &y, &options, false).unwrap();
        let fitted = ExactGp::fit(&x, &y, &options).unwrap();
        assert_eq!(fitted.hyperparameters(), plain.hyperparameters());
    }

    #[test]
    fn the_joint_covariance_is_symmetric_and_matches_the_marginals() {
        let (x, y) = data(10, 2, 5);
        let gp = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
        let pts = vec![vec![0.1, 0.2], vec![0.11, 0.21], vec![0.9, 0.5]];
        let post = gp.posterior(&pts);
        let (_, var) = gp.predict(&pts);
        for a in 0..3 {
            assert!((post.covariance[a * 3 + a] - var[a]).abs() < 1e-12);
            for b in 0..3 {
                assert_eq!(post.covariance[a * 3 + b], post.covariance[b * 3 + a]);
            }
        }
        // Nearby points are strongly correlated.
        let corr = post.covariance[1] / (var[0] * var[1]).sqrt();
        assert!(corr > 0.9, "{corr}");
    }

    #[test]
    fn joint_samples_have_the_posterior_moments() {
        let (x, y) = data(8, 2, 6);
        let gp = ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap();
        let post = gp.posterior(&[vec![0.2, 0.3], vec![0.25, 0.3], vec![0.8, 0.9]]);
        let normals = SobolSampler::new(3, 1).unwrap().draw_normal(4096).unwrap();
        let draws = post.sample(&normals).unwrap();
        for a in 0..3 {
            let mean = draws.iter().map(|d| d[a]).sum::<f64>() / 4096.0;
            let sd = post.covariance[a * 3 + a].sqrt();
            assert!((mean - post.mean[a]).abs() < 0.05 * sd + 1e-9);
            for b in 0..3 {
                let cov = draws
                    .iter()
                    .map(|d| (d[a] - post.mean[a]) * (d[b] - post.mean[b]))
                    .sum::<f64>()
                    / 4096.0;
                let want = post.covariance[a * 3 + b];
                let scale = (post.covariance[a * 3 + a] * post.covariance[b * 3 + b]).sqrt();
                assert!(
                    (cov - want).abs() < 0.1 * scale + 1e-9,
                    "{a},{b}: {cov} vs {want}"
                );
            }
        }
        assert!(post.sample(&[vec![0.0; 2]]).is_err());
    }

    #[test]
    fn bad_data_is_refused() {
        let e = ExactGp::fit(&[vec![0.1]], &[f64::NAN], &GpFitOptions::default()).unwrap_err();
        assert!(e.to_string().contains("failed evaluations"), "{e}");
        assert!(ExactGp::fit(
            &[vec![0.1], vec![0.2, 0.3]],
            &[1.0, 2.0],
            &GpFitOptions::default()
        )
        .is_err());
        assert!(ExactGp::fit(&[], &[], &GpFitOptions::default()).is_err());
        // One point is fine (prior-like posterior).
        let gp = ExactGp::fit(&[vec![0.5]], &[3.0], &GpFitOptions::default()).unwrap();
        let (m, _) = gp.predict(&[vec![0.5]]);
        assert!((m[0] - 3.0).abs() < 0.5);
    }
}
