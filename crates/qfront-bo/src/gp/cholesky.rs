//! Cholesky factorisation with jitter retries (faer), in the manner of GPyTorch's
//! `psd_safe_cholesky`: try without jitter, then add `jitter·I` with jitter
//! 1e-8·mean|diag|, ×10 per retry, up to 1e-3·mean|diag|, and report what was tried when
//! every attempt fails.

use super::vector_state::after_wide_kernels;
use crate::{BoError, Result};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, Side};

/// A factorised symmetric positive-definite matrix `A + jitter·I = L·Lᵀ`.
#[derive(Debug, Clone)]
pub struct Cholesky {
    llt: faer::linalg::solvers::Llt<f64>,
    /// The jitter that was added to the diagonal (0 when none was needed).
    pub jitter: f64,
}

/// Factorises the `n × n` row-major symmetric `matrix`, retrying with growing jitter.
///
/// The first call switches faer to sequential execution for the process: BO matrices are at
/// most a few hundred rows, where thread hand-offs cost more than they save (measured with
/// `perf` on `qfront bench mobo --problem branin-currin`: about 11% of samples were scheduler
/// switches and yields before this).
pub fn cholesky_with_jitter(matrix: &[f64], n: usize) -> Result<Cholesky> {
    static SEQUENTIAL: std::sync::Once = std::sync::Once::new();
    SEQUENTIAL.call_once(|| faer::set_global_parallelism(faer::Par::Seq));
    if matrix.len() != n * n || matrix.iter().any(|v| !v.is_finite()) {
        return Err(BoError::input(
            "Cholesky",
            format!("expected {n}×{n} finite values"),
        ));
    }
    let a = Mat::from_fn(n, n, |i, j| matrix[i * n + j]);
    let scale = (0..n).map(|i| a[(i, i)].abs()).sum::<f64>() / n.max(1) as f64;
    let scale = if scale > 0.0 { scale } else { 1.0 };
    if let Ok(llt) = after_wide_kernels(|| a.llt(Side::Lower)) {
        return Ok(Cholesky { llt, jitter: 0.0 });
    }
    let mut tried = vec![0.0];
    for attempt in 1..7 {
        let jitter = scale * 1e-9 * 10f64.powi(attempt);
        let mut b = a.clone();
        for i in 0..n {
            b[(i, i)] += jitter;
        }
        if let Ok(llt) = after_wide_kernels(|| b.llt(Side::Lower)) {
            return Ok(Cholesky { llt, jitter });
        }
        tried.push(jitter);
    }
    Err(BoError::NotPositiveDefinite {
        size: n,
        jitter_tried: tried,
    })
}

impl Cholesky {
    /// Dimension.
    pub fn dim(&self) -> usize {
        self.llt.L().nrows()
    }

    /// `L[i][j]` (lower triangle).
    pub fn lower(&self, i: usize, j: usize) -> f64 {
        self.llt.L()[(i, j)]
    }

    /// Solves `(L·Lᵀ) x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let rhs = Mat::from_fn(b.len(), 1, |i, _| b[i]);
        let x = after_wide_kernels(|| self.llt.solve(&rhs));
        (0..b.len()).map(|i| x[(i, 0)]).collect()
    }

    /// Solves `L·x = B` for the `n × k` row-major `b` (columns are right-hand sides), giving
    /// `L⁻¹·B` row-major.
    pub fn solve_lower(&self, b: &[f64], k: usize) -> Vec<f64> {
        let n = self.dim();
        let mut rhs = Mat::from_fn(n, k, |i, j| b[i * k + j]);
        after_wide_kernels(|| self.llt.L().solve_lower_triangular_in_place(rhs.as_mut()));
        let mut out = Vec::with_capacity(n * k);
        for i in 0..n {
            for j in 0..k {
                out.push(rhs[(i, j)]);
            }
        }
        out
    }

    /// Solves `Lᵀ·x = b` for one right-hand side (the reverse-mode gradients' solve).
    pub fn solve_upper_transposed(&self, b: &[f64]) -> Vec<f64> {
        let mut rhs = Mat::from_fn(b.len(), 1, |i, _| b[i]);
        after_wide_kernels(|| {
            self.llt
                .L()
                .transpose()
                .solve_upper_triangular_in_place(rhs.as_mut())
        });
        (0..b.len()).map(|i| rhs[(i, 0)]).collect()
    }

    /// `L·B` for the `n × k` row-major `b`, row-major: `k` correlated draws at once from
    /// `k` columns of independent normals, as one GEMM (the strict upper triangle of faer's
    /// factor is zero).
    pub fn lower_times(&self, b: &[f64], k: usize) -> Vec<f64> {
        let n = self.dim();
        let rhs = Mat::from_fn(n, k, |i, j| b[i * k + j]);
        let product = after_wide_kernels(|| self.llt.L() * &rhs);
        let mut out = Vec::with_capacity(n * k);
        for i in 0..n {
            for j in 0..k {
                out.push(product[(i, j)]);
            }
        }
        out
    }

    /// `A⁻¹` (row-major). faer writes the inverse of a Cholesky factorisation exactly
    /// symmetric, so its columns are its rows: copied as contiguous columns.
    pub fn inverse(&self) -> Vec<f64> {
        let inv = after_wide_kernels(|| self.llt.inverse());
        let n = self.dim();
        let mut out = Vec::with_capacity(n * n);
        for j in 0..n {
            out.extend_from_slice(inv.col_as_slice(j));
        }
        out
    }

    /// `ln det A = 2·Σ ln L_ii`.
    pub fn log_determinant(&self) -> f64 {
        let l = self.llt.L();
        2.0 * (0..self.dim()).map(|i| l[(i, i)].ln()).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn solves_and_retries_with_jitter() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let c = cholesky_with_jitter(&a, 2).unwrap();
        assert_eq!(c.jitter, 0.0);
        let x = c.solve(&[2.0, 1.0]);
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((c.log_determinant() - 8f64.ln()).abs() < 1e-12);
        // Rank one: needs jitter.
        let singular = [1.0, 1.0, 1.0, 1.0];
        let c = cholesky_with_jitter(&singular, 2).unwrap();
        assert!(c.jitter > 0.0);
        // Indefinite beyond any jitter: a clear error.
        let e = cholesky_with_jitter(&[1.0, 0.0, 0.0, -1.0], 2).unwrap_err();
        assert!(e.to_string().contains("jitter"), "{e}");
    }

    /// `inverse` copies columns as rows, which is right only if faer's inverse is exactly
    /// symmetric; checked against the definition `A·A⁻¹ = I` and bit-for-bit symmetry.
    #[test]
    fn the_inverse_is_exactly_symmetric_and_inverts() {
        let n = 60;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut uniform = || rng.gen::<f64>() - 0.5;
        let b: Vec<f64> = (0..n * n).map(|_| uniform()).collect();
        // A = B·Bᵀ + n·I, exactly symmetric.
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v: f64 = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum();
                a[i * n + j] = v + if i == j { n as f64 } else { 0.0 };
                a[j * n + i] = a[i * n + j];
            }
        }
        let inverse = cholesky_with_jitter(&a, n).unwrap().inverse();
        for i in 0..n {
            for j in 0..n {
                assert_eq!(inverse[i * n + j].to_bits(), inverse[j * n + i].to_bits());
                let product: f64 = (0..n).map(|k| a[i * n + k] * inverse[k * n + j]).sum();
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((product - expected).abs() < 1e-10, "({i}, {j}): {product}");
            }
        }
    }
}
