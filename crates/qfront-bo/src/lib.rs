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
//! Conventions follow BoTorch: objectives are **maximized** inside the optimizer; the test
//! problems are written for minimization and negated on the way in.

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
