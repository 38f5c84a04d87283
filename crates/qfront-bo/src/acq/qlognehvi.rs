//! qLogNEHVI (Ament, Daulton, Eriksson, Balandat & Bakshy, "Unexpected improvements to
//! expected improvement for Bayesian optimization", NeurIPS 2023; BoTorch
//! `qLogNoisyExpectedHypervolumeImprovement`), the drop-in for qNEHVI that methods-spec §4.5
//! recommends: the logarithm of a smoothed Monte-Carlo HVI, whose gradient does not vanish
//! where the improvement is zero in every sample.
//!
//! Per joint sample t, with the cells `[l_k, u_k]` of the region the baseline sample's front
//! does not dominate (`moo::non_dominated_cells`):
//!
//! `log HVI_t = logsumexp_k Σ_i ln softplus_τr(smin_τm(u_ki, y_i) − l_ki)`,
//!
//! `softplus_τ(a) = τ·ln(1 + e^{a/τ})` (BoTorch's τ_relu = 1e-6), `smin_τ(u, y) =
//! −τ·ln(e^{−u/τ} + e^{−y/τ})` (τ_max = 1e-2; `y` itself where `u = ∞`), plus
//! `Σ_c ln sigmoid(slack_c/η)` for constraints, and the acquisition is
//! `logmeanexp_t log HVI_t` over samples and ensemble members. Its gradient is analytic.
//!
//! The log-sum-exp over cells is taken only over the cells that can matter: a cell whose
//! log-volume is bounded (cheaply, one logarithm per coordinate at most) below the leading
//! cell's by more than 60 would weigh under e⁻⁶⁰ and is left out. A candidate improves on few
//! of a sample's cells, and the rest lie far below it in some objective, so at 200
//! observations on three objectives most cells are skipped (BENCHMARKS.md, issue #17,
//! "sixteenth session"); the value and gradient are those of the full sum to 1e-12.

use super::joint::JointSamples;
use super::{Acquisition, ModelEnsemble, CONSTRAINT_ETA};
use crate::moo::{non_dominated_cells, BoxCell};
use crate::Result;

/// BoTorch's smoothing of max(·, 0).
pub const TAU_RELU: f64 = 1e-6;
/// BoTorch's smoothing of min(·, ·).
pub const TAU_MAX: f64 = 1e-2;

/// `ln softplus(z)` and its derivative, stable for any z.
fn log_softplus(z: f64) -> (f64, f64) {
    if z > 30.0 {
        (z.ln(), 1.0 / z)
    } else if z < -30.0 {
        (z, 1.0)
    } else {
        let sp = z.exp().ln_1p();
        let sigmoid = 1.0 / (1.0 + (-z).exp());
        (sp.ln(), sigmoid / sp)
    }
}

/// `ln sigmoid(z)` and its derivative.
fn log_sigmoid(z: f64) -> (f64, f64) {
    if z < -30.0 {
        (z, 1.0)
    } else {
        (-(-z).exp().ln_1p(), 1.0 / (1.0 + z.exp()))
    }
}

/// `(smin_τ(u, y), ∂/∂y)`.
fn smooth_min(u: f64, y: f64) -> (f64, f64) {
    if u.is_infinite() {
        return (y, 1.0);
    }
    let (a, b) = (-u / TAU_MAX, -y / TAU_MAX);
    let top = a.max(b);
    let lse = top + ((a - top).exp() + (b - top).exp()).ln();
    (-TAU_MAX * lse, (b - lse).exp())
}

/// `(logsumexp(values), softmax weights)`.
fn log_sum_exp(values: &[f64]) -> (f64, Vec<f64>) {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return (top, vec![0.0; values.len()]);
    }
    let sum: f64 = values.iter().map(|v| (v - top).exp()).sum();
    let lse = top + sum.ln();
    (lse, values.iter().map(|v| (v - lse).exp()).collect())
}

/// A qLogNEHVI acquisition.
pub struct QLogNehvi<'a> {
    joint: JointSamples<'a>,
    objectives: usize,
    constraints: usize,
    /// `[member][sample]`: the cells of the region the baseline sample's front leaves open.
    cells: Vec<Vec<Vec<BoxCell>>>,
}

