//! Helpers shared by the quantizer tests: slice comparison and central finite differences.

/// Asserts two slices agree element-wise within `tol`.
pub fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "length mismatch");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol, "element {i}: got {a}, expected {e} (tol {tol})\nactual   {actual:?}\nexpected {expected:?}");
    }
}

/// Central finite difference of a scalar function.
pub fn finite_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}
