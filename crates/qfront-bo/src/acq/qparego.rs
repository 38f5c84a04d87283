//! qNParEGO (Knowles 2006; BoTorch's `qNParEGO`, Daulton et al. 2020): each batch point
//! maximizes the noisy expected improvement of a random augmented Chebyshev scalarization
//!
//! `s_w(y) = min_i w_i·ŷ_i + α·Σ_i w_i·ŷ_i`, `ŷ_i = (y_i − lo_i)/(hi_i − lo_i)`, α = 0.05,
//!
//! with `w` uniform on the simplex and `lo`, `hi` the observed range of each objective
//! (BoTorch `get_chebyshev_scalarization`). The improvement is over the best scalarized
//! baseline value in the same joint posterior sample (qNEI):
//! `(1/N)·Σ_t max(0, s_w(f̃_t(x)) − max_b s_w(f̃_t(b)))`.

use super::joint::JointSamples;
use super::{Acquisition, AnchorScalarization, Constraints, ModelEnsemble};
use crate::{BoError, Result};
use rand::Rng;

/// BoTorch's augmentation weight α.
pub const CHEBYSHEV_ALPHA: f64 = 0.05;

/// A uniform draw from the probability simplex in `m` dimensions (sorted uniforms' gaps).
pub fn sample_simplex(m: usize, rng: &mut impl Rng) -> Vec<f64> {
    let mut cuts: Vec<f64> = (0..m - 1).map(|_| rng.gen::<f64>()).collect();
    cuts.push(0.0);
    cuts.push(1.0);
    cuts.sort_by(f64::total_cmp);
    cuts.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The augmented Chebyshev scalarization of one weight vector over observed ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Chebyshev {
    weights: Vec<f64>,
    lower: Vec<f64>,
    span: Vec<f64>,
}

/// Each objective's lowest observed value and observed range (at least 1e-9) over the rows of
/// `observed` (each of length `m`): the normalization `ŷ = (y − lower)/span` of the
/// scalarizations.
pub(super) fn observed_range(observed: &[Vec<f64>], m: usize) -> (Vec<f64>, Vec<f64>) {
    let lower: Vec<f64> = (0..m)
        .map(|i| observed.iter().map(|y| y[i]).fold(f64::INFINITY, f64::min))
        .collect();
    let span = (0..m)
        .map(|i| {
            let high = observed
                .iter()
                .map(|y| y[i])
                .fold(f64::NEG_INFINITY, f64::max);
            (high - lower[i]).max(1e-9)
        })
        .collect();
    (lower, span)
}

impl Chebyshev {
    /// Scalarization with `weights` (non-negative) normalized by the range of `observed`.
    pub fn new(weights: Vec<f64>, observed: &[Vec<f64>]) -> Result<Self> {
        let m = weights.len();
        if observed.is_empty() || observed.iter().any(|y| y.len() != m) {
            return Err(BoError::input(
                "qParEGO",
                format!("need observed values with {m} objectives"),
            ));
        }
        let (lower, span) = observed_range(observed, m);
        Ok(Self {
            weights,
            lower,
            span,
        })
    }

    /// `(s_w(y), ∂s_w/∂y)`.
    pub fn value(&self, y: &[f64]) -> (f64, Vec<f64>) {
        let m = y.len();
        let scaled: Vec<f64> = (0..m)
            .map(|i| self.weights[i] * (y[i] - self.lower[i]) / self.span[i])
            .collect();
        let arg = (0..m).fold(0, |b, i| if scaled[i] < scaled[b] { i } else { b });
        let value = scaled[arg] + CHEBYSHEV_ALPHA * scaled.iter().sum::<f64>();
        let grad = (0..m)
            .map(|i| {
                let own = if i == arg { 1.0 } else { 0.0 };
                (own + CHEBYSHEV_ALPHA) * self.weights[i] / self.span[i]
            })
            .collect();
        (value, grad)
    }
}

/// What a [`QParEgo`] acquisition improves.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalarization {
    /// qNParEGO's augmented Chebyshev scalarization of random weights.
    Chebyshev(Chebyshev),
    /// An anchor step's: one objective first, the others as a tie-break
    /// ([`AnchorScalarization`]).
    Anchor(AnchorScalarization),
}

impl Scalarization {
    /// Number of objectives.
    pub fn objectives(&self) -> usize {
        match self {
            Self::Chebyshev(c) => c.weights.len(),
            Self::Anchor(a) => a.objectives(),
        }
    }

    /// `(s(y), ∂s/∂y)`.
    pub fn value(&self, y: &[f64]) -> (f64, Vec<f64>) {
        match self {
            Self::Chebyshev(c) => c.value(y),
            Self::Anchor(a) => a.value(y),
        }
    }
}

impl From<Chebyshev> for Scalarization {
    fn from(c: Chebyshev) -> Self {
        Self::Chebyshev(c)
    }
}

impl From<AnchorScalarization> for Scalarization {
    fn from(a: AnchorScalarization) -> Self {
        Self::Anchor(a)
    }
}

/// A qNParEGO acquisition for one weight vector (or, for an anchor step, one anchored
/// objective): the noisy expected improvement of a [`Scalarization`].
pub struct QParEgo<'a> {
    joint: JointSamples<'a>,
    scalarization: Scalarization,
    /// `[member][sample]`: the best scalarized baseline value.
    best: Vec<Vec<f64>>,
}