impl<'a> QLogNehvi<'a> {
    /// Builds the acquisition over `baseline` (maximization frame, `reference` in it); the
    /// `constraints` models after the objectives are slacks.
    pub fn new(
        models: &'a ModelEnsemble,
        baseline: &[Vec<f64>],
        reference: &[f64],
        constraints: usize,
        mc_samples: usize,
        seed: u64,
    ) -> Result<Self> {
        let m = reference.len();
        let joint = JointSamples::new(
            models,
            baseline,
            m + constraints,
            mc_samples,
            seed ^ 0x6c6f_6768,
        )?;
        let cells = (0..joint.members())
            .map(|k| {
                (0..joint.samples())
                    .map(|t| non_dominated_cells(&joint.feasible_front(k, t, m), reference))
                    .collect()
            })
            .collect();
        Ok(Self {
            joint,
            objectives: m,
            constraints,
            cells,
        })
    }
}

impl QLogNehvi<'_> {
    /// One sample's log improvement of the candidate's values `y` (the smoothed log-volume
    /// it adds to the cells its front leaves open, plus its constraints' log-feasibility) and,
    /// with `with_gradient`, `∂/∂x` through `dy`.
    fn sample_log_improvement(
        &self,
        k: usize,
        t: usize,
        y: &[f64],
        dy: &[f64],
        with_gradient: bool,
    ) -> (f64, Vec<f64>) {
        let m = self.objectives;
        let cells = &self.cells[k][t];
        // Only the cells that can weigh in the log-sum-exp (`cells_that_matter`).
        let kept = cells_that_matter(cells, y);
        let mut logs = Vec::with_capacity(kept.len());
        // ∂(cell log-volume)/∂y_i, cell-major (`kept × m`), filled only with a gradient.
        let mut dlogs = vec![0.0; if with_gradient { kept.len() * m } else { 0 }];
        for (position, &c) in kept.iter().enumerate() {
            let gradient = with_gradient.then(|| &mut dlogs[position * m..(position + 1) * m]);
            logs.push(cell_log_volume(&cells[c], y, gradient));
        }
        let (mut value, weights) = log_sum_exp(&logs);
        let mut dvalue_dy = vec![0.0; m + self.constraints];
        if with_gradient {
            for (w, dl) in weights.iter().zip(dlogs.chunks(m)) {
                for i in 0..m {
                    dvalue_dy[i] += w * dl[i];
                }
            }
        }
        for c in 0..self.constraints {
            let (ls, dls) = log_sigmoid(y[m + c] / CONSTRAINT_ETA);
            value += ls;
            dvalue_dy[m + c] = dls / CONSTRAINT_ETA;
        }
        if !with_gradient {
            return (value, Vec::new());
        }
        let d = dy.len() / (m + self.constraints).max(1);
        let gradient = (0..d)
            .map(|dd| {
                (0..m + self.constraints)
                    .map(|j| dvalue_dy[j] * dy[j * d + dd])
                    .sum()
            })
            .collect();
        (value, gradient)
    }
}

/// A cell's log-volume below which it is left out of a sample's log-sum-exp: it would weigh
/// less than e^-60 ≈ 1e-26 of the largest cell, and even 10⁶ such cells change neither the
/// sum nor its gradient in f64.
const NEGLIGIBLE_LOG_VOLUME: f64 = 60.0;

/// The indices of the `cells` that can weigh in a sample's log-sum-exp at values `y`: those
/// whose [`log_volume_bound`] is at least the exact log-volume of the cell with the largest
/// bound (a lower bound on the largest log-volume) minus [`NEGLIGIBLE_LOG_VOLUME`]. Empty
/// when there are no cells.
fn cells_that_matter(cells: &[BoxCell], y: &[f64]) -> Vec<usize> {
    let bounds: Vec<f64> = cells.iter().map(|cell| log_volume_bound(cell, y)).collect();
    let Some(leading) = (0..cells.len()).max_by(|&a, &b| bounds[a].total_cmp(&bounds[b])) else {
        return Vec::new();
    };
    let floor = cell_log_volume(&cells[leading], y, None) - NEGLIGIBLE_LOG_VOLUME;
    (0..cells.len()).filter(|&c| bounds[c] >= floor).collect()
}

