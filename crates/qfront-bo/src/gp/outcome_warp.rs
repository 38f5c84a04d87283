//! The Yeo–Johnson outcome warp (Yeo & Johnson 2000): each objective is standardized, then
//! passed through the power transform whose exponent λ maximizes the Gaussian likelihood of
//! the result, before its GP is fitted. HEBO (Cowen-Rivers et al. 2022) does the same; it is
//! BoTorch's `Power` outcome transform.
//!
//! Why: a GP with one output scale cannot fit an objective that spans orders of magnitude
//! (a latency that explodes in part of the space, `exp(4·f)` in the suite's `dtlz2-warped`):
//! the bad region's values set the scale and the front's differences vanish into noise. The
//! warp is strictly increasing, so Pareto dominance is unchanged. The GP is fitted on the
//! warped values and its samples are mapped back ([`YeoJohnson::invert`],
//! `ExactGp::with_output_warp`), so qNEHVI still measures improvement in the objective's own
//! units. A warp is kept only when a likelihood-ratio test says the values are not Gaussian.
//!
//! `ψ_λ(z) = ((z + 1)^λ − 1)/λ` for `z ≥ 0` (`ln(z + 1)` at λ = 0) and
//! `ψ_λ(z) = −((1 − z)^(2−λ) − 1)/(2 − λ)` for `z < 0` (`−ln(1 − z)` at λ = 2), with the
//! log-likelihood `ℓ(λ) = −n/2·ln σ̂²(ψ_λ(z)) + (λ − 1)·Σ sign(z_i)·ln(|z_i| + 1)`, maximized
//! by golden-section search on `[1, LAMBDA_BOUND]` (written here: a one-dimensional bounded
//! search does not justify a dependency).
//!
//! Only `λ ≥ 1`, a departure from HEBO and BoTorch's `Power`, which search both sides. The
//! objectives are maximized, and `λ > 1` compresses the low values (a region of huge losses
//! or latencies, the reason the warp exists) and stretches the high ones, while `λ < 1` does
//! the opposite: it compresses the best values, so the model, and the samples mapped back
//! through the inverse, cannot reach far past the best seen. On Fonseca–Fleming (a plateau
//! at 1 with a narrow well) the data's few good values form a long upper tail, λ̂ < 1, and 3
//! of 10 seeds crept along the plateau and never found the well (hypervolume ≈ 0); with
//! `λ ≥ 1` the warp is the identity there and every seed finds it (design notes, "The MOBO
//! engine on problems it has never seen").
//!
//! A second warp is offered beside it, [`YeoJohnson::log_above_worst`]: the λ = 0 branch
//! anchored at the worst value, for objectives whose values differ from a plateau by orders of
//! magnitude. Fonseca–Fleming's plateau is again the case; there the log of the distance from
//! the plateau is a smooth bowl, and the warp is chosen by how well it predicts, not by the
//! values' distribution (`gp::fit_choosing_warp`).

use super::training_data::standardization;

/// The largest λ searched (and, negated, the lower end of the unrestricted diagnostic search).
pub const LAMBDA_BOUND: f64 = 5.0;

/// A fitted warp: `ψ_λ((y − offset)/scale)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YeoJohnson {
    /// Mean of the values it was fitted on.
    pub offset: f64,
    /// Their sample standard deviation (1 when they are all equal).
    pub scale: f64,
    /// The maximum-likelihood exponent.
    pub lambda: f64,
}

/// `ψ_λ(z)`.
pub fn yeo_johnson(z: f64, lambda: f64) -> f64 {
    if z >= 0.0 {
        if lambda.abs() < 1e-12 {
            z.ln_1p()
        } else {
            ((z + 1.0).powf(lambda) - 1.0) / lambda
        }
    } else if (lambda - 2.0).abs() < 1e-12 {
        -(-z).ln_1p()
    } else {
        -((1.0 - z).powf(2.0 - lambda) - 1.0) / (2.0 - lambda)
    }
}

