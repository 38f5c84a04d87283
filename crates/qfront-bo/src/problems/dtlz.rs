//! The DTLZ family (Deb, Thiele, Laumanns and Zitzler 2005) as BoTorch defines it, on
//! `[0, 1]^d` with `d > m`; `k = d − m + 1` distance variables (the last k).

use super::Problem;
use crate::{BoError, Result};
use std::f64::consts::PI;

/// Which DTLZ problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlzVariant {
    /// Linear front `Σf = 0.5`; multimodal g.
    Dtlz1,
    /// Spherical front.
    Dtlz2,
    /// DTLZ2's front with DTLZ1's multimodal g.
    Dtlz3,
    /// Degenerate (curve) front.
    Dtlz5,
    /// `2^(m−1)` disconnected regions.
    Dtlz7,
}

/// A DTLZ problem of dimension `d` with `m` objectives.
#[derive(Debug, Clone, Copy)]
pub struct Dtlz {
    variant: DtlzVariant,
    dim: usize,
    objectives: usize,
}

impl Dtlz {
    /// Checks `m ≥ 2` and `d > m`.
    pub fn new(variant: DtlzVariant, dim: usize, objectives: usize) -> Result<Self> {
        if objectives < 2 || dim <= objectives {
            return Err(BoError::InvalidProblem {
                problem: format!("{variant:?}").to_lowercase(),
                reason: format!(
                    "needs m >= 2 objectives and d > m inputs, got d = {dim}, m = {objectives}"
                ),
            });
        }
        Ok(Self {
            variant,
            dim,
            objectives,
        })
    }

    /// DTLZ1/DTLZ3's multimodal distance function `100·(k + Σ[(x − ½)² − cos(20π(x − ½))])`.
    fn rastrigin_g(tail: &[f64]) -> f64 {
        100.0
            * (tail.len() as f64
                + tail
                    .iter()
                    .map(|x| (x - 0.5).powi(2) - (20.0 * PI * (x - 0.5)).cos())
                    .sum::<f64>())
    }

    /// DTLZ2's spherical objectives at angles `theta` (in units of π/2) and radius `1 + g`.
    fn sphere(theta: &[f64], g: f64, m: usize) -> Vec<f64> {
        (0..m)
            .map(|i| {
                let mut f = 1.0 + g;
                for t in &theta[..m - 1 - i] {
                    f *= (t * PI / 2.0).cos();
                }
                if i > 0 {
                    f *= (theta[m - 1 - i] * PI / 2.0).sin();
                }
                f
            })
            .collect()
    }
}

