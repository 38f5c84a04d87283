//! # qfront-bo: multi-objective Bayesian optimisation in Rust
//!
//! The engine behind `qfront search` (methods-spec §4), usable on its own:
//!
//! - [`space`]: typed search spaces (float / int, linear or log; ordered and categorical
//!   choices) encoded to the unit cube and decoded with rounding;
//! - [`sampling`]: seeded, Owen-scrambled Sobol points;
//! - [`moo`]: Pareto filtering, exact hypervolume, box decompositions, reference points;
//! - [`problems`]: the standard multi-objective test problems of BoTorch
//!   (methods-spec §5), with their bounds, reference points and maximal hypervolumes.
//!
//! - [`gp`]: the exact GP (Matérn-5/2 ARD, MAP under BoTorch-style priors) and the SAAS GP
//!   sampled with NUTS;
//! - [`acq`]: qNEHVI, qLogNEHVI and qNParEGO with outcome constraints, and their optimizer;
//! - [`Optimizer`]: the ask/tell loop with pending points and serializable state;
//! - [`benchmark`]: the runner behind `qfront bench mobo`.
//!
//! Conventions follow BoTorch: objectives are **maximized** inside the optimizer; the test
//! problems are written for minimization and negated on the way in.
//!
//! ## Every knob and its default
//!
//! | knob | default | where |
//! |---|---|---|
//! | initial Sobol design | 2(d + 1) points | [`OptimizerConfig::initial_points`] |
//! | reference point | inferred: nadir − 0.1·(ideal − nadir) of the observed front | [`OptimizerConfig::reference_point`] |
//! | MC samples (QMC, fixed base samples) | 128 | [`OptimizerConfig::mc_samples`] |
//! | baseline pruning | on, 2048 posterior samples | [`OptimizerConfig::prune_baseline`] |
//! | raw samples / restarts | 512 / 10 (+ 32 perturbations per Pareto point) | [`OptimizerConfig::raw_samples`], [`acq::AcquisitionOptimizerOptions`] |
//! | L-BFGS | 200 iterations, memory 10, pgtol 1e-5, ftol 2.2e-9, step ≤ 0.1 | [`optim::LbfgsOptions`] |
//! | GP fit starts | 3 (prior medians + 2 prior draws), 100 L-BFGS iterations each | [`OptimizerConfig::gp_restarts`], [`gp::GpFitOptions`] |
//! | GP priors | ℓ ~ LogNormal(√2 + ½ ln d, √3), σ² ~ Gamma(2, 0.15), σ_n² ~ LogNormal(−4, 1) ≥ 1e-4 | [`gp::GpFitOptions`] |
//! | SAAS NUTS | 512 warm-up, 256 draws, thinning 16, depth ≤ 6 | [`gp::SaasOptions`] |
//! | constraint sigmoid η | 1e-3 | [`acq::CONSTRAINT_ETA`] |
//! | qLogNEHVI smoothing | τ_relu 1e-6, τ_max 1e-2 | [`acq::TAU_RELU`], [`acq::TAU_MAX`] |
//! | qNParEGO augmentation α | 0.05 | [`acq::CHEBYSHEV_ALPHA`] |

// Numerical loops here index several arrays in lockstep (matrices, their derivatives, sample
// blocks); an index reads more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod acq;
pub mod benchmark;
pub mod error;
pub mod gp;
pub mod moo;
pub mod optim;
pub mod optimizer;
pub mod problems;
pub mod sampling;
pub mod space;

pub use error::{BoError, Result};
pub use optimizer::{AskTiming, Method, Optimizer, OptimizerConfig, Trial, TrialState};