fn log_likelihood(z: &[f64], lambda: f64) -> f64 {
    let n = z.len() as f64;
    let t: Vec<f64> = z.iter().map(|&v| yeo_johnson(v, lambda)).collect();
    let mean = t.iter().sum::<f64>() / n;
    let variance = t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    if !(variance > 0.0 && variance.is_finite()) {
        return f64::NEG_INFINITY;
    }
    let jacobian: f64 = z.iter().map(|&v| v.signum() * v.abs().ln_1p()).sum();
    -0.5 * n * variance.ln() + (lambda - 1.0) * jacobian
}

/// `(mean, sd, (values − mean)/sd)` (see `training_data::standardization`).
fn standardized(values: &[f64]) -> (f64, f64, Vec<f64>) {
    let (offset, scale) = standardization(values);
    let z = values.iter().map(|v| (v - offset) / scale).collect();
    (offset, scale, z)
}

/// How far (in standard deviations of the fitted values) an inverted sample may lie.
pub const INVERSE_LIMIT: f64 = 1e6;

/// The least unit of the log warp above the worst value ([`YeoJohnson::log_above_worst`]), as
/// a fraction of the values' range. The warped value of the best observation is then at most
/// `ln(1/fraction + 2)`, and an inverted sample is clamped only `INVERSE_LIMIT` units past
/// the worst value, at least ten ranges. Without the floor the unit is whatever separates the
/// two values nearest the worst: on Fonseca–Fleming's plateau (the suite's seed 3, told its
/// point) 3e-13 in one objective from trial 10 and 5e-14 in the other from trial 14, against
/// ranges of 0.5–0.6; every GP sample then came back clamped within 1e6 units (3e-7) of the
/// worst value, below every trial in the well, and the acquisition was 0 from trial 13.
pub const LOG_WARP_LEAST_UNIT: f64 = 1e-5;

/// The log warp above the worst value ([`YeoJohnson::log_above_worst`]) is offered only when
/// at least half of the values lie within this fraction of the range from the worst: the
/// values sit on a plateau at their worst. Elsewhere the log would compress the good end of
/// the values, the front, and on BraninCurrin (`qfront bench mobo`, whose Branin values
/// spread over their range) offered everywhere it cost 0.26 on one seed of five.
pub const LOG_WARP_PLATEAU_FRACTION: f64 = 0.01;

/// `(z, ∂z/∂t)` with `ψ_λ(z) = t`, clamped to `|z| ≤ INVERSE_LIMIT` (see
/// [`YeoJohnson::invert`]).
pub fn inverse_yeo_johnson(t: f64, lambda: f64) -> (f64, f64) {
    let (z, dz) = if t >= 0.0 {
        if lambda.abs() < 1e-12 {
            (t.exp_m1(), t.exp())
        } else {
            let base = lambda * t + 1.0;
            if base <= 0.0 {
                (f64::INFINITY, 0.0)
            } else {
                (base.powf(1.0 / lambda) - 1.0, base.powf(1.0 / lambda - 1.0))
            }
        }
    } else if (lambda - 2.0).abs() < 1e-12 {
        (-(-t).exp_m1(), (-t).exp())
    } else {
        let power = 2.0 - lambda;
        let base = 1.0 - power * t;
        if base <= 0.0 {
            (f64::NEG_INFINITY, 0.0)
        } else {
            (1.0 - base.powf(1.0 / power), base.powf(1.0 / power - 1.0))
        }
    };
    if z.is_finite() && z.abs() <= INVERSE_LIMIT {
        (z, dz)
    } else {
        (INVERSE_LIMIT.copysign(z), 0.0)
    }
}

