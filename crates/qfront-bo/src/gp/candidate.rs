//! The posterior of one candidate point jointly with a fixed set of baseline points, and its
//! gradient in the candidate: what the cached-root qNEHVI needs (methods-spec §4.5,
//! `cache_root`). With the baseline's posterior covariance factored once, `Σ_bb = L_b·L_bᵀ`,
//! a joint sample is
//!
//! `f(b) = μ_b + L_b·z_b`, `f(x) = μ_x + wᵀ·z_b + s·z_x`, with `w = L_b⁻¹·Σ_bx` and
//! `s² = σ²_x − wᵀw`,
//!
//! so the baseline's samples (and their Pareto fronts) stay fixed while `x` moves. All values
//! here are on the standardized output scale; [`ExactGp::output_scale`] maps them back.

use super::cholesky::{cholesky_with_jitter, Cholesky};
use super::exact::{column_squared_norms, ExactGp};
use super::kernel::{matern52_matrix, matern52_with_derivative_factor, scaled_squared_distance};
use super::vector_state::after_wide_kernels;
use crate::Result;
use faer::MatRef;

/// Candidates per block of [`ExactGp::candidate_terms_many`]: 256 candidates against 1,000
/// training points keep each block's matrices near 2 MB.
pub(crate) const CANDIDATE_CHUNK: usize = 256;

/// The floor of a candidate's conditional variance (standardized units); at the floor its
/// standard deviation's gradient is taken as 0.
pub(super) const VARIANCE_FLOOR: f64 = 1e-12;

/// The baseline part of the joint posterior, computed once per acquisition.
#[derive(Debug, Clone)]
pub struct BaselinePosterior {
    points: Vec<Vec<f64>>,
    /// `V_b = L⁻¹·K(X_train, X_b)`, `n_train × n_b` row-major.
    v_baseline: Vec<f64>,
    /// Posterior means at the baseline (standardized).
    pub mean: Vec<f64>,
    /// The factor of the baseline's posterior covariance.
    pub factor: Cholesky,
}

impl BaselinePosterior {
    /// The baseline points.
    pub(super) fn points(&self) -> &[Vec<f64>] {
        &self.points
    }

    /// `V_b = L⁻¹·K(X_train, X_b)`, `n_train × n_b` row-major.
    pub(super) fn v_baseline(&self) -> &[f64] {
        &self.v_baseline
    }

    /// Standardized joint samples at every baseline point for `k` draws of normals: `z` is
    /// `n_b × k` row-major (column `s` = draw `s`), the result `μ + L·z`, `n_b × k` row-major.
    pub fn samples(&self, z: &[f64], k: usize) -> Vec<f64> {
        let mut out = self.factor.lower_times(z, k);
        for (row, mean) in out.chunks_mut(k.max(1)).zip(&self.mean) {
            for value in row {
                *value += mean;
            }
        }
        out
    }

    /// The standardized sample at baseline point `a` for the normals `z` (one per baseline
    /// point): `μ_a + Σ_{b ≤ a} L_ab·z_b`.
    pub fn sample_at(&self, a: usize, z: &[f64]) -> f64 {
        self.mean[a] + (0..=a).map(|b| self.factor.lower(a, b) * z[b]).sum::<f64>()
    }
}

/// The candidate's terms of the joint sample and their gradients in the candidate.
#[derive(Debug, Clone, Default)]
pub struct CandidateTerms {
    /// Posterior mean μ_x.
    pub mean: f64,
    /// `∂μ_x/∂x`.
    pub mean_grad: Vec<f64>,
    /// `w = L_b⁻¹·Σ_bx` (length n_b).
    pub w: Vec<f64>,
    /// `∂w/∂x`, `n_b × d` row-major.
    pub w_grad: Vec<f64>,
    /// Conditional standard deviation `s`.
    pub sd: f64,
    /// `∂s/∂x`.
    pub sd_grad: Vec<f64>,
}

impl ExactGp {
    /// `(offset, scale)`: an output on the original scale is `offset + scale·standardized`.
    pub fn output_scale(&self) -> (f64, f64) {
        (self.y_offset, self.y_scale)
    }

