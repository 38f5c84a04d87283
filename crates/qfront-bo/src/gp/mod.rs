//! Gaussian-process surrogates: the Matérn-5/2 ARD kernel, priors, a Cholesky with jitter
//! retries, the exact GP fitted by MAP (BoTorch's `SingleTaskGP` recipe) and the Yeo–Johnson
//! outcome warp applied before it.

mod candidate;
mod candidate_pullback;
mod cholesky;
mod exact;
mod kernel;
mod likelihood;
mod map_objective;
mod outcome_warp;
mod priors;
mod relevance;
mod saas;
mod training_data;
mod trend;
mod vector_state;
mod warp_choice;

pub(crate) use candidate::CANDIDATE_CHUNK;
pub use candidate::{BaselinePosterior, CandidateTerms};
pub use candidate_pullback::CandidatePullback;
pub use cholesky::{cholesky_with_jitter, Cholesky};
pub use exact::{
    ConstantMean, ExactGp, GpFitOptions, Hyperparameters, Posterior, BUMPY_LENGTHSCALE,
    MIN_LENGTHSCALE, NOISE_PRIOR, SMOOTH_LENGTHSCALE_PRIOR,
};
pub use kernel::{matern52, matern52_matrix};
pub use outcome_warp::{yeo_johnson, YeoJohnson, LOG_WARP_LEAST_UNIT, LOG_WARP_PLATEAU_FRACTION};
pub use priors::{GammaPrior, InverseSquaredGammaPrior, LogNormalPrior};
pub use relevance::{
    inputs_in_use, inputs_shown_unused, inputs_to_ignore, IGNORED_LENGTHSCALE, INPUT_IN_USE,
};
pub use saas::{fit_saas, SaasGp, SaasOptions};
pub use trend::{QuadraticTrend, RESIDUAL_SCALE_FLOOR, TREND_COVERAGE_MARGIN, TREND_GCV_RATIO};
pub(crate) use vector_state::after_wide_kernels;
pub use warp_choice::{better_half_log_density, fit_choosing_warp, WARP_JUDGED_FRACTION};