/// `z` with `ψ_λ(z) = t`, clamped like [`inverse_yeo_johnson`] (the same value, without the
/// derivative's second power: samples that only need the value pay one `powf`).
pub fn inverse_yeo_johnson_value(t: f64, lambda: f64) -> f64 {
    let z = if t >= 0.0 {
        if lambda.abs() < 1e-12 {
            t.exp_m1()
        } else {
            let base = lambda * t + 1.0;
            if base <= 0.0 {
                f64::INFINITY
            } else {
                base.powf(1.0 / lambda) - 1.0
            }
        }
    } else if (lambda - 2.0).abs() < 1e-12 {
        -(-t).exp_m1()
    } else {
        let power = 2.0 - lambda;
        let base = 1.0 - power * t;
        if base <= 0.0 {
            f64::NEG_INFINITY
        } else {
            1.0 - base.powf(1.0 / power)
        }
    };
    if z.is_finite() && z.abs() <= INVERSE_LIMIT {
        z
    } else {
        INVERSE_LIMIT.copysign(z)
    }
}

/// The 99% quantile of χ² with one degree of freedom.
const LIKELIHOOD_RATIO_1PCT: f64 = 6.635;

/// The λ of maximum likelihood on `[lower, upper]`, by golden-section search.
fn golden_section_lambda(z: &[f64], lower: f64, upper: f64) -> f64 {
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (lower, upper);
    let mut c = b - golden * (b - a);
    let mut d = a + golden * (b - a);
    let (mut fc, mut fd) = (log_likelihood(z, c), log_likelihood(z, d));
    while b - a > 1e-10 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - golden * (b - a);
            fc = log_likelihood(z, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + golden * (b - a);
            fd = log_likelihood(z, d);
        }
    }
    0.5 * (a + b)
}

impl YeoJohnson {
    /// Fits the warp to finite `values` (at least one). With fewer than three distinct
    /// values there is nothing to fit and λ = 1 (standardization only).
    pub fn fit(values: &[f64]) -> Self {
        let (offset, scale, z) = standardized(values);
        let mut distinct = z.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 3 {
            return Self {
                offset,
                scale,
                lambda: 1.0,
            };
        }
        // Only λ ≥ 1: the objectives are maximized, and a warp may compress the low (bad)
        // tail but never the high (good) one (module notes).
        let lambda = golden_section_lambda(&z, 1.0, LAMBDA_BOUND);
        // Warp only what the data show to be non-Gaussian: the likelihood-ratio test of λ̂
        // against λ = 1 at the 1% level (χ²₁ quantile 6.635).
        let significant =
            2.0 * (log_likelihood(&z, lambda) - log_likelihood(&z, 1.0)) > LIKELIHOOD_RATIO_1PCT;
        Self {
            offset,
            scale,
            lambda: if significant { lambda } else { 1.0 },
        }
    }

    /// The log warp above the worst value: `ln((y − y_min)/δ + 2)`, Yeo–Johnson's λ = 0
    /// branch on `z = (y − y_min + δ)/δ ≥ 1`, where `δ` is the least positive distance of a
    /// value from the worst `y_min`, but at least [`LOG_WARP_LEAST_UNIT`] of the range.
    /// `None` with fewer than three distinct values, or unless the values sit on a plateau at
    /// their worst: the median distance from `y_min` at most [`LOG_WARP_PLATEAU_FRACTION`] of
    /// the range.
    ///
    /// Why (design notes, "A log warp above the worst value"): an objective that sits on a
    /// plateau at its worst value except in a narrow well, such as Fonseca–Fleming's
    /// `1 − exp(−r²)`, is told values that differ from the plateau by nothing to 3e-5 until a
    /// trial lands in the well (the first eight trials of the suite's seed 7). On their own scale those differences are spikes a GP cannot
    /// connect; their logarithm is `−r²`, a smooth bowl whose slope points into the well.
    /// Unlike a λ < 1 Yeo–Johnson warp of the standardized values (module notes), it is
    /// anchored at the worst value and spreads the differences next to it over orders of
    /// magnitude; it is kept only where its GP predicts the better half of the values better
    /// ([`super::fit_choosing_warp`]).
    pub fn log_above_worst(values: &[f64]) -> Option<Self> {
        // One sort gives the worst, the best, the median, the count of distinct values and
        // the next value up from the worst.
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (&worst, &best) = (sorted.first()?, sorted.last()?);
        let range = best - worst;
        let distinct = 1 + sorted.windows(2).filter(|pair| pair[0] != pair[1]).count();
        if distinct < 3 || !range.is_finite() {
            return None;
        }
        let median_distance = sorted[(sorted.len() - 1) / 2] - worst;
        if median_distance > LOG_WARP_PLATEAU_FRACTION * range {
            return None;
        }
        let next_up = sorted.iter().copied().find(|&v| v > worst)?;
        let unit = (next_up - worst).max(LOG_WARP_LEAST_UNIT * range);
        Some(Self {
            offset: worst - unit,
            scale: unit,
            lambda: 0.0,
        })
    }

