//! The exact GP's log marginal likelihood and its analytic gradient, shared by the MAP fit
//! (`exact.rs`) and the SAAS sampler (`saas.rs`).

use super::cholesky::cholesky_with_jitter;
use super::exact::Hyperparameters;
use super::kernel::matern52_with_derivative_factor;

/// The log marginal likelihood of a GP and its derivatives.
pub(crate) struct MarginalLikelihood {
    /// `ln p(y | θ)`.
    pub value: f64,
    /// `∂/∂ ln ℓ_d`.
    pub d_log_lengthscales: Vec<f64>,
    /// `∂/∂ ln σ²`.
    pub d_log_outputscale: f64,
    /// `∂/∂ σ_n²`.
    pub d_noise: f64,
    /// `∂/∂ μ`.
    pub d_mean: f64,
}

/// The coordinate differences `x_i,d − x_j,d` of every pair `j < i` (packed row by row at
/// `(i(i−1)/2 + j)·d + d'`), computed once per fit: every likelihood evaluation of the fit
/// scales them by its own lengthscales, for both the kernel and the gradient, with the same
/// float operations as `kernel::matern52` (`t = (x − x')/ℓ`, `r² = Σ t²`).
pub(crate) struct PairwiseDifferences {
    differences: Vec<f64>,
    dim: usize,
}

impl PairwiseDifferences {
    /// The differences of the rows of `x`.
    pub(crate) fn new(x: &[Vec<f64>]) -> Self {
        let dim = x.first().map_or(0, Vec::len);
        let mut differences = Vec::with_capacity(x.len() * x.len().saturating_sub(1) / 2 * dim);
        for i in 0..x.len() {
            for j in 0..i {
                differences.extend(x[i].iter().zip(&x[j]).map(|(a, b)| a - b));
            }
        }
        Self { differences, dim }
    }

    /// The differences of pair `p` (`i(i−1)/2 + j`).
    #[inline]
    fn pair(&self, p: usize) -> &[f64] {
        &self.differences[p * self.dim..(p + 1) * self.dim]
    }
}

/// The symmetric kernel matrix `K_f` (row-major, `n×n`) and, for each pair `j < i` (packed
/// row by row at `i(i−1)/2 + j`), the derivative factor of `matern52_with_derivative_factor`:
/// one `exp` per pair for both, where computing them apart took three (the full matrix, then
/// the lower triangle again for the gradient) — the exponentials were a quarter of a
/// 2-objective ask after 200 trials.
fn kernel_and_derivative_factors(
    n: usize,
    pairs: &PairwiseDifferences,
    inv_l: &[f64],
    outputscale: f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut kf = vec![0.0; n * n];
    let mut factors = vec![0.0; n * n.saturating_sub(1) / 2];
    for i in 0..n {
        kf[i * n + i] = outputscale;
        for j in 0..i {
            let p = i * (i - 1) / 2 + j;
            let r2: f64 = pairs
                .pair(p)
                .iter()
                .zip(inv_l)
                .map(|(delta, il)| {
                    let t = delta * il;
                    t * t
                })
                .sum();
            let (value, factor) = matern52_with_derivative_factor(r2, outputscale);
            kf[i * n + j] = value;
            kf[j * n + i] = value;
            factors[p] = factor;
        }
    }
    (kf, factors)
}

/// `ln p(y | X, θ) = −½(y − μ)ᵀK⁻¹(y − μ) − ½ ln|K| − (n/2) ln 2π` with
/// `K = σ²·Matérn52 + σ_n²·I`, and its gradient
/// `∂/∂θ_j = ½·tr((ααᵀ − K⁻¹)·∂K/∂θ_j)`, `α = K⁻¹(y − μ)`. `None` when K cannot be factored.
pub(crate) fn log_marginal_likelihood(
    pairs: &PairwiseDifferences,
    y: &[f64],
    h: &Hyperparameters,
) -> Option<MarginalLikelihood> {
    let (n, d) = (y.len(), pairs.dim);
    let inv_l: Vec<f64> = h.lengthscales.iter().map(|l| 1.0 / l).collect();
    let (kf, factors) = kernel_and_derivative_factors(n, pairs, &inv_l, h.outputscale);
    let mut k = kf.clone();
    for i in 0..n {
        k[i * n + i] += h.noise;
    }
    let chol = cholesky_with_jitter(&k, n).ok()?;
    let centred: Vec<f64> = y.iter().map(|v| v - h.mean).collect();
    let alpha = chol.solve(&centred);
    let data_fit: f64 = centred.iter().zip(&alpha).map(|(a, b)| a * b).sum();
    let value = -0.5 * data_fit
        - 0.5 * chol.log_determinant()
        - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    // W = ααᵀ − K⁻¹.
    let mut w = chol.inverse();
    for i in 0..n {
        for j in 0..n {
            w[i * n + j] = alpha[i] * alpha[j] - w[i * n + j];
        }
    }
    // Lengthscales: ½ Σ_ij W_ij · factor(r_ij)·(Δ_ijd/ℓ_d)²; off-diagonal pairs count twice.
    let mut d_log_lengthscales = vec![0.0; d];
    for i in 0..n {
        for j in 0..i {
            let p = i * (i - 1) / 2 + j;
            let f = factors[p] * w[i * n + j];
            for ((g, delta), il) in d_log_lengthscales.iter_mut().zip(pairs.pair(p)).zip(&inv_l) {
                let t = delta * il;
                *g += f * t * t;
            }
        }
    }
    let trace_wkf: f64 = w.iter().zip(&kf).map(|(a, b)| a * b).sum();
    let trace_w: f64 = (0..n).map(|i| w[i * n + i]).sum();
    Some(MarginalLikelihood {
        value,
        d_log_lengthscales,
        d_log_outputscale: 0.5 * trace_wkf,
        d_noise: 0.5 * trace_w,
        d_mean: alpha.iter().sum(),
    })
}
