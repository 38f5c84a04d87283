//! The scalarization an anchor step improves (issue #17; design notes, "Anchor steps"): one
//! objective first, the others only as a tie-break,
//!
//! `s_j(y) = ŷ_j + ε·Σ_{k≠j} ŷ_k`, `ŷ_k = (y_k − lo_k)/(hi_k − lo_k)`, ε = [`ANCHOR_TIE_WEIGHT`],
//!
//! maximized, with `lo`, `hi` the observed range of each objective (as qNParEGO's Chebyshev
//! scalarization normalizes). A weighted sum with every weight positive is maximized only at
//! Pareto-optimal points (Geoffrion 1968), so the tie-break is what keeps a weakly
//! Pareto-optimal extreme from winning: DTLZ2's first objective is best on the whole face
//! `x₁ = 1`, whatever the distance variables, and only the others' small weight picks the
//! face's point on the front. With ε = 0.05, one unit of objective `j`'s observed range is
//! worth 20 units of another's: the step goes where objective `j` is best, accepting a large
//! loss in the others, which is the extreme a hypervolume with an inferred reference point
//! cannot see.

use crate::{BoError, Result};

/// ε of [`AnchorScalarization`]: the weight of the other objectives against the anchored one.
pub const ANCHOR_TIE_WEIGHT: f64 = 0.05;

/// `s_j(y) = ŷ_j + ε·Σ_{k≠j} ŷ_k` over the observed ranges (see the module notes).
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorScalarization {
    objective: usize,
    lower: Vec<f64>,
    span: Vec<f64>,
}

impl AnchorScalarization {
    /// The scalarization anchored on `objective`, normalized by the range of `observed`
    /// (maximized objective values, one row per point).
    pub fn new(objective: usize, observed: &[Vec<f64>]) -> Result<Self> {
        let m = observed.first().map_or(0, Vec::len);
        if m == 0 || observed.iter().any(|y| y.len() != m) || objective >= m {
            return Err(BoError::input(
                "anchor step",
                format!(
                    "needs observed values with the same number of objectives, more than {objective}"
                ),
            ));
        }
        let (lower, span) = super::qparego::observed_range(observed, m);
        Ok(Self {
            objective,
            lower,
            span,
        })
    }

    /// Number of objectives.
    pub fn objectives(&self) -> usize {
        self.lower.len()
    }

    /// Each objective's lowest (worst) observed value, where `ŷ = 0`.
    pub fn worst_observed(&self) -> &[f64] {
        &self.lower
    }

    /// `(s_j(y), ∂s_j/∂y)`.
    pub fn value(&self, y: &[f64]) -> (f64, Vec<f64>) {
        let grad: Vec<f64> = (0..self.lower.len())
            .map(|k| {
                let weight = if k == self.objective {
                    1.0
                } else {
                    ANCHOR_TIE_WEIGHT
                };
                weight / self.span[k]
            })
            .collect();
        let value = (0..self.lower.len())
            .map(|k| grad[k] * (y[k] - self.lower[k]))
            .sum();
        (value, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchored_objective_counts_twenty_times_the_others() {
        // Ranges: objective 0 over [0, 2], objective 1 over [−1, 3].
        let observed = vec![vec![0.0, 3.0], vec![2.0, -1.0]];
        let s = AnchorScalarization::new(0, &observed).unwrap();
        assert_eq!(s.worst_observed(), &[0.0, -1.0]);
        let (value, grad) = s.value(&[1.0, 1.0]);
        // ŷ = (0.5, 0.5): 0.5 + 0.05·0.5.
        assert!((value - 0.525).abs() < 1e-12, "{value}");
        assert_eq!(grad, vec![0.5, 0.05 / 4.0]);
        // Objective 0 one range better beats objective 1 nineteen ranges worse.
        let (better_first, _) = s.value(&[3.0, 3.0 - 19.0 * 4.0]);
        assert!(better_first > s.value(&[1.0, 3.0]).0);
        // Anchored on objective 1 instead.
        let t = AnchorScalarization::new(1, &observed).unwrap();
        assert!((t.value(&[1.0, 1.0]).0 - (0.5 + 0.05 * 0.5)).abs() < 1e-12);
        assert_eq!(t.value(&[2.0, 1.0]).1, vec![0.05 / 2.0, 0.25]);
    }

    #[test]
    fn weakly_optimal_extremes_lose_the_tie() {
        // Two points equally best in objective 0; the one better in objective 1 wins.
        let observed = vec![vec![0.0, 0.0], vec![1.0, 1.0]];
        let s = AnchorScalarization::new(0, &observed).unwrap();
        assert!(s.value(&[1.0, 0.9]).0 > s.value(&[1.0, 0.1]).0);
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(AnchorScalarization::new(0, &[]).is_err());
        assert!(AnchorScalarization::new(2, &[vec![0.0, 1.0]]).is_err());
        assert!(AnchorScalarization::new(0, &[vec![0.0, 1.0], vec![0.0]]).is_err());
    }
}