    /// The maximum-likelihood λ on `[−LAMBDA_BOUND, LAMBDA_BOUND]`, without the test or the
    /// `λ ≥ 1` restriction of [`YeoJohnson::fit`] (for diagnostics and the SciPy check).
    pub fn maximum_likelihood_lambda(values: &[f64]) -> f64 {
        golden_section_lambda(&standardized(values).2, -LAMBDA_BOUND, LAMBDA_BOUND)
    }

    /// `ln(dψ/dy)` at `y`, the log-Jacobian that takes a density of warped values to one of
    /// `y`: `(λ − 1)·ln(z + 1)` for `z ≥ 0`, `(1 − λ)·ln(1 − z)` for `z < 0`, less `ln scale`.
    pub fn log_derivative(&self, y: f64) -> f64 {
        let z = (y - self.offset) / self.scale;
        let log_slope = if z >= 0.0 {
            (self.lambda - 1.0) * z.ln_1p()
        } else {
            (1.0 - self.lambda) * (-z).ln_1p()
        };
        log_slope - self.scale.ln()
    }

    /// The warped value of `y`.
    pub fn apply(&self, y: f64) -> f64 {
        yeo_johnson((y - self.offset) / self.scale, self.lambda)
    }

    /// `y` for the warped value `t`: the inverse of [`YeoJohnson::apply`]. Where λ bounds the
    /// warp's range (λ < 0 above, λ > 2 below) and `t` lies past the bound, a GP sample
    /// beyond anything the warp can produce, `y` is clamped to `offset ± INVERSE_LIMIT·scale`.
    pub fn invert_value(&self, t: f64) -> f64 {
        self.offset + self.scale * inverse_yeo_johnson_value(t, self.lambda)
    }

