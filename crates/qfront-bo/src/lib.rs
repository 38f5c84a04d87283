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
//! ## Optimizing your own function with ask/tell
//!
//! ```
//! use qfront_bo::space::{ParamValue, Parameter, Scale, SearchSpace};
//! use qfront_bo::{Method, Optimizer, OptimizerConfig};
//!
//! // Two objectives to maximize: accuracy up, latency down (so maximize −latency).
//! fn train_and_measure(params: &[ParamValue]) -> Result<Vec<f64>, String> {
//!     let lr = params[0].as_f64().unwrap();
//!     let width = params[1].as_f64().unwrap();
//!     let accuracy = 0.9 - (lr.log10() + 2.5).powi(2) * 0.01 + width * 1e-3;
//!     let latency_ms = 0.05 * width;
//!     Ok(vec![accuracy, -latency_ms])
//! }
//!
//! let space = SearchSpace::new(vec![
//!     Parameter::log_float("lr", 1e-4, 1e-1),
//!     Parameter::int("width", 8, 128, Scale::Log),
//! ])?;
//! let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 42);
//! config.reference_point = Some(vec![0.5, -10.0]); // worst acceptable (accuracy, −latency)
//! config.raw_samples = 64; // smaller than the defaults to keep the example fast
//! config.restarts = 2;
//! let mut optimizer = Optimizer::new(config)?;
//! for _round in 0..5 {
//!     for trial in optimizer.ask(2)? {
//!         // Evaluate anywhere (another process, another machine); tell whenever it is done.
//!         optimizer.tell(trial.id, train_and_measure(&trial.params))?;
//!     }
//! }
//! // The state serializes, so a study can stop and resume later.
//! let saved = serde_json::to_string(&optimizer).unwrap();
//! let resumed: Optimizer = serde_json::from_str(&saved).unwrap();
//! assert_eq!(resumed.trials().len(), 10);
//! for trial in resumed.pareto_trials() {
//!     println!("{:?} -> {:?}", trial.params, trial.state);
//! }
//! # Ok::<(), qfront_bo::BoError>(())
//! ```
//!
//! A failed evaluation is told as `Err(reason)`: it is kept, not modelled, and the study goes
//! on. With `num_constraints = c`, each told vector carries `c` slacks (feasible when ≥ 0)
//! after the objectives.
//!
//! ## Every knob and its default
//!
//! | knob | default | where |
//! |---|---|---|
//! | initial Sobol design | 2(d + 1) points | [`OptimizerConfig::initial_points`] |
//! | reference point | inferred: nadir − 0.1·(ideal − nadir) of the models' predicted front; at every third ask, of every observation (the loose point) | [`OptimizerConfig::reference_point`] |
//! | a given reference point's alternation | every sixth trial measures against the predicted front's point instead | [`OptimizerConfig::given_reference_alternation`] |
//! | MC samples (QMC, fixed base samples) | 128 | [`OptimizerConfig::mc_samples`] |
//! | baseline pruning | on, 2048 posterior samples | [`OptimizerConfig::prune_baseline`] |
//! | raw samples / restarts | 512 / 10 (+ 32 perturbations per Pareto point) | [`OptimizerConfig::raw_samples`], [`acq::AcquisitionOptimizerOptions`] |
//! | L-BFGS | 200 iterations, memory 10, pgtol 1e-5, ftol 2.2e-9, step ≤ 0.1 | [`optim::LbfgsOptions`] |
//! | GP fit starts | 3 (the lengthscale prior's mode + 2 prior draws), 100 L-BFGS iterations each | [`OptimizerConfig::gp_restarts`], [`gp::GpFitOptions`] |
//! | GP priors | ℓ ~ LogNormal(√2 + ½ ln d, √3) with ℓ ≥ 0.025 (BoTorch's floor), σ² ~ Gamma(2, 0.15), σ_n² ~ LogNormal(−6, 1) ≥ 1e-4 (BoTorch: LogNormal(−4, 1)) | [`gp::GpFitOptions`] |
//! | GP constant mean | held at the worst observation from 5 encoded dimensions on, fitted below (and in [`gp::GpFitOptions`]'s default) | [`OptimizerConfig::worst_observed_mean_min_dim`], [`gp::ConstantMean`] |
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
pub use optimizer::{
    AskTiming, Method, Optimizer, OptimizerConfig, Proposal, ProposalKind, ReferenceRule,
    Surrogate, Trial, TrialState,
};