    /// A standardized latent sample as an output: `offset + scale·latent`, then the inverse of
    /// the output warp where the GP has one ([`ExactGp::with_output_warp`]). Every
    /// Monte-Carlo acquisition forms its samples here (or in [`ExactGp::to_output`] when it
    /// needs the gradient too).
    #[inline]
    pub fn to_output_value(&self, latent: f64) -> f64 {
        let value = self.y_offset + self.y_scale * latent;
        match &self.output_warp {
            None => value,
            Some(warp) => warp.invert_value(value),
        }
    }

    /// The standardized latent value whose output is `value`: the inverse of
    /// [`ExactGp::to_output_value`] (the warp applied, then the standardization). Outputs are
    /// strictly increasing in latents (except where the warp's inverse is clamped, more than
    /// a million standard deviations out), so `to_output_value(latent) > value` exactly when
    /// `latent > latent_of_output(value)` (up to rounding): comparisons with a fixed output
    /// (a reference point) can be made on latent samples without undoing the warp.
    pub fn latent_of_output(&self, value: f64) -> f64 {
        let warped = match &self.output_warp {
            None => value,
            Some(warp) => warp.apply(value),
        };
        (warped - self.y_offset) / self.y_scale
    }

    /// `(output, ∂output/∂latent)` for a standardized latent value (see
    /// [`ExactGp::to_output_value`] for the value alone).
    pub fn to_output(&self, latent: f64) -> (f64, f64) {
        let value = self.y_offset + self.y_scale * latent;
        match &self.output_warp {
            None => (value, self.y_scale),
            Some(warp) => {
                let (raw, derivative) = warp.invert(value);
                (raw, derivative * self.y_scale)
            }
        }
    }

    /// Prepares the joint posterior with `baseline` (its mean and covariance factor).
    pub fn baseline_posterior(&self, baseline: &[Vec<f64>]) -> Result<BaselinePosterior> {
        let (n, nb) = (self.x.len(), baseline.len());
        let k_tb = self.cross_covariance(baseline);
        let v_baseline = self.cholesky.solve_lower(&k_tb, nb);
        let mean = self.standardized_means(&k_tb, baseline);
        let k_bb = matern52_matrix(
            baseline,
            baseline,
            &self.inv_lengthscales,
            self.hyper.outputscale,
        );
        // Σ_bb = K_bb − V_bᵀ·V_b, the product by faer (the scalar loop it replaces was a
        // tenth of an ask after 200 trials), kept exactly symmetric from its lower triangle.
        let product = {
            let v = MatRef::from_row_major_slice(&v_baseline, n, nb);
            after_wide_kernels(|| v.transpose() * v)
        };
        let mut cov = vec![0.0; nb * nb];
        for a in 0..nb {
            for b in 0..=a {
                cov[a * nb + b] = k_bb[a * nb + b] - product[(a, b)];
                cov[b * nb + a] = cov[a * nb + b];
            }
        }
        let factor = cholesky_with_jitter(&cov, nb)?;
        Ok(BaselinePosterior {
            points: baseline.to_vec(),
            v_baseline,
            mean,
            factor,
        })
    }

    /// The value-only terms of many candidates at once, equal to [`ExactGp::candidate_terms`]
    /// without gradients up to rounding. The per-candidate path solves `L·v = k(X, x)` and
    /// `L_b·w = Σ_bx` one right-hand side at a time, streaming both factors from memory per
    /// candidate; here the candidates are the columns of one triangular solve and `V_bᵀ·V`
    /// is one matrix product (chunks of `CANDIDATE_CHUNK`). The acquisition optimizer's raw
    /// samples (about a thousand per ask) go through here.
    pub fn candidate_terms_many(
        &self,
        baseline: &BaselinePosterior,
        xs: &[Vec<f64>],
    ) -> Vec<CandidateTerms> {
        let mut all = Vec::with_capacity(xs.len());
        for chunk in xs.chunks(CANDIDATE_CHUNK) {
            all.extend(self.candidate_terms_chunk(baseline, chunk));
        }
        all
    }

