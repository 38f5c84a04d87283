//! BraninCurrin (d = 2, m = 2; Belakaria et al. 2019), as in BoTorch.

use super::Problem;
use std::f64::consts::PI;

/// Branin on `(15x₀ − 5, 15x₁)` and Currin's exponential function, on `[0, 1]²`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BraninCurrin;

/// `Branin(u, v) = (v − 5.1u²/(4π²) + 5u/π − 6)² + 10(1 − 1/(8π))·cos u + 10`.
pub fn branin(u: f64, v: f64) -> f64 {
    (v - 5.1 * u * u / (4.0 * PI * PI) + 5.0 * u / PI - 6.0).powi(2)
        + 10.0 * (1.0 - 1.0 / (8.0 * PI)) * u.cos()
        + 10.0
}

/// `Currin(x) = (1 − exp(−1/(2x₁)))·(2300x₀³ + 1900x₀² + 2092x₀ + 60)/(100x₀³ + 500x₀² + 4x₀ + 20)`.
pub fn currin(x0: f64, x1: f64) -> f64 {
    // BoTorch evaluates exp(−1/(2x₁)) → 0 at x₁ = 0, so the factor is 1 there.
    let factor = if x1 == 0.0 {
        1.0
    } else {
        1.0 - (-1.0 / (2.0 * x1)).exp()
    };
    factor * (2300.0 * x0.powi(3) + 1900.0 * x0 * x0 + 2092.0 * x0 + 60.0)
        / (100.0 * x0.powi(3) + 500.0 * x0 * x0 + 4.0 * x0 + 20.0)
}

impl Problem for BraninCurrin {
    fn name(&self) -> String {
        "branin-currin".into()
    }
    fn dim(&self) -> usize {
        2
    }
    fn num_objectives(&self) -> usize {
        2
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        vec![(0.0, 1.0); 2]
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        vec![branin(15.0 * x[0] - 5.0, 15.0 * x[1]), currin(x[0], x[1])]
    }
    fn reference_point(&self) -> Vec<f64> {
        vec![18.0, 6.0]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(59.36011874867746)
    }
}

/// BraninCurrin with the disk constraint of Gelbart et al. (BoTorch
/// `ConstrainedBraninCurrin`): slack `50 − (x̂₀ − 2.5)² − (x̂₁ − 7.5)²` with x̂ the point mapped
/// to `[−5, 10] × [0, 15]`; reference point [80, 12].
#[derive(Debug, Clone, Copy, Default)]
pub struct ConstrainedBraninCurrin;

impl Problem for ConstrainedBraninCurrin {
    fn name(&self) -> String {
        "constrained-branin-currin".into()
    }
    fn dim(&self) -> usize {
        2
    }
    fn num_objectives(&self) -> usize {
        2
    }
    fn bounds(&self) -> Vec<(f64, f64)> {
        vec![(0.0, 1.0); 2]
    }
    fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        BraninCurrin.evaluate(x)
    }
    fn reference_point(&self) -> Vec<f64> {
        vec![80.0, 12.0]
    }
    fn max_hypervolume(&self) -> Option<f64> {
        Some(608.4004237022673)
    }
    fn num_constraints(&self) -> usize {
        1
    }
    fn constraint_slacks(&self, x: &[f64]) -> Vec<f64> {
        let (u, v) = (15.0 * x[0] - 5.0, 15.0 * x[1]);
        vec![50.0 - (u - 2.5).powi(2) - (v - 7.5).powi(2)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_golden_values() {
        // methods-spec §5.4: slack 21.875 / 50 / 21.875 at u = 0.25 / 0.5 / 0.75.
        for (u, want) in [(0.25, 21.875), (0.5, 50.0), (0.75, 21.875)] {
            let s = ConstrainedBraninCurrin.constraint_slacks(&[u, u])[0];
            assert!((s - want).abs() < 1e-12, "{u}: {s}");
        }
    }

    #[test]
    fn golden_values() {
        // methods-spec §5.4.
        super::super::golden::check(
            &BraninCurrin,
            &[
                &[32.75279625, 11.85323769],
                &[24.12996441, 7.405123913],
                &[122.637882, 5.151914613],
            ],
            1e-8,
        );
    }
}
