//! The gradient of an average over Monte-Carlo samples at one candidate, in reverse mode.
//!
//! A candidate's latent sample is `μ(x) + w(x)ᵀ z_b + s(x) z_x` (`gp::candidate`). An
//! acquisition that averages per-sample values needs `Σ_t c_t ∂latent_t/∂x` for weights `c_t`
//! (the value's derivative in the sample): `a·∂μ + b·∂s + σᵀ∂w` with `a = Σ_t c_t`,
//! `b = Σ_t c_t z_x` and `σ = Σ_t c_t z_b`. Forming `∂w` (`n_b × d`) takes `d` triangular
//! solves against each of the two factors. Here the two solves run once, on the transposed
//! factors, with one right-hand side each:
//!
//! with `v = L⁻¹k(X, x)`, `Σ_bx = k(X_b, x) − V_bᵀv`, `w = L_b⁻¹Σ_bx` and
//! `s² = k(x, x) − vᵀv − wᵀw`,
//! `σᵀ∂w + b·∂s = uᵀ∂k(X_b, x) − pᵀ∂k(X, x)`, where `β = b/s`,
//! `u = L_b⁻ᵀ(σ − βw)` and `p = L⁻ᵀ(V_b u + βv)`.
//!
//! (From `∂s = −(vᵀ∂v + wᵀ∂w)/s`, `∂w = L_b⁻¹∂Σ_bx`, `∂Σ_bx = ∂k(X_b, x) − V_bᵀ∂v` and
//! `∂v = L⁻¹∂k(X, x)`.) A gradient then costs about what the value does, instead of `d + 1`
//! times as much.

use super::candidate::{BaselinePosterior, CandidateTerms, VARIANCE_FLOOR};
use super::exact::ExactGp;
use super::kernel::{matern52_with_derivative_factor, scaled_squared_distance};

/// What [`ExactGp::pull_back`] needs of one candidate beyond its value terms.
#[derive(Debug, Clone, Default)]
pub struct CandidatePullback {
    /// `∂k(X, x)/∂x`, `n × d` row-major.
    kernel_gradient: Vec<f64>,
    /// `∂k(X_b, x)/∂x`, `n_b × d` row-major.
    baseline_kernel_gradient: Vec<f64>,
    /// `v = L⁻¹k(X, x)`.
    v: Vec<f64>,
    /// Whether the conditional variance sat at its floor (then `∂s` is taken as 0).
    variance_floored: bool,
}

impl ExactGp {
    /// The candidate's value terms (`mean`, `w`, `sd`) with `∂μ/∂x` in `mean_grad` (`w_grad`
    /// and `sd_grad` left empty), and what [`ExactGp::pull_back`] needs for the rest.
    pub fn candidate_terms_for_pullback(
        &self,
        baseline: &BaselinePosterior,
        x: &[f64],
    ) -> (CandidateTerms, CandidatePullback) {
        self.candidate_value_terms(baseline, x, true)
    }

    /// The candidate's value terms (`mean`, `w`, `sd`), one right-hand side per solve; with
    /// `for_pullback` also `∂μ/∂x` and the pullback's kernel gradients and `v` (otherwise the
    /// pullback is empty). The value terms are the same bits either way.
    pub(super) fn candidate_value_terms(
        &self,
        baseline: &BaselinePosterior,
        x: &[f64],
        for_pullback: bool,
    ) -> (CandidateTerms, CandidatePullback) {
        let (n, d) = (self.x.len(), self.dim());
        let s2 = self.hyper.outputscale;
        let il = &self.inv_lengthscales;
        let kernel_row = |point: &[f64], values: &mut Vec<f64>, gradient: &mut Vec<f64>| {
            let (value, f) =
                matern52_with_derivative_factor(scaled_squared_distance(x, point, il), s2);
            values.push(value);
            if for_pullback {
                gradient.extend((0..d).map(|dd| -f * (x[dd] - point[dd]) * il[dd] * il[dd]));
            }
        };
        let (mut k, mut kernel_gradient) = (Vec::with_capacity(n), Vec::with_capacity(n * d));
        for xi in &self.x {
            kernel_row(xi, &mut k, &mut kernel_gradient);
        }
        let mean = self.hyper.mean
            + super::exact::trend_at(self.trend.as_ref(), x)
            + k.iter().zip(&self.alpha).map(|(k, a)| k * a).sum::<f64>();
        let mut mean_grad = Vec::new();
        if for_pullback {
            mean_grad = self
                .trend
                .as_ref()
                .map_or_else(|| vec![0.0; d], |t| t.gradient(x));
            for (row, a) in kernel_gradient.chunks_exact(d.max(1)).zip(&self.alpha) {
                for (g, k) in mean_grad.iter_mut().zip(row) {
                    *g += k * a;
                }
            }
        }
        let v = self.cholesky.solve_lower(&k, 1);
        let points = baseline.points();
        let nb = points.len();
        let (mut sigma, mut baseline_kernel_gradient) =
            (Vec::with_capacity(nb), Vec::with_capacity(nb * d));
        for xb in points {
            kernel_row(xb, &mut sigma, &mut baseline_kernel_gradient);
        }
        // Σ_bx = k(X_b, x) − V_bᵀ·v, a row of V_b at a time.
        for (baseline_row, &vi) in baseline.v_baseline().chunks_exact(nb.max(1)).zip(&v) {
            for (s, &vb) in sigma.iter_mut().zip(baseline_row) {
                *s -= vb * vi;
            }
        }
        let w = baseline.factor.solve_lower(&sigma, 1);
        let vv: f64 = v.iter().map(|a| a * a).sum();
        let ww: f64 = w.iter().map(|a| a * a).sum();
        let variance = s2 - vv - ww;
        let terms = CandidateTerms {
            mean,
            mean_grad,
            w,
            sd: variance.max(VARIANCE_FLOOR).sqrt(),
            ..CandidateTerms::default()
        };
        if !for_pullback {
            return (terms, CandidatePullback::default());
        }
        let pullback = CandidatePullback {
            kernel_gradient,
            baseline_kernel_gradient,
            v,
            variance_floored: variance <= VARIANCE_FLOOR,
        };
        (terms, pullback)
    }

