//! Rounding rule shared by every quantizer.

/// Rounds to the nearest integer, ties to even — the rule of `torch.round` and of burn's
/// `round`, which the reference implementations rely on (methods-spec §1.8 item 1).
/// `f32::round` rounds ties away from zero and would disagree with the golden vectors.
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    x.round_ties_even()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_even() {
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(-0.5), -0.0);
        assert_eq!(round_half_even(-1.5), -2.0);
        assert_eq!(round_half_even(1.4999), 1.0);
    }
}
