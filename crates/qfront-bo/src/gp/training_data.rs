//! The checks and the output standardization every GP of this crate applies to its training
//! data before fitting.

use crate::{BoError, Result};

/// `(mean, sample standard deviation)` of `y`, the standard deviation 1 when it is 0 (one
/// point, or all equal): the output standardization every GP here uses.
pub(crate) fn standardization(y: &[f64]) -> (f64, f64) {
    let n = y.len();
    let offset = y.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        y.iter().map(|v| (v - offset).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    (offset, if var > 0.0 { var.sqrt() } else { 1.0 })
}

/// The input dimension of `x`, after checking that `x` and `y` are non-empty, equally long,
/// finite, and that every point has the same dimension (a clear error naming the problem
/// otherwise).
pub(crate) fn check_data(x: &[Vec<f64>], y: &[f64]) -> Result<usize> {
    if x.is_empty() || x.len() != y.len() {
        return Err(BoError::input(
            "GP training data",
            format!(
                "{} points and {} values; need at least one of each, as many of both",
                x.len(),
                y.len()
            ),
        ));
    }
    let d = x[0].len();
    if d == 0 {
        return Err(BoError::input(
            "GP training data",
            "points have no coordinates",
        ));
    }
    if let Some(i) = x
        .iter()
        .position(|p| p.len() != d || p.iter().any(|v| !v.is_finite()))
    {
        return Err(BoError::input(
            "GP training data",
            format!("point {i} is not a finite vector of dimension {d}"),
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(BoError::input(
            "GP training data",
            format!(
                "value {i} is {}; drop failed evaluations before fitting",
                y[i]
            ),
        ));
    }
    Ok(d)
}
