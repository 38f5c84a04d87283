//! The objective of the exact GP's MAP fit (`ExactGp::fit`, methods-spec §4.3): the negative
//! log posterior `−(ln p(y | θ) + ln p(θ))/n` over `θ = (ln ℓ, ln σ², ln(σ_n² − 1e-4), μ)` on
//! standardized outputs, with its analytic gradient
//! `∂ ln p(y|θ)/∂θ_j = ½·tr((ααᵀ − K⁻¹)·∂K/∂θ_j)`, `α = K⁻¹(y − μ)`
//! (`super::likelihood::log_marginal_likelihood`), plus the priors' log densities.

use super::exact::{Hyperparameters, MIN_NOISE};
use super::likelihood::{log_marginal_likelihood, InputColumns};
use super::priors::{GammaPrior, InverseSquaredGammaPrior, LogNormalPrior};

/// The density a fit puts on each lengthscale.
#[derive(Debug, Clone, Copy)]
pub(super) enum LengthscalePrior {
    LogNormal(LogNormalPrior),
    InverseSquaredGamma(InverseSquaredGammaPrior),
}

impl LengthscalePrior {
    pub(super) fn log_density(&self, log_l: f64) -> (f64, f64) {
        match self {
            LengthscalePrior::LogNormal(p) => p.log_density(log_l),
            LengthscalePrior::InverseSquaredGamma(p) => p.log_density(log_l),
        }
    }
}

/// The data after standardization, shared by the objective.
pub(super) struct Problem<'a> {
    pub(super) x: &'a [Vec<f64>],
    pub(super) inputs: InputColumns,
    pub(super) y: &'a [f64],
    pub(super) lengthscale_prior: LengthscalePrior,
    pub(super) outputscale_prior: GammaPrior,
    pub(super) noise_prior: LogNormalPrior,
}

impl Problem<'_> {
    pub(super) fn unpack(&self, theta: &[f64]) -> Hyperparameters {
        let d = self.x[0].len();
        Hyperparameters {
            lengthscales: theta[..d].iter().map(|t| t.exp()).collect(),
            outputscale: theta[d].exp(),
            noise: MIN_NOISE + theta[d + 1].exp(),
            mean: theta[d + 2],
        }
    }

    /// `−(ln p(y|θ) + ln p(θ))/n` and its gradient.
    pub(super) fn negative_log_posterior(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.x[0].len();
        let h = self.unpack(theta);
        grad.iter_mut().for_each(|g| *g = 0.0);
        let Some(lml) = log_marginal_likelihood(&self.inputs, self.y, &h) else {
            return f64::INFINITY;
        };
        let mut log_prior = 0.0;
        for (dd, t) in theta[..d].iter().enumerate() {
            let (lp, dlp) = self.lengthscale_prior.log_density(*t);
            log_prior += lp;
            grad[dd] = lml.d_log_lengthscales[dd] + dlp;
        }
        let (lp, dlp) = self.outputscale_prior.log_density(theta[d]);
        log_prior += lp;
        grad[d] = lml.d_log_outputscale + dlp;
        let (lp, dlp) = self.noise_prior.log_density(h.noise.ln());
        log_prior += lp;
        let excess = h.noise - MIN_NOISE;
        grad[d + 1] = lml.d_noise * excess + dlp * excess / h.noise;
        grad[d + 2] = lml.d_mean;
        let scale = -1.0 / self.x.len() as f64;
        grad.iter_mut().for_each(|g| *g *= scale);
        scale * (lml.value + log_prior)
    }
}