/// The smoothed log-volume a candidate with values `y` adds to `cell`,
/// `Σ_i ln softplus_τr(smin_τm(u_i, y_i) − l_i)`, and, into `gradient` when given, its
/// derivative in each `y_i`.
fn cell_log_volume(cell: &BoxCell, y: &[f64], mut gradient: Option<&mut [f64]>) -> f64 {
    let mut total = 0.0;
    for i in 0..cell.lower.len() {
        let (s, ds) = smooth_min(cell.upper[i], y[i]);
        let (lsp, dlsp) = log_softplus((s - cell.lower[i]) / TAU_RELU);
        total += TAU_RELU.ln() + lsp;
        if let Some(g) = gradient.as_deref_mut() {
            g[i] = dlsp / TAU_RELU * ds;
        }
    }
    total
}

/// An upper bound on [`cell_log_volume`] that needs at most one logarithm per coordinate:
/// with `z = (min(u_i, y_i) − l_i)/τ` (smin ≤ min, and ln softplus is increasing), each term
/// `ln τ + ln softplus(z)` is at most `ln τ + z` where `z < 0` (ln(1 + eᶻ) ≤ eᶻ) and
/// `ln(τ·(z + ln 2))` otherwise (softplus(z) ≤ z + ln 2).
fn log_volume_bound(cell: &BoxCell, y: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..cell.lower.len() {
        let gap = cell.upper[i].min(y[i]) - cell.lower[i];
        total += if gap < 0.0 {
            TAU_RELU.ln() + gap / TAU_RELU
        } else {
            (gap + TAU_RELU * std::f64::consts::LN_2).ln()
        };
    }
    total
}