    fn candidate_terms_chunk(
        &self,
        baseline: &BaselinePosterior,
        xs: &[Vec<f64>],
    ) -> Vec<CandidateTerms> {
        let (n, nb, c) = (self.x.len(), baseline.points.len(), xs.len());
        let s2 = self.hyper.outputscale;
        let k_block = self.cross_covariance(xs);
        let means = self.standardized_means(&k_block, xs);
        let v_block = self.cholesky.solve_lower(&k_block, c);
        // Σ_b,xs = K(X_b, xs) − V_bᵀ·V.
        let cross = {
            let v_baseline = MatRef::from_row_major_slice(&baseline.v_baseline, n, nb);
            let v = MatRef::from_row_major_slice(&v_block, n, c);
            after_wide_kernels(|| v_baseline.transpose() * v)
        };
        let mut sigma_block = matern52_matrix(&baseline.points, xs, &self.inv_lengthscales, s2);
        for (b, row) in sigma_block.chunks_exact_mut(c).enumerate() {
            for (q, value) in row.iter_mut().enumerate() {
                *value -= cross[(b, q)];
            }
        }
        let w_block = baseline.factor.solve_lower(&sigma_block, c);
        let vv = column_squared_norms(&v_block, c);
        let ww = column_squared_norms(&w_block, c);
        (0..c)
            .map(|q| CandidateTerms {
                mean: means[q],
                w: (0..nb).map(|b| w_block[b * c + q]).collect(),
                sd: (s2 - vv[q] - ww[q]).max(VARIANCE_FLOOR).sqrt(),
                ..CandidateTerms::default()
            })
            .collect()
    }

    /// The candidate's terms (and, with `with_gradient`, their gradients, every `∂w` formed:
    /// the forward mode qLogNEHVI's per-sample gradients need) against `baseline`. Without
    /// gradients these are `ExactGp::candidate_value_terms`'s.
    pub fn candidate_terms(
        &self,
        baseline: &BaselinePosterior,
        x: &[f64],
        with_gradient: bool,
    ) -> CandidateTerms {
        if !with_gradient {
            return self.candidate_value_terms(baseline, x, false).0;
        }
        let (n, nb, d) = (self.x.len(), baseline.points.len(), self.dim());
        let s2 = self.hyper.outputscale;
        let il = &self.inv_lengthscales;
        // Kernel vector to the training points and its gradient (n, n × d).
        let cols = d + 1;
        let mut k_block = vec![0.0; n * cols];
        for (i, xi) in self.x.iter().enumerate() {
            // Value and derivative factor from one `exp`.
            let (value, f) =
                matern52_with_derivative_factor(scaled_squared_distance(x, xi, il), s2);
            k_block[i * cols] = value;
            for dd in 0..d {
                k_block[i * cols + 1 + dd] = -f * (x[dd] - xi[dd]) * il[dd] * il[dd];
            }
        }
        let mean = self.hyper.mean
            + super::exact::trend_at(self.trend.as_ref(), x)
            + (0..n)
                .map(|i| k_block[i * cols] * self.alpha[i])
                .sum::<f64>();
        let v_block = self.cholesky.solve_lower(&k_block, cols);
        // Σ_bx = k(X_b, x) − V_bᵀ·[v, ∂v], built transposed: row `c` of `columns` is column
        // `c` over the baseline's points, so the subtraction is `cols` AXPYs along them,
        // taking `V_b` a contiguous row at a time. Each element still receives its `n` terms
        // `V_b[i, b]·v[i, c]` in the order of `i`, so the result is the plain triple loop's
        // to the bit (a GEMM would sum in another order and move trajectories); as a triple
        // loop reading `V_b` down its columns it was a quarter of an ask after 200 trials on
        // 7 inputs and 3 objectives (design notes, "A 7-input, 3-objective ask").
        let mut columns = vec![0.0; cols * nb];
        for (b, xb) in baseline.points.iter().enumerate() {
            let (value, f) =
                matern52_with_derivative_factor(scaled_squared_distance(x, xb, il), s2);
            columns[b] = value;
            for dd in 0..d {
                columns[(1 + dd) * nb + b] = -f * (x[dd] - xb[dd]) * il[dd] * il[dd];
            }
        }
        // `chunks_exact` refuses a length of 0; with no baseline there is nothing to subtract.
        let row_length = nb.max(1);
        for (v_row, baseline_row) in v_block
            .chunks_exact(cols)
            .zip(baseline.v_baseline.chunks_exact(row_length))
            .take(n)
        {
            for (column, &v) in columns.chunks_exact_mut(row_length).zip(v_row) {
                for (sigma, &vb) in column.iter_mut().zip(baseline_row) {
                    *sigma -= vb * v;
                }
            }
        }
        let mut sigma_block = vec![0.0; nb * cols];
        for (b, row) in sigma_block.chunks_exact_mut(cols).enumerate() {
            for (c, value) in row.iter_mut().enumerate() {
                *value = columns[c * nb + b];
            }
        }
        let w_block = baseline.factor.solve_lower(&sigma_block, cols);
        let vv: f64 = (0..n).map(|i| v_block[i * cols].powi(2)).sum();
        let ww: f64 = (0..nb).map(|b| w_block[b * cols].powi(2)).sum();
        let var = (s2 - vv - ww).max(VARIANCE_FLOOR);
        let sd = var.sqrt();
        let mut terms = CandidateTerms {
            mean,
            w: (0..nb).map(|b| w_block[b * cols]).collect(),
            sd,
            ..CandidateTerms::default()
        };
        let trend_gradient = self.trend.as_ref().map(|t| t.gradient(x));
        terms.mean_grad = (0..d)
            .map(|dd| {
                trend_gradient.as_ref().map_or(0.0, |g| g[dd])
                    + (0..n)
                        .map(|i| k_block[i * cols + 1 + dd] * self.alpha[i])
                        .sum::<f64>()
            })
            .collect();
        terms.w_grad = (0..nb)
            .flat_map(|b| (0..d).map(move |dd| (b, dd)))
            .map(|(b, dd)| w_block[b * cols + 1 + dd])
            .collect();
        terms.sd_grad = (0..d)
            .map(|dd| {
                if s2 - vv - ww <= VARIANCE_FLOOR {
                    return 0.0;
                }
                let dvv: f64 = (0..n)
                    .map(|i| v_block[i * cols] * v_block[i * cols + 1 + dd])
                    .sum();
                let dww: f64 = (0..nb)
                    .map(|b| w_block[b * cols] * w_block[b * cols + 1 + dd])
                    .sum();
                -(dvv + dww) / sd
            })
            .collect();
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExactGp, GpFitOptions};
    use crate::sampling::SobolSampler;

