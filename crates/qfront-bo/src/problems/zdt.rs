//! ZDT1–3 (Zitzler, Deb and Thiele 2000) as BoTorch defines them: m = 2, `[0, 1]^d`,
//! `f₀ = x₀`, `g = 1 + 9·mean(x₁..x_{d−1})`.

use super::Problem;
use crate::{BoError, Result};
use std::f64::consts::PI;

/// Which ZDT problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZdtVariant {
    /// Convex front: `f₁ = g(1 − √(f₀/g))`.
    Zdt1,
    /// Concave front: `f₁ = g(1 − (f₀/g)²)`.
    Zdt2,
    /// Five disconnected segments: `f₁ = 1 − √(f₀/g) − (f₀/g)·sin(10πf₀)` (BoTorch's form,
    /// which omits the classic factor g; they agree on the front, where g = 1).
    Zdt3,
}

/// A ZDT problem of dimension `d ≥ 2`.
#[derive(Debug, Clone, Copy)]
pub struct Zdt {
    variant: ZdtVariant,
    dim: usize,
}

impl Zdt {
    /// Checks `d ≥ 2`.
    pub fn new(variant: ZdtVariant, dim: usize) -> Result<Self> {
        if dim < 2 {
            return Err(BoError::InvalidProblem {
                problem: format!("{variant:?}").to_lowercase(),
                reason: format!("needs d >= 2, got {dim}"),
            });
        }
        Ok(Self { variant, dim })
    }
}

impl Problem for Zdt {
    fn name(&self) -> String {
        format!("{:?}", self.variant).to_lowercase()
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn num_objectives(&self) -> usize {
        2
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        vec![(0.0, 1.0); self.dim]
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        let f0 = x[0];
        let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (self.dim - 1) as f64;
        let ratio = f0 / g;
        let f1 = match self.variant {
            ZdtVariant::Zdt1 => g * (1.0 - ratio.sqrt()),
            ZdtVariant::Zdt2 => g * (1.0 - ratio * ratio),
            ZdtVariant::Zdt3 => 1.0 - ratio.sqrt() - ratio * (10.0 * PI * f0).sin(),
        };
        vec![f0, f1]
    }
    fn reference_point(&self) -> Vec<f64> {
        vec![11.0, 11.0]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(match self.variant {
            ZdtVariant::Zdt1 => 120.0 + 2.0 / 3.0,
            ZdtVariant::Zdt2 => 120.0 + 1.0 / 3.0,
            ZdtVariant::Zdt3 => 128.77811613069076,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::golden::check;
    use super::*;

    #[test]
    fn golden_values() {
        // methods-spec §5.4 (d = 4; f₀ = u).
        let z = |v| Zdt::new(v, 4).unwrap();
        check(
            &z(ZdtVariant::Zdt1),
            &[
                &[0.25, 2.348612181],
                &[0.5, 3.841687605],
                &[0.75, 5.33908731],
            ],
            1e-8,
        );
        check(
            &z(ZdtVariant::Zdt2),
            &[
                &[0.25, 3.230769231],
                &[0.5, 5.454545455],
                &[0.75, 7.677419355],
            ],
            1e-8,
        );
        check(
            &z(ZdtVariant::Zdt3),
            &[
                &[0.25, 0.645726825],
                &[0.5, 0.6984886554],
                &[0.75, 0.7856886851],
            ],
            1e-8,
        );
    }
}
