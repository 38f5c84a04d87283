//! A quadratic trend under the exact GP: universal kriging's polynomial mean (Matheron; a
//! quadratic response surface, Box & Wilson 1951) fitted before the kernel's
//! hyperparameters, kept only where it halves the cross-validated error.
//!
//! `t(x) = Σ_d a_d·(u_d − ū_d) + Σ_d b_d·(u_d² − \overline{u_d²})` with `u = x − ½` on the unit
//! cube and the bars the training points' means (the constant stays the GP's mean). The
//! coefficients are a ridge regression of the standardized outputs, the ridge chosen from
//! `10⁻³ … 10⁴` by generalized cross-validation (Golub, Heath & Wahba, Technometrics 1979:
//! `GCV(λ) = n·‖y − S_λ y‖² / (n − tr S_λ)²`, `S_λ = H(HᵀH + λI)⁻¹Hᵀ`). The trend is used when
//! its GCV is at most [`TREND_GCV_RATIO`] of the no-trend score `‖y‖²/n` (the outputs'
//! variance): on the DTLZ problems (a quadratic distance function) the ratio is 0.02–0.33,
//! on linear or quadratic engineering objectives (vehicle safety, ZDT2) about 0, on the
//! embedded Branin–Currin 0.7–1.0, where a trend on every ask cost hypervolume (design
//! notes, "A quadratic trend under the GP").
//!
//! The GP then models the residuals `r = y − t(x)`, divided by their standard deviation
//! (`residual_scale`), so its priors (outputscale, noise) see unit-variance data as they do
//! without a trend; the coefficients are stored in that frame. Far from every observation
//! the model returns to `t(x) + μ` rather than to a constant. An input enters the trend only
//! once the trials reach near both ends of its range ([`TREND_COVERAGE_MARGIN`]): the
//! trend is not carried into a slab of the box no trial has reached.
//!
//! Written by hand: a few dozen basis columns and eight ridge solves of at most `2d × 2d`
//! per fit, which no regression crate makes simpler.

use super::cholesky::cholesky_with_jitter;

/// The largest ratio of the trend's GCV score to the no-trend score at which the trend is
/// used: it must at least halve the cross-validated squared error.
pub const TREND_GCV_RATIO: f64 = 0.5;

/// The smallest residual standard deviation (on standardized outputs) the GP's frame is
/// scaled to: an objective the trend explains exactly (a linear one) keeps a GP of scale
/// 10⁻³ of the data's spread rather than 0.
pub const RESIDUAL_SCALE_FLOOR: f64 = 1e-3;

/// How far inside its faces the trials must reach for an input to enter the trend: its
/// terms are used only when some trial has `x_d ≤ 0.2` and some `x_d ≥ 0.8`. A fitted
/// response surface is trusted inside the region its design covers, not beyond it (Box &
/// Draper, *Empirical Model-Building and Response Surfaces*, 1987, ch. 1 and 13): on the
/// 2-dimensional Branin–Currin, six starting points that all had `x₁ ≥ 0.23` let the trend
/// carry Currin's slow rise from `x₁ = 1` towards `x₁ = 0.23` (its `x₁` factor from 10.2 to
/// 13.8) on to `x₁ = 0`, where the factor in fact falls to 3 (11.4 at 0.1), with the residual
/// GP's small variance; no trial went below `x₁ = 0.23` for 39 asks (design notes, "A trend only where
/// the trials reach"). For an integer or an ordered choice the faces are the centres of its
/// first and last cells (`SearchSpace::encoded_extremes`; 0.25 and 0.75 for two values), as
/// given to [`QuadraticTrend::fit_within`].
pub const TREND_COVERAGE_MARGIN: f64 = 0.2;

/// The ridge penalties GCV chooses from.
const RIDGE_EXPONENTS: std::ops::RangeInclusive<i32> = -3..=4;

/// A fitted quadratic trend, in the frame of the GP's residuals (see the module notes).
#[derive(Debug, Clone, PartialEq)]
pub struct QuadraticTrend {
    /// `a_1 … a_d, b_1 … b_d`, in units of the residuals' standard deviation.
    pub coefficients: Vec<f64>,
    /// The training points' mean of each basis function (`ū_d`, then `\overline{u_d²}`).
    pub basis_means: Vec<f64>,
    /// The residuals' standard deviation on the standardized outputs (at least
    /// [`RESIDUAL_SCALE_FLOOR`]): the GP's outputs are the standardized ones divided by it.
    pub residual_scale: f64,
}