    /// `(y, ∂y/∂t)` for the warped value `t`: [`YeoJohnson::invert_value`] with the
    /// derivative (zero where the value is clamped).
    pub fn invert(&self, t: f64) -> (f64, f64) {
        let (z, dz) = inverse_yeo_johnson(t, self.lambda);
        (self.offset + self.scale * z, self.scale * dz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_only_inverse_is_the_inverse_s_value() {
        for lambda in [-2.5, -1.0, -1e-13, 0.0, 0.5, 1.0, 2.0, 2.0 + 1e-13, 3.5] {
            for t in [-40.0, -3.0, -0.7, -1e-9, 0.0, 1e-9, 0.4, 2.5, 40.0, 1e3] {
                let (full, _) = inverse_yeo_johnson(t, lambda);
                let value = inverse_yeo_johnson_value(t, lambda);
                assert_eq!(full.to_bits(), value.to_bits(), "λ {lambda}, t {t}");
            }
        }
    }

    const VALUES: [f64; 10] = [-0.5, 1.2, 3.3, 0.1, 20.0, 7.5, -2.0, 0.0, 55.0, 2.2];

    /// λ against SciPy 1.17.1: `scipy.stats.yeojohnson(z)` on the standardized `VALUES`
    /// (`z = (y − mean)/std(ddof=1)`) gives λ = −1.5236659933587684, and on `−z`
    /// λ = 3.523665965801832.
    #[test]
    fn lambda_matches_scipy() {
        let lambda = YeoJohnson::maximum_likelihood_lambda(&VALUES);
        assert!((lambda + 1.523_665_993_358_768_4).abs() < 1e-6, "{lambda}");
        let negated: Vec<f64> = VALUES.iter().map(|v| -v).collect();
        let lambda = YeoJohnson::maximum_likelihood_lambda(&negated);
        assert!((lambda - 3.523_665_965_801_832).abs() < 1e-6, "{lambda}");
        // A long low (bad) tail: the test keeps the warp. A long high (good) tail: λ ≥ 1 only,
        // so no warp. Evenly spread values: none either.
        assert!((YeoJohnson::fit(&negated).lambda - 3.523_665_965_801_832).abs() < 1e-6);
        assert_eq!(YeoJohnson::fit(&VALUES).lambda, 1.0);
        let even: Vec<f64> = (0..40).map(|k| k as f64).collect();
        assert_eq!(YeoJohnson::fit(&even).lambda, 1.0);
    }

    #[test]
    fn strictly_increasing_and_continuous() {
        for lambda in [-4.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.7] {
            let mut last = f64::NEG_INFINITY;
            for k in -400..=400 {
                let v = yeo_johnson(k as f64 / 40.0, lambda);
                assert!(v > last, "λ = {lambda}, z = {}", k as f64 / 40.0);
                last = v;
            }
            let near = |z: f64| yeo_johnson(z, lambda);
            assert!((near(1e-9) - near(-1e-9)).abs() < 1e-8);
        }
        // λ = 1 is the identity.
        assert!((yeo_johnson(-3.0, 1.0) + 3.0).abs() < 1e-12);
        assert!((yeo_johnson(2.5, 1.0) - 2.5).abs() < 1e-12);
    }

    /// The inverse against the forward map, and its derivative against a central difference.
    #[test]
    fn inverse_undoes_the_warp() {
        for lambda in [-1.5, 0.0, 0.7, 1.0, 2.0, 3.5] {
            let warp = YeoJohnson {
                offset: 3.0,
                scale: 2.0,
                lambda,
            };
            for k in -30..=30 {
                let y = 3.0 + k as f64 / 5.0;
                let t = warp.apply(y);
                let (back, derivative) = warp.invert(t);
                assert!(
                    (back - y).abs() < 1e-9 * (1.0 + y.abs()),
                    "λ {lambda}, y {y}: {back}"
                );
                let h = 1e-6;
                let numeric = (warp.invert(t + h).0 - warp.invert(t - h).0) / (2.0 * h);
                assert!((numeric - derivative).abs() < 1e-5 * (1.0 + derivative.abs()));
            }
        }
        // Past the range of a λ < 0 warp: clamped, flat.
        let warp = YeoJohnson {
            offset: 0.0,
            scale: 1.0,
            lambda: -1.0,
        };
        assert_eq!(warp.invert(5.0), (INVERSE_LIMIT, 0.0));
    }

    #[test]
    fn too_few_distinct_values_only_standardize() {
        let fit = YeoJohnson::fit(&[2.0, 2.0, 4.0]);
        assert_eq!(fit.lambda, 1.0);
        assert!((fit.apply(4.0) - (4.0 - 8.0 / 3.0) / fit.scale).abs() < 1e-12);
    }

    /// The log-Jacobian against central differences of the warp, on both sides of the offset.
    #[test]
    fn log_derivative_is_the_slope() {
        for lambda in [1.0, 1.7, 2.0, 3.4] {
            let warp = YeoJohnson {
                offset: 2.0,
                scale: 0.5,
                lambda,
            };
            for y in [-3.0, 0.5, 1.9, 2.0, 2.3, 6.0] {
                let h = 1e-6;
                let slope = (warp.apply(y + h) - warp.apply(y - h)) / (2.0 * h);
                assert!(
                    (warp.log_derivative(y) - slope.ln()).abs() < 1e-6,
                    "λ {lambda}, y {y}: {} vs {}",
                    warp.log_derivative(y),
                    slope.ln()
                );
            }
        }
    }
}
