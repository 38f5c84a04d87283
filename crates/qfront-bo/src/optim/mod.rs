//! Numerical optimisation shared by the GP fit and the acquisition optimizer.

mod projected_lbfgs;

pub use projected_lbfgs::{minimize_box, LbfgsOptions, LbfgsOutcome};
