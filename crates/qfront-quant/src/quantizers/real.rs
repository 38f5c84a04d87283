//! The floating-point element type quantizers run on.

/// `f32` or `f64`: a float with the half-to-even rounding every quantizer uses.
pub trait Real:
    num_traits::Float
    + num_traits::FromPrimitive
    + std::iter::Sum
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Round to nearest, ties to even (`torch.round`), see [`crate::round_half_even`].
    fn round_even(self) -> Self;
    /// Convert from `f64` (constants).
    fn of(x: f64) -> Self;
}

impl Real for f32 {
    #[inline]
    fn round_even(self) -> Self {
        self.round_ties_even()
    }
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
}

impl Real for f64 {
    #[inline]
    fn round_even(self) -> Self {
        self.round_ties_even()
    }
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
}
