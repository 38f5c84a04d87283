//! A problem embedded in a larger box: only the first `base.dim()` inputs matter (the
//! high-dimensional test of SAAS, methods-spec §4.6; the peers' `dtlz2_d6_in_30`).

use super::Problem;
use crate::{BoError, Result};

/// `base` evaluated on the first `base.dim()` of `dim` inputs; the others are ignored.
pub struct Embedded {
    base: Box<dyn Problem>,
    dim: usize,
    name: String,
}

impl Embedded {
    /// Embeds `base` in `dim ≥ base.dim()` dimensions (the extra ones on `[0, 1]`).
    pub fn new(base: Box<dyn Problem>, dim: usize, name: &str) -> Result<Self> {
        if dim < base.dim() {
            return Err(BoError::InvalidProblem {
                problem: name.into(),
                reason: format!("cannot embed d = {} in {dim} dimensions", base.dim()),
            });
        }
        Ok(Self {
            base,
            dim,
            name: name.into(),
        })
    }
}

impl Problem for Embedded {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn num_objectives(&self) -> usize {
        self.base.num_objectives()
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        let mut b = self.base.bounds();
        b.resize(self.dim, (0.0, 1.0));
        b
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        self.base.evaluate(&x[..self.base.dim()])
    }
    fn reference_point(&self) -> Vec<f64> {
        self.base.reference_point()
    }
    fn max_hypervolume(&self) -> Option<f64> {
        self.base.max_hypervolume()
    }
}
