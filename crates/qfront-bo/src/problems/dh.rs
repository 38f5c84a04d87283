//! DH1–4 (Deb and Gupta 2005, robust multi-objective problems) as BoTorch defines them; m = 2.

use super::Problem;
use crate::{BoError, Result};
use std::f64::consts::PI;

/// Which DH problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhVariant {
    /// `(α, β) = (1, 1)`.
    Dh1,
    /// `(α, β) = (1, 10)`.
    Dh2,
    /// Two Gaussian bumps in `x₁`.
    Dh3,
    /// DH3 with `x₁` replaced by `x₀ + x₁` and an extra `−x₀`.
    Dh4,
}

/// A DH problem of dimension `d` (≥ 2 for DH1/DH2, ≥ 3 for DH3/DH4).
#[derive(Debug, Clone, Copy)]
pub struct Dh {
    variant: DhVariant,
    dim: usize,
}

impl Dh {
    /// Checks the dimension.
    pub fn new(variant: DhVariant, dim: usize) -> Result<Self> {
        let min = match variant {
            DhVariant::Dh1 | DhVariant::Dh2 => 2,
            DhVariant::Dh3 | DhVariant::Dh4 => 3,
        };
        if dim < min {
            return Err(BoError::InvalidProblem {
                problem: format!("{variant:?}").to_lowercase(),
                reason: format!("needs d >= {min}, got {dim}"),
            });
        }
        Ok(Self { variant, dim })
    }

    fn bumps(t: f64) -> f64 {
        0.8 * (-((t - 0.35) / 0.25).powi(2)).exp() + (-((t - 0.85) / 0.03).powi(2)).exp()
    }
}

impl Problem for Dh {
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
        let mut b = vec![(0.0, 1.0)];
        match self.variant {
            DhVariant::Dh1 | DhVariant::Dh2 => b.resize(self.dim, (-1.0, 1.0)),
            DhVariant::Dh3 => {
                b.push((0.0, 1.0));
                b.resize(self.dim, (-1.0, 1.0));
            }
            DhVariant::Dh4 => {
                b.push((-0.15, 1.0));
                b.resize(self.dim, (-1.0, 1.0));
            }
        }
        b
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        let f0 = x[0];
        let f1 = match self.variant {
            DhVariant::Dh1 | DhVariant::Dh2 => {
                let (alpha, beta) = if self.variant == DhVariant::Dh1 {
                    (1.0, 1.0)
                } else {
                    (1.0, 10.0)
                };
                let g: f64 = x[1..]
                    .iter()
                    .map(|v| 10.0 + v * v - 10.0 * (4.0 * PI * v).cos())
                    .sum();
                let s = alpha / (0.2 + x[0]) + beta * x[0] * x[0];
                (1.0 - x[0] * x[0]) + g * s
            }
            DhVariant::Dh3 | DhVariant::Dh4 => {
                let h = if self.variant == DhVariant::Dh3 {
                    2.0 - Self::bumps(x[1])
                } else {
                    2.0 - x[0] - Self::bumps(x[0] + x[1])
                };
                let g = 50.0 * x[2..].iter().map(|v| v * v).sum::<f64>();
                h * (g + 1.0 - x[0].sqrt())
            }
        };
        vec![f0, f1]
    }
    fn reference_point(&self) -> Vec<f64> {
        vec![1.1, 1.1]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(match self.variant {
            DhVariant::Dh1 | DhVariant::Dh2 => 1.21 - 2.0 / 3.0,
            DhVariant::Dh3 => 1.21 - 0.328449169794718,
            DhVariant::Dh4 => 1.21 - 0.22845,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::golden::check;
    use super::*;

    #[test]
    fn golden_values() {
        // methods-spec §5.4 (d = 3).
        check(
            &Dh::new(DhVariant::Dh1, 3).unwrap(),
            &[&[0.25, 2.079861111], &[0.5, 0.75], &[0.75, 1.245065789]],
            1e-8,
        );
        check(
            &Dh::new(DhVariant::Dh3, 3).unwrap(),
            &[
                &[0.25, 17.13770459],
                &[0.5, 0.4223107058],
                &[0.75, 24.48642747],
            ],
            1e-8,
        );
        assert!(Dh::new(DhVariant::Dh3, 2).is_err());
    }
}