    /// Adds `on_mean·∂μ + on_sd·∂s + on_baselineᵀ·∂w` (the sample-weighted sums of the module
    /// notes) to `gradient`, from the candidate's terms and pullback.
    #[allow(clippy::too_many_arguments)]
    pub fn pull_back(
        &self,
        baseline: &BaselinePosterior,
        terms: &CandidateTerms,
        pullback: &CandidatePullback,
        on_mean: f64,
        on_sd: f64,
        on_baseline: &[f64],
        gradient: &mut [f64],
    ) {
        let d = gradient.len();
        for (g, mean_grad) in gradient.iter_mut().zip(&terms.mean_grad) {
            *g += on_mean * mean_grad;
        }
        let beta = if pullback.variance_floored {
            0.0
        } else {
            on_sd / terms.sd
        };
        if beta == 0.0 && on_baseline.iter().all(|s| *s == 0.0) {
            return;
        }
        let r: Vec<f64> = on_baseline
            .iter()
            .zip(&terms.w)
            .map(|(s, w)| s - beta * w)
            .collect();
        let u = baseline.factor.solve_upper_transposed(&r);
        for (row, ub) in pullback
            .baseline_kernel_gradient
            .chunks_exact(d.max(1))
            .zip(&u)
        {
            for (g, k) in gradient.iter_mut().zip(row) {
                *g += ub * k;
            }
        }
        let nb = u.len();
        let q: Vec<f64> = baseline
            .v_baseline()
            .chunks_exact(nb.max(1))
            .zip(&pullback.v)
            .map(|(row, vi)| row.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>() + beta * vi)
            .collect();
        let p = self.cholesky.solve_upper_transposed(&q);
        for (row, pi) in pullback.kernel_gradient.chunks_exact(d.max(1)).zip(&p) {
            for (g, k) in gradient.iter_mut().zip(row) {
                *g -= pi * k;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExactGp, GpFitOptions, YeoJohnson};
    use crate::sampling::SobolSampler;

    /// The pullback equals the forward terms' chain rule `a·∂μ + b·∂s + σᵀ∂w` (every
    /// derivative formed, `gp::candidate`) for random weights, with a trend and a warp fitted
    /// on 3-D inputs, at candidates near and far from the data; the value terms agree too.
    #[test]
    fn the_pullback_is_the_forward_chain_rule() {
        let x = SobolSampler::new(3, 2).unwrap().draw(18).unwrap();
        let y: Vec<f64> = x
            .iter()
            .map(|p| -(3.0 * p[0] + p[1]).exp() + 0.5 * p[2])
            .collect();
        let warp = YeoJohnson::fit(&y);
        let warped: Vec<f64> = y.iter().map(|v| warp.apply(*v)).collect();
        let options = GpFitOptions {
            quadratic_trend: true,
            ..GpFitOptions::default()
        };
        let gp = ExactGp::fit(&x, &warped, &options).unwrap();
        let baseline_points = SobolSampler::new(3, 8).unwrap().draw(9).unwrap();
        let baseline = gp.baseline_posterior(&baseline_points).unwrap();
        let weights = SobolSampler::new(11, 4).unwrap().draw_normal(6).unwrap();
        let mut candidates = SobolSampler::new(3, 13).unwrap().draw(5).unwrap();
        candidates.push(x[3].clone());
        candidates.push(baseline_points[2].clone());
        for (candidate, weight) in candidates.iter().zip(&weights) {
            let forward = gp.candidate_terms(&baseline, candidate, true);
            let (terms, pullback) = gp.candidate_terms_for_pullback(&baseline, candidate);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
            assert!(close(terms.mean, forward.mean) && close(terms.sd, forward.sd));
            for (a, b) in terms.w.iter().zip(&forward.w) {
                assert!(close(*a, *b));
            }
            let (on_mean, on_sd, on_baseline) = (weight[0], weight[1], &weight[2..]);
            let mut want = vec![0.0; 3];
            for dd in 0..3 {
                want[dd] = on_mean * forward.mean_grad[dd] + on_sd * forward.sd_grad[dd];
                for (b, s) in on_baseline.iter().enumerate() {
                    want[dd] += s * forward.w_grad[b * 3 + dd];
                }
            }
            let mut got = vec![0.0; 3];
            gp.pull_back(
                &baseline,
                &terms,
                &pullback,
                on_mean,
                on_sd,
                on_baseline,
                &mut got,
            );
            for (g, w) in got.iter().zip(&want) {
                assert!(close(*g, *w), "{candidate:?}: {got:?} vs {want:?}");
            }
        }
    }
}