/// `(u_1 … u_d, u_1² … u_d²)` with `u = x − ½`.
fn basis(x: &[f64]) -> Vec<f64> {
    let centred = x.iter().map(|v| v - 0.5);
    centred.clone().chain(centred.map(|u| u * u)).collect()
}

impl QuadraticTrend {
    /// The trend of the standardized outputs `y` at the inputs `x` (unit cube), or `None`
    /// when it does not at least halve the cross-validated error ([`TREND_GCV_RATIO`]), or
    /// when there is nothing to fit (no points, no inputs, constant outputs).
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Option<Self> {
        Self::fit_within(x, y, None)
    }

    /// [`QuadraticTrend::fit`] in a space whose inputs range over `extremes` (per input, the
    /// least and greatest value an encoded point takes; `None`: `(0, 1)` each), which the
    /// coverage rule ([`TREND_COVERAGE_MARGIN`]) measures against.
    pub fn fit_within(x: &[Vec<f64>], y: &[f64], extremes: Option<&[(f64, f64)]>) -> Option<Self> {
        let n = x.len();
        let rows: Vec<Vec<f64>> = x.iter().map(|p| basis(p)).collect();
        let p = rows.first()?.len();
        if p == 0 {
            return None;
        }
        let basis_means: Vec<f64> = (0..p)
            .map(|k| rows.iter().map(|r| r[k]).sum::<f64>() / n as f64)
            .collect();
        // An input the trials do not cover (`TREND_COVERAGE_MARGIN`) has its columns zeroed:
        // the ridge then gives it zero coefficients and no degrees of freedom, as if left out.
        let covered = covered_inputs(x, extremes);
        if !covered.contains(&true) {
            return None; // no columns left: the score would be the no-trend one
        }
        let centred_rows: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&basis_means)
                    .enumerate()
                    .map(|(k, (a, m))| {
                        // Columns k and d + k are input k's (`basis`).
                        if covered[k % covered.len()] {
                            a - m
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let centred_y: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        let no_trend_score = centred_y.iter().map(|v| v * v).sum::<f64>() / n as f64;
        if no_trend_score <= 0.0 {
            return None;
        }
        let (score, coefficients) = ridge_by_gcv(&centred_rows, &centred_y)?;
        if score > TREND_GCV_RATIO * no_trend_score {
            return None;
        }
        let mut trend = Self {
            coefficients,
            basis_means,
            residual_scale: 1.0,
        };
        let residuals: Vec<f64> = x
            .iter()
            .zip(y)
            .map(|(point, v)| v - trend.value(point))
            .collect();
        let residual_mean = residuals.iter().sum::<f64>() / n as f64;
        let variance = residuals
            .iter()
            .map(|r| (r - residual_mean).powi(2))
            .sum::<f64>()
            / (n as f64 - 1.0).max(1.0);
        let scale = variance.sqrt().max(RESIDUAL_SCALE_FLOOR);
        trend.residual_scale = scale;
        trend.coefficients.iter_mut().for_each(|c| *c /= scale);
        Some(trend)
    }

    /// `t(x)`, in the residuals' frame (no allocation: every prediction calls it).
    pub fn value(&self, x: &[f64]) -> f64 {
        let d = x.len();
        let (linear, squared) = self.coefficients.split_at(d);
        let (linear_means, squared_means) = self.basis_means.split_at(d);
        let mut sum = 0.0;
        for k in 0..d {
            let u = x[k] - 0.5;
            sum += (u - linear_means[k]) * linear[k] + (u * u - squared_means[k]) * squared[k];
        }
        sum
    }

    /// `∂t/∂x_d = a_d + 2·b_d·(x_d − ½)`.
    pub fn gradient(&self, x: &[f64]) -> Vec<f64> {
        let d = x.len();
        (0..d)
            .map(|k| self.coefficients[k] + 2.0 * (x[k] - 0.5) * self.coefficients[d + k])
            .collect()
    }

    /// The trend without the inputs flagged in `ignored` (their coefficients zeroed), for a
    /// GP that leaves those inputs out (`ExactGp::ignoring_inputs`).
    pub fn ignoring(&self, ignored: &[bool]) -> Self {
        let d = ignored.len();
        let mut out = self.clone();
        for (k, _) in ignored.iter().enumerate().filter(|(_, &ignore)| ignore) {
            out.coefficients[k] = 0.0;
            out.coefficients[d + k] = 0.0;
        }
        out
    }
}

/// Per input, whether the trials reach within [`TREND_COVERAGE_MARGIN`] of both ends of its
/// range (`extremes[k]`, scaled by the range's width; `(0, 1)` without `extremes`).
fn covered_inputs(x: &[Vec<f64>], extremes: Option<&[(f64, f64)]>) -> Vec<bool> {
    let d = x.first().map_or(0, Vec::len);
    (0..d)
        .map(|k| {
            let (least, greatest) = extremes
                .and_then(|e| e.get(k))
                .copied()
                .unwrap_or((0.0, 1.0));
            let margin = TREND_COVERAGE_MARGIN * (greatest - least);
            let (low, high) = x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                    (l.min(p[k]), h.max(p[k]))
                });
            low <= least + margin && high >= greatest - margin
        })
        .collect()
}