    /// A GP fitted on Yeo–Johnson-warped values answers in the values' own units: its
    /// posterior mean at the training points, through `to_output`, is the data (which span
    /// three orders of magnitude), and `to_output`'s derivative matches a central difference.
    /// The values are an exploding loss, maximized as its negative: a long low tail.
    #[test]
    fn a_warped_gp_answers_in_the_objective_units() {
        let x = SobolSampler::new(2, 5).unwrap().draw(24).unwrap();
        let y: Vec<f64> = x.iter().map(|p| -(7.0 * p[0] + p[1]).exp()).collect();
        let warp = super::super::YeoJohnson::fit(&y);
        assert!(
            warp.lambda > 1.0,
            "exp-shaped data should be warped: {warp:?}"
        );
        let warped: Vec<f64> = y.iter().map(|v| warp.apply(*v)).collect();
        let gp = ExactGp::fit(&x, &warped, &GpFitOptions::default())
            .unwrap()
            .with_output_warp(warp);
        let (mean, _) = gp.predict(&x);
        let (offset, scale) = gp.output_scale();
        let range = y.iter().fold(0f64, |a, v| a.max(v.abs()));
        for (m, want) in mean.iter().zip(&y) {
            // The warped-frame mean (≈ −2..2) mapped back: within 25% of each value (the MAP
            // fit smooths a little) and 1% of the range.
            let (got, _) = gp.to_output((m - offset) / scale);
            assert!(
                (got - want).abs() < 0.25 * want.abs() + 0.01 * range,
                "{got} vs {want} (warped mean {m})"
            );
        }
        let latent = 0.3;
        let h = 1e-6;
        let numeric = (gp.to_output(latent + h).0 - gp.to_output(latent - h).0) / (2.0 * h);
        let (_, derivative) = gp.to_output(latent);
        assert!((numeric - derivative).abs() < 1e-4 * derivative.abs().max(1.0));
        // `latent_of_output` undoes `to_output_value` and orders latents as outputs are
        // ordered, wherever the inverse warp is not clamped (here λ > 2, so the warp is
        // bounded below and latents under about −2 map to the clamp).
        let clamp = warp.offset - super::super::outcome_warp::INVERSE_LIMIT * warp.scale;
        let (mut last, mut unclamped) = (f64::NEG_INFINITY, 0);
        for k in -40..=40 {
            let latent = k as f64 / 10.0;
            let output = gp.to_output_value(latent);
            assert!(output >= last, "outputs never decrease as latents grow");
            if output > clamp {
                assert!(output > last, "outputs increase with latents");
                let back = gp.latent_of_output(output);
                assert!((back - latent).abs() < 1e-9, "{back} vs {latent}");
                unclamped += 1;
            }
            last = output;
        }
        assert!(
            unclamped > 50,
            "most latents are off the clamp: {unclamped}"
        );
    }

