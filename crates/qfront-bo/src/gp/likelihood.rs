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

/// The training inputs stored by coordinate (`columns[d][i] = x_i,d`), built once per fit.
///
/// Every likelihood evaluation walks the pairs `j < i` row by row: for row `i` the scaled
/// squared distances to all earlier rows are accumulated coordinate by coordinate over
/// contiguous columns, a loop the compiler vectorizes, with the same float operations as
/// `kernel::matern52` (`t = (x − x')/ℓ`, `r² = Σ t²` in coordinate order). The columns take
/// `n·d` values, where the pairwise differences stored before took `n(n−1)/2·d` (955 kB at
/// 200 points in 6 dimensions, more than the L2 cache, read twice per evaluation).
pub(crate) struct InputColumns {
    columns: Vec<Vec<f64>>,
    rows: usize,
}

impl InputColumns {
    /// The columns of the rows of `x`.
    pub(crate) fn new(x: &[Vec<f64>]) -> Self {
        let dim = x.first().map_or(0, Vec::len);
        let columns = (0..dim)
            .map(|d| x.iter().map(|row| row[d]).collect())
            .collect();
        Self {
            columns,
            rows: x.len(),
        }
    }

    /// Writes `r²(x_i, x_j)` for every `j < i` into `squared[..i]`.
    #[inline]
    fn squared_distances_to_earlier(&self, i: usize, inv_l: &[f64], squared: &mut [f64]) {
        let squared = &mut squared[..i];
        squared.iter_mut().for_each(|v| *v = 0.0);
        for (column, il) in self.columns.iter().zip(inv_l) {
            let xi = column[i];
            for (r2, xj) in squared.iter_mut().zip(&column[..i]) {
                let t = (xi - xj) * il;
                *r2 += t * t;
            }
        }
    }
}

/// The symmetric kernel matrix `K_f` (row-major, `n×n`) and, for each pair `j < i` (packed
/// row by row at `i(i−1)/2 + j`), the derivative factor of `matern52_with_derivative_factor`:
/// one `exp` per pair for both, where computing them apart took three (the full matrix, then
/// the lower triangle again for the gradient) — the exponentials were a quarter of a
/// 2-objective ask after 200 trials.
fn kernel_and_derivative_factors(
    inputs: &InputColumns,
    inv_l: &[f64],
    outputscale: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = inputs.rows;
    let mut kf = vec![0.0; n * n];
    let mut factors = vec![0.0; n * n.saturating_sub(1) / 2];
    let mut squared = vec![0.0; n];
    for i in 0..n {
        kf[i * n + i] = outputscale;
        inputs.squared_distances_to_earlier(i, inv_l, &mut squared);
        let row_start = i * i.saturating_sub(1) / 2;
        let row_factors = &mut factors[row_start..row_start + i];
        let row = &mut kf[i * n..i * n + i];
        for ((r2, value), factor) in squared[..i].iter().zip(row).zip(row_factors) {
            (*value, *factor) = matern52_with_derivative_factor(*r2, outputscale);
        }
        for j in 0..i {
            kf[j * n + i] = kf[i * n + j];
        }
    }
    (kf, factors)
}

