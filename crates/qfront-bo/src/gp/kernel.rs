//! The Matérn-5/2 kernel with automatic relevance determination (methods-spec §4.3):
//! `k(x, x') = σ²·(1 + √5·r + 5/3·r²)·exp(−√5·r)`, `r² = Σ_d (x_d − x'_d)²/ℓ_d²`.

const SQRT5: f64 = 2.23606797749979;

/// `k(a, b)` with inverse lengthscales `inv_lengthscales[d] = 1/ℓ_d` and output scale σ².
#[inline]
pub fn matern52(a: &[f64], b: &[f64], inv_lengthscales: &[f64], outputscale: f64) -> f64 {
    let r2 = scaled_squared_distance(a, b, inv_lengthscales);
    let r = r2.sqrt();
    outputscale * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * (-SQRT5 * r).exp()
}

/// The kernel value and its derivative factor at squared scaled distance `r²`, sharing one
/// `exp`: `(σ²·(1 + √5·r + 5/3·r²)·e, σ²·5/3·(1 + √5·r)·e)` with `e = exp(−√5·r)` (the value
/// the same float operations as [`matern52`]). The factor gives the derivatives:
/// `∂k/∂ln ℓ_d = factor·(x_d − x'_d)²/ℓ_d²` and `∂k/∂x_d = −factor·(x_d − x'_d)/ℓ_d²`.
#[inline]
pub fn matern52_with_derivative_factor(r2: f64, outputscale: f64) -> (f64, f64) {
    let r = r2.sqrt();
    let e = (-SQRT5 * r).exp();
    (
        outputscale * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e,
        outputscale * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e,
    )
}

/// The squared scaled distance `r²` between `a` and `b`.
#[inline]
pub fn scaled_squared_distance(a: &[f64], b: &[f64], inv_lengthscales: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(inv_lengthscales)
        .map(|((x, y), il)| {
            let t = (x - y) * il;
            t * t
        })
        .sum()
}

/// The `rows.len() × cols.len()` kernel matrix, row-major.
pub fn matern52_matrix(
    rows: &[Vec<f64>],
    cols: &[Vec<f64>],
    inv_lengthscales: &[f64],
    outputscale: f64,
) -> Vec<f64> {
    let mut k = Vec::with_capacity(rows.len() * cols.len());
    for a in rows {
        for b in cols {
            k.push(matern52(a, b, inv_lengthscales, outputscale));
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_derivatives() {
        // r = 1: (1 + √5 + 5/3)·e^{−√5} = 0.5239941088318203 (closed form).
        let k = matern52(&[0.0, 0.0], &[0.6, 0.8], &[1.0, 1.0], 1.0);
        assert!((k - 0.5239941088318203).abs() < 1e-15, "{k}");
        assert_eq!(matern52(&[0.3], &[0.3], &[2.0], 1.7), 1.7);
        // ∂k/∂ln ℓ_0 against a central difference.
        let (a, b, il) = ([0.1, 0.4], [0.7, 0.2], [1.3, 0.6]);
        let h: f64 = 1e-6;
        let up = matern52(&a, &b, &[il[0] * (-h).exp(), il[1]], 2.0);
        let down = matern52(&a, &b, &[il[0] * h.exp(), il[1]], 2.0);
        let numeric = (up - down) / (2.0 * h);
        let (value, factor) =
            matern52_with_derivative_factor(scaled_squared_distance(&a, &b, &il), 2.0);
        assert_eq!(value, matern52(&a, &b, &il, 2.0));
        let analytic = factor * ((a[0] - b[0]) * il[0]).powi(2);
        assert!((numeric - analytic).abs() < 1e-8, "{numeric} vs {analytic}");
    }
}
