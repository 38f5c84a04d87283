//! Gaussian-process surrogates: the Matérn-5/2 ARD kernel, priors, a Cholesky with jitter
//! retries, and the exact GP fitted by MAP (BoTorch's `SingleTaskGP` recipe).

mod candidate;
mod cholesky;
mod exact;
mod kernel;
mod likelihood;
mod priors;
mod saas;

pub use candidate::{BaselinePosterior, CandidateTerms};
pub use cholesky::{cholesky_with_jitter, Cholesky};
pub use exact::{ExactGp, GpFitOptions, Hyperparameters, Posterior};
pub use kernel::{matern52, matern52_matrix};
pub use priors::{GammaPrior, LogNormalPrior};
pub use saas::{fit_saas, SaasGp, SaasOptions};
