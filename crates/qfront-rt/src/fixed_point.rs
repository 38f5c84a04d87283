//! Fixed-point requantization multipliers (gemmlowp / TFLite style): a real multiplier
//! `M` is stored as a 31-bit mantissa `m` and a right shift `s` with `M ≈ m·2^(−s)`, and
//! applied to an integer as `(x·m + 2^(s−1)) >> s` (round half up) in i64.

use crate::{Result, RtError};

/// Chooses the largest shift in 1..=62 for which `|real|·2^shift < 2^31`.
fn shift_for(magnitude: f64) -> Option<u32> {
    if magnitude == 0.0 {
        return Some(62);
    }
    // |real|·2^shift ∈ [2^30, 2^31) ⇔ shift = 30 − floor(log2 |real|).
    let shift = 30 - magnitude.log2().floor() as i64;
    if shift < 1 {
        return None;
    }
    Some(shift.min(62) as u32)
}

fn mantissa(real: f64, shift: u32) -> i32 {
    (real * (shift as f64).exp2())
        .round()
        .clamp(i32::MIN as f64 + 1.0, i32::MAX as f64) as i32
}

/// A real multiplier as (mantissa, shift). Fails for non-finite values or `|real| ≥ 2^29`.
pub fn fixed_point(real: f64) -> Result<(i32, u32)> {
    let (m, _, s) = fixed_point_pair(real, 0.0)?;
    Ok((m, s))
}

/// Two multipliers on one shift (a layer's accumulator and its residual input), chosen by the
/// larger magnitude: `(main mantissa, residual mantissa, shift)`.
pub fn fixed_point_pair(main: f64, residual: f64) -> Result<(i32, i32, u32)> {
    if !main.is_finite() || !residual.is_finite() {
        return Err(RtError::Parameter {
            name: "requantization multiplier",
            reason: format!("{main} / {residual} is not finite"),
        });
    }
    let shift = shift_for(main.abs().max(residual.abs())).ok_or_else(|| RtError::Parameter {
        name: "requantization multiplier",
        reason: format!("{main} / {residual} is too large for a 31-bit mantissa with a shift ≥ 1"),
    })?;
    Ok((mantissa(main, shift), mantissa(residual, shift), shift))
}

/// `round_half_up(x·2^(−shift))` for `shift ≥ 1`.
#[inline(always)]
pub fn rounding_shift(x: i64, shift: u32) -> i64 {
    (x + (1i64 << (shift - 1))) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn represents_multipliers_to_31_bits() {
        for real in [0.000123, 0.5, 0.75, 1.0, 3.2e-7, 17.5, -0.0421] {
            let (m, s) = fixed_point(real).unwrap();
            let back = m as f64 / (s as f64).exp2();
            assert!(((back - real) / real).abs() < 1e-9, "{real} → {m}·2^-{s}");
            assert!(m.unsigned_abs() < 1 << 31 && m.unsigned_abs() >= 1 << 29 || s == 62);
        }
        assert!(fixed_point(f64::NAN).is_err());
        assert!(fixed_point(1e12).is_err());
    }

    #[test]
    fn rounding_shift_rounds_half_up() {
        assert_eq!(rounding_shift(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_shift(-5, 1), -2); // −2.5 → −2
        assert_eq!(rounding_shift(7, 2), 2); // 1.75 → 2
        assert_eq!(rounding_shift(-7, 2), -2);
    }
}
