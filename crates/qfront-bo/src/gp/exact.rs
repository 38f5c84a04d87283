//! The exact GP with MAP hyperparameters: BoTorch's `SingleTaskGP` recipe with a Matérn-5/2
//! ARD kernel (methods-spec §4.3).
//!
//! - Inputs are taken as given (the search space already maps them to `[0, 1]^d`); outputs
//!   are standardized (mean 0, unit sample standard deviation) before fitting.
//! - Mean: a constant μ, fitted (flat prior) or held at the worst observation
//!   ([`ConstantMean`]). Kernel: `σ²·Matérn52(r)`.
//! - Priors: lengthscales `ℓ_d ~ LogNormal(√2 + ½·ln d, √3)`, the dimension-scaled prior that
//!   BoTorch uses since 0.12 (Hvarfner, Hellsten & Nardi, "Vanilla Bayesian optimization
//!   performs great in high dimensions", ICML 2024), each at least 0.025 of the unit cube
//!   ([`MIN_LENGTHSCALE`], BoTorch's constraint on that prior); outputscale
//!   `σ² ~ Gamma(2, rate 0.15)`, BoTorch's classic `ScaleKernel` prior; noise
//!   `σ_n² ~ LogNormal(−6, 1)` with `σ_n² ≥ 1e-4` ([`NOISE_PRIOR`]; BoTorch's floor, and a
//!   median e² ≈ 7.4 times lower than that of BoTorch's `LogNormal(−4, 1)`). A fit whose every
//!   lengthscale is under [`BUMPY_LENGTHSCALE`] is refitted with `Gamma(2, 0.2)` on `1/ℓ²`
//!   in place of the log-normal ([`SMOOTH_LENGTHSCALE_PRIOR`]) and the refit kept.
//! - Fit: maximize `(ln p(y | θ) + ln p(θ))/n` with the projected L-BFGS over
//!   `θ = (ln ℓ, ln σ², ln(σ_n² − 1e-4), μ)` inside wide bounds (and `ln ℓ ≥ ln 0.025`),
//!   from several starts (the log-normal lengthscale prior's mode, then draws from the
//!   priors), keeping the best. The gradient is analytic:
//!   `∂ ln p(y|θ)/∂θ_j = ½·tr((ααᵀ − K⁻¹)·∂K/∂θ_j)` with `α = K⁻¹(y − μ)`.

use super::cholesky::{cholesky_with_jitter, Cholesky};
use super::kernel::matern52_matrix;
use super::likelihood::InputColumns;
use super::map_objective::{LengthscalePrior, Problem};
use super::priors::{GammaPrior, InverseSquaredGammaPrior, LogNormalPrior};
use super::training_data::{check_data, standardization};
use super::trend::QuadraticTrend;
use crate::optim::{minimize_box, LbfgsOptions};
use crate::sampling::SobolSampler;
use crate::{BoError, Result};
use rayon::prelude::*;

/// Noise floor on standardized outputs (BoTorch's `MIN_INFERRED_NOISE_LEVEL`).
pub const MIN_NOISE: f64 = 1e-4;
/// Bound on every log-hyperparameter (and on the standardized mean) during the fit.
const THETA_BOUND: f64 = 10.0;

/// Least lengthscale of a fit, on the unit cube: BoTorch's `GreaterThan(2.5e-2)` constraint
/// on the dimension-scaled prior's lengthscales (`get_covar_module_with_dim_scaled_prior`).
pub const MIN_LENGTHSCALE: f64 = 0.025;

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