impl<'a> QParEgo<'a> {
    /// Builds the acquisition over `baseline` with `scalarization`; the `constraints` models
    /// after the objectives are slacks (≥ 0 feasible).
    pub fn new(
        models: &'a ModelEnsemble,
        baseline: &[Vec<f64>],
        scalarization: impl Into<Scalarization>,
        constraints: usize,
        mc_samples: usize,
        seed: u64,
    ) -> Result<Self> {
        let scalarization = scalarization.into();
        let m = scalarization.objectives();
        let joint = JointSamples::new(
            models,
            baseline,
            m + constraints,
            mc_samples,
            seed ^ 0x7061_7265,
        )?;
        let best = (0..joint.members())
            .map(|k| {
                (0..joint.samples())
                    .map(|t| {
                        joint
                            .baseline_values(k, t)
                            .iter()
                            .filter(|y| Constraints::feasible(&y[m..]))
                            .map(|y| scalarization.value(&y[..m]).0)
                            .fold(f64::NEG_INFINITY, f64::max)
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            joint,
            scalarization,
            best,
        })
    }
}

impl QParEgo<'_> {
    /// One sample's weighted improvement of the candidate's scalarized values `y` over the
    /// sample's best baseline scalarization; writes its gradient in the outcomes to
    /// `outcome_gradient` when one is given.
    fn sample_improvement(
        &self,
        k: usize,
        t: usize,
        y: &[f64],
        outcome_gradient: Option<&mut [f64]>,
    ) -> f64 {
        let m = self.scalarization.objectives();
        let (s, ds) = self.scalarization.value(&y[..m]);
        // With no feasible baseline point in this sample, the scalarization's own floor
        // (s ≥ 0 on the observed range) is the incumbent.
        let best = self.best[k][t];
        let improvement = if best.is_finite() { s - best } else { s };
        if improvement <= 0.0 {
            return 0.0;
        }
        Constraints::weighted_improvement(improvement, &ds, y, outcome_gradient)
    }
}

impl Acquisition for QParEgo<'_> {
    fn evaluate(&self, x: &[f64], with_gradient: bool) -> (f64, Vec<f64>) {
        self.joint
            .mean_improvement(x, with_gradient, None, |k, t, y, gradient| {
                self.sample_improvement(k, t, y, gradient)
            })
    }

    fn evaluate_many(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        self.joint.mean_improvements(xs, None, |k, t, y, gradient| {
            self.sample_improvement(k, t, y, gradient)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::{ExactGp, GpFitOptions};
    use crate::sampling::SobolSampler;
    use rand::SeedableRng;

    #[test]
    fn simplex_draws_sum_to_one() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for m in 1..5 {
            let w = sample_simplex(m, &mut rng);
            assert_eq!(w.len(), m);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12 && w.iter().all(|v| *v >= 0.0));
        }
    }

    #[test]
    fn chebyshev_matches_its_formula_and_gradient() {
        let c = Chebyshev::new(vec![0.3, 0.7], &[vec![0.0, 10.0], vec![2.0, 20.0]]).unwrap();
        // ŷ = (0.5, 0.5): products (0.15, 0.35): min 0.15 + 0.05·0.5.
        let (v, g) = c.value(&[1.0, 15.0]);
        assert!((v - 0.175).abs() < 1e-12);
        assert!(
            (g[0] - 1.05 * 0.3 / 2.0).abs() < 1e-12 && (g[1] - 0.05 * 0.7 / 10.0).abs() < 1e-12
        );
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x = SobolSampler::new(2, 3).unwrap().draw(10).unwrap();
        let f0: Vec<f64> = x.iter().map(|p| -(p[0] - 0.3).powi(2) - p[1]).collect();
        let f1: Vec<f64> = x
            .iter()
            .map(|p| -(p[0] - 0.7).powi(2) + 0.5 * p[1])
            .collect();
        let options = GpFitOptions::default();
        let ens = vec![vec![
            ExactGp::fit(&x, &f0, &options).unwrap(),
            ExactGp::fit(&x, &f1, &options).unwrap(),
        ]];
        let observed: Vec<Vec<f64>> = f0.iter().zip(&f1).map(|(a, b)| vec![*a, *b]).collect();
        let scal = Chebyshev::new(vec![0.4, 0.6], &observed).unwrap();
        let acq = QParEgo::new(&ens, &x, scal, 0, 64, 0).unwrap();
        for cand in [vec![0.5, 0.1], vec![0.2, 0.8]] {
            let (v, g) = acq.evaluate(&cand, true);
            for dd in 0..2 {
                let (mut up, mut down) = (cand.clone(), cand.clone());
                up[dd] += 1e-6;
                down[dd] -= 1e-6;
                let numeric = (acq.evaluate(&up, false).0 - acq.evaluate(&down, false).0) / 2e-6;
                assert!(
                    (numeric - g[dd]).abs() < 1e-3 * numeric.abs().max(v.max(1e-6)),
                    "{numeric} vs {}",
                    g[dd]
                );
            }
        }
    }
}