    #[test]
    fn terms_reproduce_the_joint_posterior_and_their_gradients_are_right() {
        let x = SobolSampler::new(3, 4).unwrap().draw(15).unwrap();
        let y: Vec<f64> = x
            .iter()
            .map(|p| (4.0 * p[0]).cos() + p[1] - p[2] * p[2])
            .collect();
        check_terms(&ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap(), &x);
    }

    /// The same checks for a GP over a quadratic trend (the trend's value and gradient enter
    /// the mean and its gradient).
    #[test]
    fn terms_over_a_quadratic_trend_are_right() {
        let x = SobolSampler::new(3, 4).unwrap().draw(15).unwrap();
        let y: Vec<f64> = x
            .iter()
            .map(|p| 0.2 * (4.0 * p[0]).cos() + p[1] - 2.0 * (p[2] - 0.3).powi(2))
            .collect();
        let options = GpFitOptions {
            quadratic_trend: true,
            ..GpFitOptions::default()
        };
        let gp = ExactGp::fit(&x, &y, &options).unwrap();
        assert!(gp.trend().is_some(), "the trend halves the GCV error here");
        check_terms(&gp, &x);
    }

    fn check_terms(gp: &ExactGp, x: &[Vec<f64>]) {
        let baseline: Vec<Vec<f64>> = x[..6].to_vec();
        let base = gp.baseline_posterior(&baseline).unwrap();
        let cand = vec![0.31, 0.72, 0.45];
        let t = gp.candidate_terms(&base, &cand, true);
        // Against the joint posterior of baseline ∪ {x}.
        let (off, scale) = gp.output_scale();
        let joint = gp.posterior(&[baseline.clone(), vec![cand.clone()]].concat());
        let nb = baseline.len();
        let m = nb + 1;
        assert!(((off + scale * t.mean) - joint.mean[nb]).abs() < 1e-9);
        let var_x = joint.covariance[nb * m + nb] / (scale * scale);
        let explained: f64 = t.w.iter().map(|w| w * w).sum();
        assert!((t.sd * t.sd + explained - var_x).abs() < 1e-9);
        // Cross covariances: L_b·w = Σ_bx.
        for a in 0..nb {
            let lw: f64 = (0..=a).map(|b| base.factor.lower(a, b) * t.w[b]).sum();
            assert!((lw - joint.covariance[a * m + nb] / (scale * scale)).abs() < 1e-8);
        }
        // Gradients against central differences.
        let h = 1e-6;
        for dd in 0..3 {
            let (mut up, mut down) = (cand.clone(), cand.clone());
            up[dd] += h;
            down[dd] -= h;
            let (tu, td) = (
                gp.candidate_terms(&base, &up, false),
                gp.candidate_terms(&base, &down, false),
            );
            let close = |numeric: f64, analytic: f64| {
                (numeric - analytic).abs() < 1e-5 * numeric.abs().max(1.0)
            };
            assert!(close((tu.mean - td.mean) / (2.0 * h), t.mean_grad[dd]));
            assert!(close((tu.sd - td.sd) / (2.0 * h), t.sd_grad[dd]));
            for b in 0..nb {
                assert!(close((tu.w[b] - td.w[b]) / (2.0 * h), t.w_grad[b * 3 + dd]));
            }
        }
    }
}