impl Hyperparameters {
    /// `θ = (ln ℓ, ln σ², ln(σ_n² − 1e-4), μ)`, the coordinates of the MAP fit, clamped to
    /// its bounds (a start for a fit; `map_objective::Problem::unpack` is the inverse).
    fn theta(&self) -> Vec<f64> {
        let mut theta: Vec<f64> = self.lengthscales.iter().map(|l| l.ln()).collect();
        theta.push(self.outputscale.ln());
        theta.push((self.noise - MIN_NOISE).max(1e-12).ln());
        theta.iter_mut().for_each(|t| {
            *t = if t.is_nan() {
                0.0
            } else {
                t.clamp(-THETA_BOUND, THETA_BOUND)
            }
        });
        theta.push(if self.mean.is_finite() {
            self.mean.clamp(-THETA_BOUND, THETA_BOUND)
        } else {
            0.0
        });
        theta
    }
}

/// How the GP's constant prior mean μ is chosen.
///
/// Far from every observation the posterior mean returns to μ, so μ is what the model
/// believes of the space it has not seen. De Ath, Fieldsend & Everson ("What do you mean?
/// The role of the mean function in Bayesian optimisation", GECCO 2020) compared eight mean
/// functions under EI and UCB: on their synthetic problems of 5 or more dimensions a
/// constant mean equal to the *worst* observed value was consistently the best choice (the
/// usual one is the observations' average); it makes unexplored regions unattractive unless the
/// posterior variance alone carries them, so the search exploits more of what the
/// observations have shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConstantMean {
    /// μ fitted with the other hyperparameters (flat prior): BoTorch's `ConstantMean`.
    #[default]
    Fitted,
    /// μ held at the lowest standardized observation (outcomes are maximized, so the worst
    /// one); the other hyperparameters are fitted given it.
    WorstObserved,
}

/// Settings of the MAP fit.
#[derive(Debug, Clone, PartialEq)]
pub struct GpFitOptions {
    /// Optimizer starts (the lengthscale prior's mode first, then draws from the priors).
    /// Default 3.
    pub restarts: usize,
    /// L-BFGS settings of each start.
    pub lbfgs: LbfgsOptions,
    /// Seed of the extra starts.
    pub seed: u64,
    /// Outputscale prior (default `Gamma(2, 0.15)`).
    pub outputscale_prior: GammaPrior,
    /// Noise prior (default [`NOISE_PRIOR`], `LogNormal(−6, 1)`).
    pub noise_prior: LogNormalPrior,
    /// Lengthscale prior; `None` means the dimension-scaled `LogNormal(√2 + ½ ln d, √3)`,
    /// with a fit made of bumps refitted smooth ([`BUMPY_LENGTHSCALE`]). A prior given here
    /// is used as it is.
    pub lengthscale_prior: Option<LogNormalPrior>,
    /// The constant mean: fitted (default) or the worst observation ([`ConstantMean`]).
    pub mean: ConstantMean,
    /// Fit a quadratic trend first and the GP on its residuals, where the trend at least
    /// halves the cross-validated error ([`QuadraticTrend`]; default off, BoTorch's
    /// constant mean).
    pub quadratic_trend: bool,
    /// Per input, the least and greatest value an encoded point takes
    /// (`SearchSpace::encoded_extremes`), against which the trend's coverage rule is
    /// measured ([`super::TREND_COVERAGE_MARGIN`]); `None`: `(0, 1)` for every input.
    pub input_extremes: Option<Vec<(f64, f64)>>,
    /// The first start of the fit in place of the prior's mode: the hyperparameters an
    /// earlier fit of the same outcome found (on one point fewer, say), as Optuna's
    /// `GPSampler` starts each fit from its last one. The likelihood moves little when a
    /// point is added, so L-BFGS starting there stops after a few steps where a start at
    /// the prior's mode takes tens. Its lengthscales must be one per input; values
    /// outside the fit's bounds are clamped. `None`: the prior's mode.
    pub start: Option<Hyperparameters>,
}

