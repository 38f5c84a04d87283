//! Acquisition functions and their optimizer (methods-spec §4.5).

mod anchor_scalarization;
mod joint;
mod latent_samples;
mod optimize;
mod optimize_mixed;
mod prune;
mod qlognehvi;
mod qnehvi;
mod qparego;
mod reference_point;

pub use anchor_scalarization::{AnchorScalarization, ANCHOR_TIE_WEIGHT};
pub use optimize::{optimize_acquisition, AcquisitionOptimizerOptions};
pub use optimize_mixed::{
    continuous_coordinates, optimize_acquisition_mixed, MAX_ALTERNATIONS, RELAXED_INTEGER_VALUES,
};
pub use prune::prune_baseline;
pub use qlognehvi::{QLogNehvi, TAU_MAX, TAU_RELU};
pub use qnehvi::{Qnehvi, QnehviOptions};
pub use qparego::{sample_simplex, Chebyshev, QParEgo, Scalarization, CHEBYSHEV_ALPHA};
pub use reference_point::{
    ensemble_quantiles, loose_reference, predicted_front_reference, MARGINAL_FRACTION,
    REFERENCE_CANDIDATES, REFERENCE_QUANTILE,
};

use crate::gp::ExactGp;

/// One surrogate per objective. A MAP fit is one member; a fully Bayesian (SAAS) fit is one
/// member per kept MCMC sample, and acquisitions average over members.
pub type ModelEnsemble = Vec<Vec<ExactGp>>;

/// `values` (one per outcome, in the outcomes' units) on one ensemble member's standardized
/// latent scales (`ExactGp::latent_of_output`), where dominance and comparisons with a
/// reference point read the same as in units.
pub(crate) fn latent_point(member: &[ExactGp], values: &[f64]) -> Vec<f64> {
    member
        .iter()
        .zip(values)
        .map(|(gp, value)| gp.latent_of_output(*value))
        .collect()
}

/// BoTorch's temperature η of the sigmoid that weights a sample by its feasibility.
pub const CONSTRAINT_ETA: f64 = 1e-3;

/// Outcome constraints as the Monte-Carlo acquisitions apply them (BoTorch's
/// `apply_constraints`): the last `count` modelled outcomes are slacks, feasible when ≥ 0;
/// a sample's improvement is weighted by `Π_c sigmoid(slack_c/η)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraints {
    /// Number of slack outcomes after the objectives.
    pub count: usize,
}

impl Constraints {
    /// `(weight, ∂weight/∂slack_c)` of one sample's slacks.
    pub fn weight(slacks: &[f64]) -> (f64, Vec<f64>) {
        let sig: Vec<f64> = slacks
            .iter()
            .map(|s| 1.0 / (1.0 + (-s / CONSTRAINT_ETA).exp()))
            .collect();
        let w: f64 = sig.iter().product();
        let grad = sig.iter().map(|s| w * (1.0 - s) / CONSTRAINT_ETA).collect();
        (w, grad)
    }

    /// Weights one sample's improvement `value` (gradient `dvalue` in the m objectives) by the
    /// feasibility of the slacks `y[m..]`, writes the weighted value's gradient in every
    /// outcome (`∂/∂y_j`: the m objectives, then the slacks) to `outcome_gradient` when one is
    /// given, and returns the weighted value.
    pub fn weighted_improvement(
        value: f64,
        dvalue: &[f64],
        y: &[f64],
        outcome_gradient: Option<&mut [f64]>,
    ) -> f64 {
        let m = dvalue.len();
        let (weight, dweight) = if y.len() > m {
            Constraints::weight(&y[m..])
        } else {
            (1.0, Vec::new())
        };
        if let Some(outcome_gradient) = outcome_gradient {
            for (out, dv) in outcome_gradient.iter_mut().zip(dvalue) {
                *out = weight * dv;
            }
            for (out, dw) in outcome_gradient[m..].iter_mut().zip(&dweight) {
                *out = value * dw;
            }
        }
        value * weight
    }

    /// Whether every slack is non-negative.
    pub fn feasible(slacks: &[f64]) -> bool {
        slacks.iter().all(|s| *s >= 0.0)
    }
}

/// Something the acquisition optimizer can maximize: a value and its gradient at a point of
/// the unit cube.
pub trait Acquisition: Sync {
    /// `(value, gradient)`; the gradient may be left empty when `with_gradient` is false.
    fn evaluate(&self, x: &[f64], with_gradient: bool) -> (f64, Vec<f64>);

    /// The values (no gradients) of many candidates, as `evaluate(x, false).0` each; the
    /// Monte-Carlo acquisitions compute their candidates' posteriors together.
    fn evaluate_many(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        xs.iter().map(|x| self.evaluate(x, false).0).collect()
    }
}