/// `ln p(y | X, θ) = −½(y − μ)ᵀK⁻¹(y − μ) − ½ ln|K| − (n/2) ln 2π` with
/// `K = σ²·Matérn52 + σ_n²·I`, and its gradient
/// `∂/∂θ_j = ½·tr((ααᵀ − K⁻¹)·∂K/∂θ_j)`, `α = K⁻¹(y − μ)`. `None` when K cannot be factored.
pub(crate) fn log_marginal_likelihood(
    inputs: &InputColumns,
    y: &[f64],
    h: &Hyperparameters,
) -> Option<MarginalLikelihood> {
    let (n, d) = (y.len(), inputs.columns.len());
    let inv_l: Vec<f64> = h.lengthscales.iter().map(|l| 1.0 / l).collect();
    let (kf, factors) = kernel_and_derivative_factors(inputs, &inv_l, h.outputscale);
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
    // Summed pair by pair in the order (i, j) for every coordinate, as the packed pairwise
    // differences did before (bit for bit).
    let mut d_log_lengthscales = vec![0.0; d];
    let mut weights = vec![0.0; n];
    for i in 1..n {
        let row_start = i * (i - 1) / 2;
        for ((weight, factor), w_ij) in weights[..i]
            .iter_mut()
            .zip(&factors[row_start..row_start + i])
            .zip(&w[i * n..i * n + i])
        {
            *weight = factor * w_ij;
        }
        for ((g, column), il) in d_log_lengthscales
            .iter_mut()
            .zip(&inputs.columns)
            .zip(&inv_l)
        {
            let xi = column[i];
            for (f, xj) in weights[..i].iter().zip(&column[..i]) {
                let t = (xi - xj) * il;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::kernel::matern52;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The likelihood and its gradient from the definitions, one entry at a time: the full
    /// kernel matrix by `kernel::matern52`, `K⁻¹` column by column from the Cholesky solve,
    /// and `∂K/∂ln ℓ_d` by central differences of the kernel itself.
    fn slow_reference(x: &[Vec<f64>], y: &[f64], h: &Hyperparameters) -> (f64, Vec<f64>, f64, f64) {
        let n = y.len();
        let d = x[0].len();
        let kernel = |inv_l: &[f64], a: &[f64], b: &[f64]| matern52(a, b, inv_l, h.outputscale);
        let inv_l: Vec<f64> = h.lengthscales.iter().map(|l| 1.0 / l).collect();
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                k[i * n + j] = kernel(&inv_l, &x[i], &x[j]) + if i == j { h.noise } else { 0.0 };
            }
        }
        let chol = cholesky_with_jitter(&k, n).unwrap();
        let centred: Vec<f64> = y.iter().map(|v| v - h.mean).collect();
        let alpha = chol.solve(&centred);
        let value = -0.5 * centred.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>()
            - 0.5 * chol.log_determinant()
            - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
        let mut inverse = vec![0.0; n * n];
        for j in 0..n {
            let unit: Vec<f64> = (0..n).map(|i| if i == j { 1.0 } else { 0.0 }).collect();
            for (i, v) in chol.solve(&unit).into_iter().enumerate() {
                inverse[i * n + j] = v;
            }
        }
        let w = |i: usize, j: usize| alpha[i] * alpha[j] - inverse[i * n + j];
        let mut gradient = vec![0.0; d];
        for (dd, g) in gradient.iter_mut().enumerate() {
            let step = 1e-6;
            let shifted = |s: f64| -> Vec<f64> {
                let mut v = inv_l.clone();
                v[dd] *= (-s).exp(); // ln ℓ_d + s
                v
            };
            let (up, down) = (shifted(step), shifted(-step));
            for i in 0..n {
                for j in 0..n {
                    let dk =
                        (kernel(&up, &x[i], &x[j]) - kernel(&down, &x[i], &x[j])) / (2.0 * step);
                    *g += 0.5 * w(i, j) * dk;
                }
            }
        }
        let d_outputscale: f64 = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| 0.5 * w(i, j) * (k[i * n + j] - if i == j { h.noise } else { 0.0 }))
            .sum();
        let d_noise: f64 = (0..n).map(|i| 0.5 * w(i, i)).sum();
        (value, gradient, d_outputscale, d_noise)
    }

    #[test]
    fn matches_the_definitions() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut uniform = || rng.gen::<f64>();
        let (n, d) = (23, 5);
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..d).map(|_| uniform()).collect())
            .collect();
        let y: Vec<f64> = x.iter().map(|p| (3.0 * p[0]).sin() + p[1] * p[3]).collect();
        let inputs = InputColumns::new(&x);
        // Lengthscales from inactive (1e3, as SAAS reaches) to very short (1e-2).
        for lengthscales in [
            vec![0.3, 0.5, 0.8, 1.2, 2.0],
            vec![1e3, 0.05, 1e3, 1e-2, 7.0],
            vec![40.0, 40.0, 0.2, 40.0, 1e3],
        ] {
            let h = Hyperparameters {
                lengthscales,
                outputscale: 1.7,
                noise: 0.03,
                mean: 0.1,
            };
            let fast = log_marginal_likelihood(&inputs, &y, &h).unwrap();
            let (value, gradient, d_outputscale, d_noise) = slow_reference(&x, &y, &h);
            let close =
                |a: f64, b: f64, tolerance: f64| (a - b).abs() <= tolerance * b.abs().max(1.0);
            assert!(close(fast.value, value, 1e-12), "{} vs {value}", fast.value);
            for (dd, (a, b)) in fast.d_log_lengthscales.iter().zip(&gradient).enumerate() {
                assert!(
                    close(*a, *b, 1e-6),
                    "ℓ_{dd}: {a} vs {b} ({:?})",
                    h.lengthscales
                );
            }
            assert!(close(fast.d_log_outputscale, d_outputscale, 1e-10));
            assert!(close(fast.d_noise, d_noise, 1e-10));
        }
    }
}