/// The noise variance's prior on standardized outputs, `ln σ_n² ~ Normal(−6, 1)`: median
/// 0.0025 of the outputs' variance. BoTorch's inferred-noise prior is `LogNormal(−4, 1)`
/// (median 0.018), under which a noise of 40% of the variance costs 4.7 nats; here it costs
/// 12.9, about what Optuna's `GPSampler` charges with `Gamma(1.1, rate 30)` (11). On a
/// noise-free objective that a run's 20–40 points do not resolve (Omni-test's three periods
/// per input, seed 7) the fits under BoTorch's prior alternated between short lengthscales
/// and a noise of 0.24–0.45 of the variance, and the flat noisy fits sent the loose asks to
/// the box's faces; the lower prior keeps them on the signal. On the suite's noisy objectives
/// the fitted noise follows whichever prior is used (medians 0.005–0.009 under BoTorch's,
/// 0.0009 under this one) and their hypervolumes moved within their standard errors.
/// Measured on 20 seeds of every problem (design notes, "A noise prior nearer to
/// noise-free").
pub const NOISE_PRIOR: LogNormalPrior = LogNormalPrior {
    mu: -6.0,
    sigma: 1.0,
};

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
            noise_prior: NOISE_PRIOR,
            lengthscale_prior: None,
            mean: ConstantMean::Fitted,
            quadratic_trend: false,
            input_extremes: None,
            start: None,
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
    /// The quadratic trend under the GP (`None`: the constant mean alone), in the frame of
    /// the residuals, which `y_scale` already includes.
    pub(super) trend: Option<QuadraticTrend>,
}

