//! Hypervolume and Pareto fronts of point sets (all objectives maximized, as in BoTorch).

use pyo3::prelude::*;

/// The hypervolume dominated by `points` (rows, maximized) above `reference`
/// (`qfront_bo::moo::hypervolume`: exact, any number of objectives).
#[pyfunction]
pub fn hypervolume(py: Python<'_>, points: Vec<Vec<f64>>, reference: Vec<f64>) -> PyResult<f64> {
    py.detach(|| qfront_bo::moo::hypervolume(&points, &reference))
        .map_err(crate::error)
}

/// The non-dominated rows of `points` (maximized), in their original order.
#[pyfunction]
pub fn pareto_front(points: Vec<Vec<f64>>) -> PyResult<Vec<Vec<f64>>> {
    if let Some(row) = points.iter().find(|p| p.len() != points[0].len()) {
        return Err(crate::error(format!(
            "every point needs {} values; one has {}",
            points[0].len(),
            row.len()
        )));
    }
    if points.iter().flatten().any(|v| v.is_nan()) {
        return Err(crate::error("a point holds NaN"));
    }
    Ok(qfront_bo::moo::pareto_front(&points))
}
