//! Reference-point inference (BoTorch `infer_reference_point`, after Ishibuchi et al. 2011).

use crate::{BoError, Result};

/// `r = nadir − scale·(ideal − nadir)` over a Pareto front (maximization), with BoTorch's
/// rules: for a single point the range is `|nadir|`. BoTorch and Ax use `scale = 0.1`.
/// A zero range in an objective gives `r = nadir` there.
pub fn infer_reference_point(front: &[Vec<f64>], scale: f64) -> Result<Vec<f64>> {
    let first = front
        .first()
        .ok_or_else(|| BoError::input("reference point", "the Pareto front is empty"))?;
    let m = first.len();
    super::check_points("reference point", front, m, "point 0")?;
    if !(scale.is_finite() && scale >= 0.0) {
        return Err(BoError::input(
            "reference point",
            format!("scale must be finite and non-negative, got {scale}"),
        ));
    }
    Ok((0..m)
        .map(|i| {
            let nadir = front.iter().map(|p| p[i]).fold(f64::INFINITY, f64::min);
            let ideal = front.iter().map(|p| p[i]).fold(f64::NEG_INFINITY, f64::max);
            let range = if front.len() == 1 {
                nadir.abs()
            } else {
                ideal - nadir
            };
            nadir - scale * range
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector() {
        // methods-spec §5.5: [0.7, 0.6].
        let front = vec![
            vec![1.0, 5.0],
            vec![2.0, 4.0],
            vec![3.0, 2.0],
            vec![4.0, 1.0],
        ];
        let r = infer_reference_point(&front, 0.1).unwrap();
        assert!(
            (r[0] - 0.7).abs() < 1e-12 && (r[1] - 0.6).abs() < 1e-12,
            "{r:?}"
        );
        assert!(infer_reference_point(&[], 0.1).is_err());
        let single = infer_reference_point(&[vec![-2.0, 3.0]], 0.1).unwrap();
        assert!((single[0] + 2.2).abs() < 1e-12 && (single[1] - 2.7).abs() < 1e-12);
    }
}