/// The ridge regression of `y` on the columns of `h` (rows are points; both centred) with
/// the penalty of smallest GCV score among `10^RIDGE_EXPONENTS`: `(score, coefficients)`.
/// `tr S_λ = p − λ·tr((HᵀH + λI)⁻¹)`.
fn ridge_by_gcv(h: &[Vec<f64>], y: &[f64]) -> Option<(f64, Vec<f64>)> {
    let n = h.len();
    let p = h.first()?.len();
    let mut gram = vec![0.0; p * p];
    let mut projected = vec![0.0; p];
    for (row, value) in h.iter().zip(y) {
        for a in 0..p {
            projected[a] += row[a] * value;
            for b in 0..p {
                gram[a * p + b] += row[a] * row[b];
            }
        }
    }
    let mut best: Option<(f64, Vec<f64>)> = None;
    for exponent in RIDGE_EXPONENTS {
        let lambda = 10f64.powi(exponent);
        let mut penalized = gram.clone();
        for k in 0..p {
            penalized[k * p + k] += lambda;
        }
        let Ok(factor) = cholesky_with_jitter(&penalized, p) else {
            continue;
        };
        let coefficients = factor.solve(&projected);
        let trace_of_inverse: f64 = (0..p)
            .map(|k| {
                let mut unit = vec![0.0; p];
                unit[k] = 1.0;
                factor.solve(&unit)[k]
            })
            .sum();
        let degrees_of_freedom = p as f64 - lambda * trace_of_inverse;
        let squared_error: f64 = h
            .iter()
            .zip(y)
            .map(|(row, value)| {
                let fitted: f64 = row.iter().zip(&coefficients).map(|(a, c)| a * c).sum();
                (value - fitted).powi(2)
            })
            .sum();
        let denominator = n as f64 - degrees_of_freedom;
        if denominator <= 0.0 {
            continue;
        }
        let score = n as f64 * squared_error / (denominator * denominator);
        if score.is_finite() && best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, coefficients));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::{ExactGp, GpFitOptions};
    use crate::sampling::SobolSampler;

    fn quadratic(p: &[f64]) -> f64 {
        4.0 * (p[0] - 0.5).powi(2) - 3.0 * p[1] + 0.5 * p[0]
    }

    /// Trained on the unit square less `(0.25, 1]²` (every input still covered, a hole at
    /// the far corner) of an exactly quadratic function, the GP over the trend predicts the
    /// hole within 1% of the function's range (measured 0.006 of 4); the constant mean's GP
    /// misses by more than 5% (0.26), returning towards its mean.
    #[test]
    fn a_quadratic_is_carried_into_a_hole_by_its_trend() {
        let x: Vec<Vec<f64>> = SobolSampler::new(2, 1)
            .unwrap()
            .draw(40)
            .unwrap()
            .into_iter()
            .filter(|p| p[0] <= 0.25 || p[1] <= 0.25)
            .collect();
        let y: Vec<f64> = x.iter().map(|p| quadratic(p)).collect();
        let far = vec![vec![1.0, 1.0], vec![0.9, 0.8], vec![0.7, 1.0]];
        let truth: Vec<f64> = far.iter().map(|p| quadratic(p)).collect();
        let range = 4.0; // the function spans [−2.5, 1.5] on the unit square
        let worst_error = |options: &GpFitOptions| {
            let gp = ExactGp::fit(&x, &y, options).unwrap();
            let (mean, _) = gp.predict(&far);
            (
                gp.trend().is_some(),
                mean.iter()
                    .zip(&truth)
                    .map(|(m, t)| (m - t).abs())
                    .fold(0.0, f64::max),
            )
        };
        let (kept, with_trend) = worst_error(&GpFitOptions {
            quadratic_trend: true,
            ..GpFitOptions::default()
        });
        let (_, without) = worst_error(&GpFitOptions::default());
        assert!(kept);
        assert!(
            with_trend < 0.01 * range && without > 0.05 * range,
            "with the trend {with_trend}, without {without}"
        );
    }

    /// A trend is not carried past the trials: with every trial at `x₀ ≥ 0.3`, input 0's
    /// coefficients are zero (input 1's are not); with the trials over the whole square,
    /// input 0 is in the trend too.
    #[test]
    fn a_trend_is_not_carried_past_the_trials() {
        let all = SobolSampler::new(2, 7).unwrap().draw(24).unwrap();
        let y_of = |x: &[Vec<f64>]| -> Vec<f64> { x.iter().map(|p| quadratic(p)).collect() };
        let trend = QuadraticTrend::fit(&all, &y_of(&all)).unwrap();
        assert!(trend.coefficients[0] != 0.0 && trend.coefficients[2] != 0.0);
        let right: Vec<Vec<f64>> = all.iter().map(|p| vec![0.3 + 0.7 * p[0], p[1]]).collect();
        let trend = QuadraticTrend::fit(&right, &y_of(&right)).unwrap();
        assert_eq!((trend.coefficients[0], trend.coefficients[2]), (0.0, 0.0));
        assert!(trend.coefficients[1] != 0.0, "{:?}", trend.coefficients);
        assert_eq!(trend.gradient(&[0.0, 0.5])[0], 0.0);
    }

    /// A two-valued discrete input, encoded at 0.25 and 0.75, is covered once both values
    /// were tried, measured against its own extremes (`fit_within`); against the cube's faces
    /// (`fit`) it never is, and here no trend is left.
    #[test]
    fn a_two_valued_input_is_covered_within_its_extremes() {
        let x: Vec<Vec<f64>> = SobolSampler::new(2, 11)
            .unwrap()
            .draw(16)
            .unwrap()
            .into_iter()
            .map(|p| vec![if p[0] < 0.5 { 0.25 } else { 0.75 }, p[1]])
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|p| 2.0 * p[0] + (p[1] - 0.4).powi(2))
            .collect();
        // Against the faces input 0 is left out, and input 1 alone does not halve the error.
        assert_eq!(QuadraticTrend::fit(&x, &y), None);
        let within = QuadraticTrend::fit_within(&x, &y, Some(&[(0.25, 0.75), (0.0, 1.0)])).unwrap();
        assert!(within.coefficients[0] > 0.0, "{:?}", within.coefficients);
    }

    /// A function with no quadratic shape (many wiggles) gets no trend: ridge regression on
    /// linear and squared terms does not halve its cross-validated error.
    #[test]
    fn wiggles_get_no_trend() {
        let x = SobolSampler::new(2, 3).unwrap().draw(30).unwrap();
        let y: Vec<f64> = x
            .iter()
            .map(|p| (20.0 * p[0]).sin() * (17.0 * p[1]).cos())
            .collect();
        assert_eq!(QuadraticTrend::fit(&x, &y), None);
        // Constant outputs: nothing to fit.
        assert_eq!(QuadraticTrend::fit(&x, &vec![0.0; x.len()]), None);
    }

    /// A linear function is explained by its trend: the residuals' spread is far below the
    /// data's, the trend's gradient is the slope (in the residuals' units), and the
    /// coefficients of the inputs it does not use are about zero.
    #[test]
    fn a_linear_function_is_its_trend() {
        let x = SobolSampler::new(3, 5).unwrap().draw(16).unwrap();
        let y: Vec<f64> = x.iter().map(|p| 2.0 * p[0] - 1.0).collect();
        let trend = QuadraticTrend::fit(&x, &y).unwrap();
        assert!(trend.residual_scale < 0.01, "{}", trend.residual_scale);
        let gradient = trend.gradient(&[0.3, 0.3, 0.3]);
        let slope = gradient[0] * trend.residual_scale;
        assert!((slope - 2.0).abs() < 0.01, "{slope}");
        for unused in &gradient[1..] {
            assert!((unused * trend.residual_scale).abs() < 0.01, "{gradient:?}");
        }
        let without_first = trend.ignoring(&[true, false, false]);
        assert_eq!(without_first.gradient(&[0.3, 0.3, 0.3])[0], 0.0);
    }
}