impl Acquisition for QLogNehvi<'_> {
    fn evaluate(&self, x: &[f64], with_gradient: bool) -> (f64, Vec<f64>) {
        let d = x.len();
        let mut per_sample: Vec<f64> =
            Vec::with_capacity(self.joint.samples() * self.joint.members());
        let mut per_sample_grad: Vec<Vec<f64>> = Vec::new();
        self.joint.for_each(x, with_gradient, None, |k, t, y, dy| {
            let (value, gradient) = self.sample_log_improvement(k, t, y, dy, with_gradient);
            per_sample.push(value);
            if with_gradient {
                per_sample_grad.push(gradient);
            }
        });
        let (lse, weights) = log_sum_exp(&per_sample);
        let value = lse - (per_sample.len() as f64).ln();
        let mut grad = vec![0.0; if with_gradient { d } else { 0 }];
        if with_gradient {
            for (w, g) in weights.iter().zip(&per_sample_grad) {
                for dd in 0..d {
                    grad[dd] += w * g[dd];
                }
            }
        }
        (value, grad)
    }

    fn evaluate_many(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        let samples = self.joint.samples() * self.joint.members();
        self.joint.per_candidate_chunk(xs, |chunk| {
            let mut per_sample = vec![Vec::with_capacity(samples); chunk.len()];
            self.joint.for_each_of_many(chunk, None, |q, k, t, y| {
                per_sample[q].push(self.sample_log_improvement(k, t, y, &[], false).0);
            });
            per_sample
                .iter()
                .map(|values| log_sum_exp(values).0 - (values.len() as f64).ln())
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Qnehvi, QnehviOptions};
    use super::*;
    use crate::gp::{ExactGp, GpFitOptions};
    use crate::sampling::SobolSampler;

    fn models() -> (ModelEnsemble, Vec<Vec<f64>>) {
        let x = SobolSampler::new(2, 5).unwrap().draw(12).unwrap();
        let f0: Vec<f64> = x.iter().map(|p| -(p[0] - 0.2).powi(2) - p[1]).collect();
        let f1: Vec<f64> = x
            .iter()
            .map(|p| -(p[0] - 0.8).powi(2) + 0.3 * p[1])
            .collect();
        let o = GpFitOptions::default();
        (
            vec![vec![
                ExactGp::fit(&x, &f0, &o).unwrap(),
                ExactGp::fit(&x, &f1, &o).unwrap(),
            ]],
            x,
        )
    }

    #[test]
    fn it_is_the_log_of_qnehvi_where_improvement_is_large() {
        let (ens, x) = models();
        let r = [-1.5, -1.0];
        let log_acq = QLogNehvi::new(&ens, &x, &r, 0, 128, 0).unwrap();
        // Same base samples as qNEHVI needs the same seed path; compare with a generous
        // tolerance through the MC average of the same model instead.
        let plain = Qnehvi::new(&ens, &x, &r, &QnehviOptions::default()).unwrap();
        for cand in [vec![0.5, 0.05], vec![0.3, 0.1]] {
            let (lv, _) = log_acq.evaluate(&cand, false);
            let (pv, _) = plain.evaluate(&cand, false);
            assert!(pv > 1e-3, "{pv}");
            assert!((lv - pv.ln()).abs() < 0.25, "{lv} vs ln {pv} = {}", pv.ln());
        }
    }

    #[test]
    fn gradient_matches_finite_differences_and_stays_informative() {
        let (ens, x) = models();
        let acq = QLogNehvi::new(&ens, &x, &[-1.5, -1.0], 0, 64, 1).unwrap();
        for cand in [vec![0.5, 0.05], vec![0.2, 0.9], vec![0.0, 1.0]] {
            let (v, g) = acq.evaluate(&cand, true);
            assert!(v.is_finite(), "{cand:?}: {v}");
            for dd in 0..2 {
                let (mut up, mut down) = (cand.clone(), cand.clone());
                up[dd] = (up[dd] + 1e-6).min(1.0);
                down[dd] = (down[dd] - 1e-6).max(0.0);
                let numeric = (acq.evaluate(&up, false).0 - acq.evaluate(&down, false).0)
                    / (up[dd] - down[dd]);
                assert!(
                    (numeric - g[dd]).abs() < 1e-3 * numeric.abs().max(1.0),
                    "{cand:?} d{dd}: {numeric} vs {}",
                    g[dd]
                );
            }
        }
    }

    /// Against the obviously correct sum over every cell: leaving out the cells whose bound
    /// falls NEGLIGIBLE_LOG_VOLUME below the leading cell changes neither a sample's log
    /// improvement nor its gradient, at candidates that improve a lot, a little, or not at all.
    #[test]
    fn leaving_out_negligible_cells_changes_nothing() {
        let (ens, x) = models();
        let acq = QLogNehvi::new(&ens, &x, &[-1.5, -1.0], 0, 16, 3).unwrap();
        let mut checked = 0;
        let mut pruned = 0;
        for cand in [
            vec![0.5, 0.05],
            vec![0.2, 0.9],
            vec![0.0, 1.0],
            vec![0.9, 0.4],
        ] {
            acq.joint.for_each(&cand, true, None, |k, t, y, dy| {
                let cells = &acq.cells[k][t];
                let m = acq.objectives;
                let mut logs = Vec::new();
                let mut dlogs = vec![0.0; cells.len() * m];
                for (c, cell) in cells.iter().enumerate() {
                    logs.push(cell_log_volume(
                        cell,
                        y,
                        Some(&mut dlogs[c * m..(c + 1) * m]),
                    ));
                    assert!(log_volume_bound(cell, y) >= logs[c] - 1e-9);
                }
                let (slow, weights) = log_sum_exp(&logs);
                let mut slow_dy = vec![0.0; m];
                for (w, dl) in weights.iter().zip(dlogs.chunks(m)) {
                    for i in 0..m {
                        slow_dy[i] += w * dl[i];
                    }
                }
                let d = cand.len();
                let (fast, gradient) = acq.sample_log_improvement(k, t, y, dy, true);
                assert!(
                    (fast - slow).abs() <= 1e-12 * slow.abs().max(1.0),
                    "{fast} vs {slow}"
                );
                for dd in 0..d {
                    let expected: f64 = (0..m).map(|j| slow_dy[j] * dy[j * d + dd]).sum();
                    assert!(
                        (gradient[dd] - expected).abs() <= 1e-12 * expected.abs().max(1e-9),
                        "{} vs {expected}",
                        gradient[dd]
                    );
                }
                pruned += cells.len() - cells_that_matter(cells, y).len();
                checked += 1;
            });
        }
        assert!(
            checked > 0 && pruned > 0,
            "{checked} samples, {pruned} cells left out"
        );
    }
}