impl Problem for Dtlz {
    fn name(&self) -> String {
        format!("{:?}", self.variant).to_lowercase()
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn num_objectives(&self) -> usize {
        self.objectives
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        vec![(0.0, 1.0); self.dim]
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        let m = self.objectives;
        let k = self.dim - m + 1;
        let tail = &x[self.dim - k..];
        let sum_sq: f64 = tail.iter().map(|v| (v - 0.5).powi(2)).sum();
        match self.variant {
            DtlzVariant::Dtlz1 => {
                let g = Self::rastrigin_g(tail);
                (0..m)
                    .map(|i| {
                        let mut f = 0.5 * (1.0 + g);
                        for v in &x[..m - 1 - i] {
                            f *= v;
                        }
                        if i > 0 {
                            f *= 1.0 - x[m - 1 - i];
                        }
                        f
                    })
                    .collect()
            }
            DtlzVariant::Dtlz2 => Self::sphere(x, sum_sq, m),
            DtlzVariant::Dtlz3 => Self::sphere(x, Self::rastrigin_g(tail), m),
            DtlzVariant::Dtlz5 => {
                let g = sum_sq;
                let mut theta = vec![x[0]];
                theta.extend(
                    x[1..m - 1]
                        .iter()
                        .map(|v| (1.0 + 2.0 * g * v) / (2.0 * (1.0 + g))),
                );
                Self::sphere(&theta, g, m)
            }
            DtlzVariant::Dtlz7 => {
                let g = 1.0 + 9.0 / k as f64 * tail.iter().sum::<f64>();
                let mut f: Vec<f64> = x[..m - 1].to_vec();
                let h = m as f64
                    - f.iter()
                        .map(|fi| fi / (1.0 + g) * (1.0 + (3.0 * PI * fi).sin()))
                        .sum::<f64>();
                f.push((1.0 + g) * h);
                f
            }
        }
    }
    fn reference_point(&self) -> Vec<f64> {
        let r = match self.variant {
            DtlzVariant::Dtlz1 => 400.0,
            DtlzVariant::Dtlz2 => 1.1,
            DtlzVariant::Dtlz3 => 10000.0,
            DtlzVariant::Dtlz5 => 10.0,
            DtlzVariant::Dtlz7 => 15.0,
        };
        vec![r; self.objectives]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        let m = self.objectives as f64;
        // The volume of the positive orthant of the unit ball: π^(m/2)/Γ(m/2 + 1)/2^m.
        let ball = PI.powf(m / 2.0) / statrs::function::gamma::gamma(m / 2.0 + 1.0) / 2f64.powf(m);
        match self.variant {
            // BoTorch's constant (it subtracts 1/2^m; the exact value is 0.5^m/m!, §5.3).
            DtlzVariant::Dtlz1 => Some(400f64.powf(m) - 0.5f64.powf(m)),
            DtlzVariant::Dtlz2 => Some(1.1f64.powf(m) - ball),
            DtlzVariant::Dtlz3 => Some(10000f64.powf(m) - ball),
            DtlzVariant::Dtlz5 | DtlzVariant::Dtlz7 => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::golden::check;
    use super::*;

    #[test]
    fn golden_values() {
        // methods-spec §5.4 (d = 6).
        let p = |v, m| Dtlz::new(v, 6, m).unwrap();
        check(
            &p(DtlzVariant::Dtlz1, 2),
            &[
                &[129.03125, 387.09375],
                &[0.25, 0.25],
                &[387.09375, 129.03125],
            ],
            1e-9,
        );
        check(
            &p(DtlzVariant::Dtlz2, 2),
            &[
                &[1.212591886, 0.502272005],
                &[
                    std::f64::consts::FRAC_1_SQRT_2,
                    std::f64::consts::FRAC_1_SQRT_2,
                ],
                &[0.502272005, 1.212591886],
            ],
            1e-8,
        );
        check(
            &p(DtlzVariant::Dtlz2, 3),
            &[
                &[1.066941738, 0.4419417382, 0.4783542905],
                &[0.5, 0.5, std::f64::consts::FRAC_1_SQRT_2],
                &[0.1830582618, 0.4419417382, 1.154849416],
            ],
            1e-8,
        );
        let dtlz3 = p(DtlzVariant::Dtlz3, 2);
        let got = dtlz3.evaluate_unit(&[0.25; 6]);
        assert!((got[0] - 953.6746474).abs() < 1e-6 && (got[1] - 395.0249731).abs() < 1e-6);
        check(
            &p(DtlzVariant::Dtlz5, 3),
            &[
                &[0.878154385, 0.7500146991, 0.4783542905],
                &[0.5, 0.5, std::f64::consts::FRAC_1_SQRT_2],
                &[0.3106662603, 0.3637434561, 1.154849416],
            ],
            1e-8,
        );
        check(
            &p(DtlzVariant::Dtlz7, 3),
            &[
                &[0.25, 0.25, 11.89644661],
                &[0.5, 0.5, 19.5],
                &[0.75, 0.75, 23.68933983],
            ],
            1e-8,
        );
    }

    #[test]
    fn maximal_hypervolumes_are_botorchs() {
        // methods-spec §5.2.
        let hv = |v, m| Dtlz::new(v, 6, m).unwrap().max_hypervolume().unwrap();
        assert!((hv(DtlzVariant::Dtlz2, 2) - 0.4246018366025519).abs() < 1e-14);
        assert!((hv(DtlzVariant::Dtlz2, 3) - 0.8074012244017015).abs() < 1e-14);
        assert!((hv(DtlzVariant::Dtlz3, 2) - 99999999.21460183).abs() < 1e-6);
        assert!((hv(DtlzVariant::Dtlz1, 2) - 159999.75).abs() < 1e-9);
        assert!(Dtlz::new(DtlzVariant::Dtlz2, 2, 2).is_err());
    }
}