/// The trend's value at `point`, 0 without one.
#[inline]
pub(super) fn trend_at(trend: Option<&QuadraticTrend>, point: &[f64]) -> f64 {
    trend.map_or(0.0, |t| t.value(point))
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
    ///
    /// With [`GpFitOptions::quadratic_trend`], where [`QuadraticTrend::fit_within`] keeps a
    /// trend (over [`GpFitOptions::input_extremes`]),
    /// the GP of the residuals is fitted too, its first start the constant-mean fit's
    /// hyperparameters, and returned. From the prior medians alone it settled in the
    /// basin where the residuals are all noise: on Branin–Currin embedded in 8 dimensions,
    /// 200 points, the residual fit of the Currin objective took noise 0.97 of its variance
    /// and lengthscales near 4 on every input, where the constant-mean fit had noise 1e-4
    /// and lengthscales 0.76 and 1.43 on the two inputs used (design notes, "A quadratic
    /// trend under the GP").
    pub fn fit(x: &[Vec<f64>], y: &[f64], options: &GpFitOptions) -> Result<Self> {
        check_data(x, y)?;
        let trend = if options.quadratic_trend {
            let (y_offset, y_scale) = standardization(y);
            let ys: Vec<f64> = y.iter().map(|v| (v - y_offset) / y_scale).collect();
            QuadraticTrend::fit_within(x, &ys, options.input_extremes.as_deref())
        } else {
            None
        };
        let start = options
            .start
            .as_ref()
            .filter(|h| h.lengthscales.len() == x[0].len())
            .map(Hyperparameters::theta);
        let constant_mean = Self::fit_smooth_if_bumpy(x, y, options, None, start.as_deref())?;
        match trend {
            None => Ok(constant_mean),
            Some(trend) => {
                // The residuals' mean is not the values' mean: the start leaves μ out.
                let warm = constant_mean.hyper.theta();
                let warm = &warm[..warm.len() - 1];
                Self::fit_smooth_if_bumpy(x, y, options, Some(trend), Some(warm))
            }
        }
    }

    /// [`ExactGp::fit_under`], refitted under the smooth prior when the fit is made of
    /// bumps (see [`ExactGp::fit`]).
    fn fit_smooth_if_bumpy(
        x: &[Vec<f64>],
        y: &[f64],
        options: &GpFitOptions,
        trend: Option<QuadraticTrend>,
        warm: Option<&[f64]>,
    ) -> Result<Self> {
        let first = Self::fit_under(x, y, options, false, trend.clone(), warm)?;
        let bumpy = first
            .hyper
            .lengthscales
            .iter()
            .all(|&l| l < BUMPY_LENGTHSCALE);
        if bumpy && options.lengthscale_prior.is_none() {
            return Self::fit_under(x, y, options, true, trend, warm);
        }
        Ok(first)
    }

    /// [`ExactGp::fit`]'s MAP fit, under the smooth lengthscale prior when `smooth`, of the
    /// residuals of `trend` when there is one, the first start `warm` when given (else the
    /// lengthscale prior's mode; the other starts are drawn from the log-normal prior either
    /// way).
    fn fit_under(
        x: &[Vec<f64>],
        y: &[f64],
        options: &GpFitOptions,
        smooth: bool,
        trend: Option<QuadraticTrend>,
        warm: Option<&[f64]>,
    ) -> Result<Self> {
        let d = check_data(x, y)?;
        let n = y.len();
        let (y_offset, y_scale) = standardization(y);
        let ys: Vec<f64> = y.iter().map(|v| (v - y_offset) / y_scale).collect();
        // The GP's own outputs: the residuals of the trend in units of their spread.
        let ys: Vec<f64> = match &trend {
            Some(t) => ys
                .iter()
                .zip(x)
                .map(|(v, point)| v / t.residual_scale - t.value(point))
                .collect(),
            None => ys,
        };
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
        let mut lower = vec![-THETA_BOUND; dim];
        let mut upper = vec![THETA_BOUND; dim];
        lower[..d].fill(MIN_LENGTHSCALE.ln());
        // μ is the last coordinate of θ; a held mean is a box of zero width there.
        let mean_start = match options.mean {
            ConstantMean::Fitted => 0.0,
            ConstantMean::WorstObserved => {
                let worst = ys.iter().copied().fold(f64::INFINITY, f64::min);
                lower[d + 2] = worst;
                upper[d + 2] = worst;
                worst
            }
        };
        let mut starts = vec![match warm {
            Some(warm) => {
                let mut t = warm[..d + 2].to_vec();
                // A fitted mean starts where the start has one; a held one is held.
                t.push(match (options.mean, warm.get(d + 2)) {
                    (ConstantMean::Fitted, Some(&mean)) => mean,
                    _ => mean_start,
                });
                t
            }
            None => {
                // The lengthscales start at the log-normal prior's mode, as BoTorch's
                // `initial_value` (`exp(√2 + ½·ln d − 3)`: 0.355 of the box for three
                // inputs), not at its median (7.1; design notes, "The fit starts at the
                // prior's mode"). The smooth refit starts there too, as measured, not at its
                // own prior's mode (0.45).
                let mut t = vec![
                    lengthscale_prior
                        .mode()
                        .ln()
                        .clamp(-THETA_BOUND, THETA_BOUND);
                    d
                ];
                t.push(0.0); // σ² = 1 on standardized data
                t.push((1e-3f64).ln());
                t.push(mean_start);
                t
            }
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
                t.iter_mut()
                    .for_each(|v| *v = v.clamp(-THETA_BOUND, THETA_BOUND));
                t.push(mean_start);
                starts.push(t);
            }
        }
        // The starts run in parallel; the best is chosen in their order (the first of equal
        // values), so the fit does not depend on how the work was spread.
        let searches: Vec<_> = starts
            .par_iter()
            .map(|s| {
                minimize_box(
                    |t, g| problem.negative_log_posterior(t, g),
                    s,
                    &lower,
                    &upper,
                    &options.lbfgs,
                )
            })
            .collect();
        let best = searches
            .into_iter()
            .filter(|o| o.value.is_finite())
            .min_by(|a, b| a.value.total_cmp(&b.value))
            .ok_or_else(|| BoError::NotPositiveDefinite {
                size: n,
                jitter_tried: vec![],
            })?;
        let hyper = problem.unpack(&best.x);
        Self::condition_with_trend(x, y, hyper, trend)
    }

    /// A GP with given hyperparameters (standardized scale), conditioned on `(x, y)`.
    pub fn condition(x: &[Vec<f64>], y: &[f64], hyper: Hyperparameters) -> Result<Self> {
        Self::condition_with_trend(x, y, hyper, None)
    }

    /// [`ExactGp::condition`] over a quadratic trend (in the residuals' frame): the
    /// standardized outputs are divided by `trend.residual_scale` and the trend subtracted
    /// before the GP conditions on them.
    pub(super) fn condition_with_trend(
        x: &[Vec<f64>],
        y: &[f64],
        hyper: Hyperparameters,
        trend: Option<QuadraticTrend>,
    ) -> Result<Self> {
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
        let y_scale = y_scale * trend.as_ref().map_or(1.0, |t| t.residual_scale);
        let inv_lengthscales: Vec<f64> = hyper.lengthscales.iter().map(|l| 1.0 / l).collect();
        let mut k = matern52_matrix(x, x, &inv_lengthscales, hyper.outputscale);
        for i in 0..n {
            k[i * n + i] += hyper.noise;
        }
        let cholesky = cholesky_with_jitter(&k, n)?;
        let centred: Vec<f64> = y
            .iter()
            .zip(x)
            .map(|(v, point)| {
                (v - y_offset) / y_scale - hyper.mean - trend_at(trend.as_ref(), point)
            })
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
            trend,
        })
    }

    /// This GP, fitted on `warp.apply(y)`, now answers in the units of `y`: every sample
    /// [`ExactGp::to_output`] maps is passed back through `warp`'s inverse.
    pub fn with_output_warp(mut self, warp: super::YeoJohnson) -> Self {
        self.output_warp = Some(warp);
        self
    }

    /// The warp this GP answers through ([`ExactGp::with_output_warp`]), if any.
    pub fn output_warp(&self) -> Option<&super::YeoJohnson> {
        self.output_warp.as_ref()
    }

    /// The fitted hyperparameters (standardized scale).
    pub fn hyperparameters(&self) -> &Hyperparameters {
        &self.hyper
    }

    /// The quadratic trend under the GP, where the fit kept one ([`GpFitOptions::quadratic_trend`]).
    pub fn trend(&self) -> Option<&QuadraticTrend> {
        self.trend.as_ref()
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

    /// The standardized latent mean `μ + t(x) + K*ᵀα` at each of `points`, whose kernel
    /// columns are `k_star` ([`ExactGp::cross_covariance`]; `t` the trend, 0 without one),
    /// accumulated row by row (contiguous reads; the terms are added in the same order as a
    /// per-column sum).
    pub(super) fn standardized_means(&self, k_star: &[f64], points: &[Vec<f64>]) -> Vec<f64> {
        let m = points.len();
        let mut sums = vec![0.0; m];
        for (row, a) in k_star.chunks_exact(m).zip(&self.alpha) {
            for (sum, k) in sums.iter_mut().zip(row) {
                *sum += k * a;
            }
        }
        sums.into_iter()
            .zip(points)
            .map(|(s, point)| self.hyper.mean + trend_at(self.trend.as_ref(), point) + s)
            .collect()
    }

    /// The posterior quantile `μ* + β·σ*` of the latent function at each point, in the
    /// objective's own units (the output warp undone; it is monotone, so a quantile maps to
    /// the same quantile). `β = 0` gives the posterior median. Only the variances' diagonal is
    /// formed: `σ*² = k(x, x) − ‖L⁻¹k*‖²`.
    pub fn quantile_in_units(&self, points: &[Vec<f64>], beta: f64) -> Vec<f64> {
        let m = points.len();
        let k_star = self.cross_covariance(points);
        let mut latent = self.standardized_means(&k_star, points);
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
            .standardized_means(&k_star, points)
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
mod tests;
