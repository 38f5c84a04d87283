//! Acquisition functions and their optimizer (methods-spec §4.5).

mod joint;
mod optimize;
mod prune;
mod qnehvi;
mod qparego;

pub use optimize::{optimize_acquisition, AcquisitionOptimizerOptions};
pub use prune::prune_baseline;
pub use qnehvi::{Qnehvi, QnehviOptions};
pub use qparego::{sample_simplex, Chebyshev, QParEgo, CHEBYSHEV_ALPHA};

use crate::gp::ExactGp;

/// One surrogate per objective. A MAP fit is one member; a fully Bayesian (SAAS) fit is one
/// member per kept MCMC sample, and acquisitions average over members.
pub type ModelEnsemble = Vec<Vec<ExactGp>>;

/// Something the acquisition optimizer can maximize: a value and its gradient at a point of
/// the unit cube.
pub trait Acquisition {
    /// `(value, gradient)`; the gradient may be left empty when `with_gradient` is false.
    fn evaluate(&self, x: &[f64], with_gradient: bool) -> (f64, Vec<f64>);
}
