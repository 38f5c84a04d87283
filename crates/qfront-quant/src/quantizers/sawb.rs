//! SAWB: statistics-aware weight binning (Choi et al. 2018, arXiv:1807.06964;
//! methods-spec §2).
//!
//! Scale (§2.2): `α_w = c1·√E[w²] − c2·E|w|` over the tensor or over each output channel,
//! falling back to `max|w|` when the formula is not positive. Quantization (§2.4):
//! `u = clamp(w/α, −1, 1)/2 + 1/2`, `w_q = α·(2·round(n·u)/n − 1)` with `n` from the grid.
//! Backward (§2.6): the STE is zeroed where `|w| > α` (`SAWBSTE`), or passes everywhere
//! (`SAWB+`). α itself is a statistic with no gradient; evaluation uses an EMA of it
//! (`clip ← 0.9·clip + 0.1·α_new`, reset on the first update).

use super::pact::check_len;
pub use super::sawb_coefficients::{
    sawb_coefficients, CoefficientSource, SawbCoefficients, SawbGrid,
};
use super::Real;
use crate::{BitWidth, QuantError, Result};

/// Gradient rule of the SAWB straight-through estimator (methods-spec §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SawbGradient {
    /// `SAWBSTE`: gradient 1 where `|w| ≤ α`, 0 in the clipped region.
    #[default]
    Clipped,
    /// `SAWB+`: gradient 1 everywhere.
    PassThrough,
}

/// How many scales a weight tensor gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleGranularity {
    /// One α for the whole tensor.
    #[default]
    PerTensor,
    /// One α per output channel (the first dimension of the weight).
    PerOutputChannel,
}

/// A validated SAWB weight quantizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sawb {
    bits: BitWidth,
    grid: SawbGrid,
    gradient: SawbGradient,
    coefficients: SawbCoefficients,
}

impl Sawb {
    /// A b-bit SAWB quantizer (b in 2..=8) on `grid`.
    pub fn new(bits: u32, grid: SawbGrid, gradient: SawbGradient) -> Result<Self> {
        let bits = BitWidth::new(bits)?;
        Ok(Self {
            bits,
            grid,
            gradient,
            coefficients: sawb_coefficients(grid, bits),
        })
    }

    /// The weight bit width.
    pub fn bits(&self) -> BitWidth {
        self.bits
    }

    /// The grid.
    pub fn grid(&self) -> SawbGrid {
        self.grid
    }

    /// The straight-through rule of the backward pass.
    pub fn gradient(&self) -> SawbGradient {
        self.gradient
    }

    /// The coefficients in use.
    pub fn coefficients(&self) -> SawbCoefficients {
        self.coefficients
    }

    /// Number of grid steps `n` between −α and α.
    pub fn steps(&self) -> u32 {
        self.grid.steps(self.bits)
    }

    /// `α_w = c1·√E[w²] − c2·E|w|`, or `max|w|` when that is not positive (§2.2).
    pub fn scale<T: Real>(&self, w: &[T]) -> Result<T> {
        if w.is_empty() {
            return Err(QuantError::Empty {
                what: "SAWB weight tensor",
            });
        }
        Ok(self.scale_unchecked(w))
    }

    fn scale_unchecked<T: Real>(&self, w: &[T]) -> T {
        let mut sum_sq = T::zero();
        let mut sum_abs = T::zero();
        let mut max_abs = T::zero();
        for &v in w {
            sum_sq = sum_sq + v * v;
            sum_abs = sum_abs + v.abs();
            max_abs = max_abs.max(v.abs());
        }
        self.scale_from_moments(sum_sq, sum_abs, max_abs, w.len())
    }

    /// [`Sawb::scale`] from the tensor's moments — `Σw²`, `Σ|w|`, `max|w|` over `len > 0`
    /// weights — for callers that reduce the tensor themselves (in parallel, or in wider
    /// arithmetic).
    pub fn scale_from_moments<T: Real>(&self, sum_sq: T, sum_abs: T, max_abs: T, len: usize) -> T {
        let len = T::of(len as f64);
        let rms = (sum_sq / len).sqrt();
        let mean_abs = sum_abs / len;
        let alpha = T::of(self.coefficients.c1) * rms - T::of(self.coefficients.c2) * mean_abs;
        if alpha > T::zero() {
            alpha
        } else {
            max_abs
        }
    }

    /// One α per output channel: `w` is `[channels, rest…]` row-major.
    pub fn channel_scales<T: Real>(&self, w: &[T], channels: usize) -> Result<Vec<T>> {
        let per = per_channel_len(w.len(), channels)?;
        Ok(w.chunks(per).map(|c| self.scale_unchecked(c)).collect())
    }

    /// Quantizes one weight given its scale α (must be > 0).
    #[inline]
    pub fn quantize_one<T: Real>(&self, w: T, alpha: T) -> T {
        let n = T::of(self.steps() as f64);
        let one = T::one();
        let half = T::of(0.5);
        let two = T::of(2.0);
        let u = (w / alpha).max(-one).min(one) * half + half;
        alpha * (two * (n * u).round_even() / n - one)
    }

    /// The signed integer level of one weight: `round(n·u)·2 − n`, an odd integer on the
    /// no-zero grid and an even one on the zero-aligned grid (divide by 2 there).
    #[inline]
    pub fn integer_level<T: Real>(&self, w: T, alpha: T) -> i32 {
        let n = T::of(self.steps() as f64);
        let one = T::one();
        let half = T::of(0.5);
        let u = (w / alpha).max(-one).min(one) * half + half;
        2 * (n * u).round_even().to_i32().unwrap_or(0) - self.steps() as i32
    }

    /// Forward pass with one scale (per tensor). Returns the α it used.
    pub fn forward<T: Real>(&self, w: &[T], out: &mut [T]) -> Result<T> {
        check_len("SAWB output", w.len(), out.len())?;
        let alpha = self.scale(w)?;
        self.forward_with_scale(w, alpha, out);
        Ok(alpha)
    }

    /// Forward pass with a given α (evaluation uses the EMA scale).
    pub fn forward_with_scale<T: Real>(&self, w: &[T], alpha: T, out: &mut [T]) {
        for (o, &v) in out.iter_mut().zip(w) {
            *o = self.quantize_one(v, alpha);
        }
    }

    /// Forward pass with one α per output channel. Returns the scales.
    pub fn forward_per_channel<T: Real>(
        &self,
        w: &[T],
        channels: usize,
        out: &mut [T],
    ) -> Result<Vec<T>> {
        check_len("SAWB output", w.len(), out.len())?;
        let scales = self.channel_scales(w, channels)?;
        let per = w.len() / channels;
        for ((wc, oc), &a) in w.chunks(per).zip(out.chunks_mut(per)).zip(&scales) {
            self.forward_with_scale(wc, a, oc);
        }
        Ok(scales)
    }

    /// Backward pass (per tensor): `dL/dw` from the upstream gradient and the α used forward.
    pub fn backward<T: Real>(
        &self,
        w: &[T],
        alpha: T,
        grad_out: &[T],
        grad_w: &mut [T],
    ) -> Result<()> {
        check_len("SAWB upstream gradient", w.len(), grad_out.len())?;
        check_len("SAWB weight gradient", w.len(), grad_w.len())?;
        for ((gw, &v), &g) in grad_w.iter_mut().zip(w).zip(grad_out) {
            *gw = match self.gradient {
                SawbGradient::Clipped if v.abs() > alpha => T::zero(),
                _ => g,
            };
        }
        Ok(())
    }
}

fn per_channel_len(len: usize, channels: usize) -> Result<usize> {
    if channels == 0 || len == 0 || !len.is_multiple_of(channels) {
        return Err(QuantError::LengthMismatch {
            what: "SAWB per-channel weight (a multiple of the channel count)",
            expected: channels.max(1),
            actual: len,
        });
    }
    Ok(len / channels)
}

/// Exponential moving average of the SAWB scale used at evaluation time (S2 `SAWB_rc`:
/// `clip ← (1 − m)·clip + m·α_new`, `m = 0.1`, reset on the first update).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SawbScaleEma {
    momentum: f64,
    value: Option<Vec<f64>>,
}

impl Default for SawbScaleEma {
    fn default() -> Self {
        Self {
            momentum: 0.1,
            value: None,
        }
    }
}

impl SawbScaleEma {
    /// An EMA with momentum `m` in (0, 1].
    pub fn new(momentum: f64) -> Result<Self> {
        if !(momentum > 0.0 && momentum <= 1.0) {
            return Err(QuantError::InvalidParameter {
                name: "SAWB EMA momentum",
                value: momentum,
                reason: "must lie in (0, 1]",
            });
        }
        Ok(Self {
            momentum,
            value: None,
        })
    }

    /// Folds in the scales of one training step (one per tensor or per channel).
    pub fn update(&mut self, scales: &[f64]) {
        match &mut self.value {
            Some(v) if v.len() == scales.len() => {
                for (c, &s) in v.iter_mut().zip(scales) {
                    *c = (1.0 - self.momentum) * *c + self.momentum * s;
                }
            }
            _ => self.value = Some(scales.to_vec()),
        }
    }

    /// The current scales, or `None` before the first update.
    pub fn value(&self) -> Option<&[f64]> {
        self.value.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizers::test_support::assert_close;
    use proptest::prelude::*;

    /// methods-spec §2.7 input.
    const W: [f64; 12] = [
        -0.9, -0.5, -0.3, -0.1, -0.05, 0.0, 0.02, 0.1, 0.25, 0.4, 0.6, 1.2,
    ];

    fn sawb(bits: u32, grid: SawbGrid) -> Sawb {
        Sawb::new(bits, grid, SawbGradient::Clipped).unwrap()
    }

    #[test]
    fn golden_clips() {
        for (b, expected) in [
            (2, 0.84976263),
            (3, 1.33628954),
            (4, 1.82854916),
            (5, 2.28857651),
            (8, 3.48260117),
        ] {
            let a = sawb(b, SawbGrid::NoZero).scale(&W).unwrap();
            assert!((a - expected).abs() < 1e-7, "b={b}: {a} vs {expected}");
        }
        for (b, expected) in [(2, 0.71181886), (4, 1.77932875), (8, 3.48260117)] {
            let a = sawb(b, SawbGrid::ZeroAligned).scale(&W).unwrap();
            assert!(
                (a - expected).abs() < 1e-7,
                "zero-aligned b={b}: {a} vs {expected}"
            );
        }
    }

    #[test]
    fn golden_sawb_ste_2bit() {
        let q = sawb(2, SawbGrid::NoZero);
        let mut out = [0.0; 12];
        let a = q.forward(&W, &mut out).unwrap();
        let t = a / 3.0;
        assert!((t - 0.28325421).abs() < 1e-7);
        assert_close(&out, &[-a, -t, -t, -t, -t, t, t, t, t, t, a, a], 1e-12);
        let mut g = [0.0; 12];
        q.backward(&W, a, &[1.0; 12], &mut g).unwrap();
        assert_close(
            &g,
            &[0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
            0.0,
        );
        let plus = Sawb::new(2, SawbGrid::NoZero, SawbGradient::PassThrough).unwrap();
        plus.backward(&W, a, &[1.0; 12], &mut g).unwrap();
        assert_close(&g, &[1.0; 12], 0.0);
    }

    #[test]
    fn golden_sawb_zero_ternary() {
        let q = sawb(2, SawbGrid::ZeroAligned);
        let mut out = [0.0; 12];
        let a = q.forward(&W, &mut out).unwrap();
        assert_close(
            &out,
            &[-a, -a, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, a, a, a],
            1e-12,
        );
    }

    #[test]
    fn golden_sawb_zero_4bit() {
        let q = sawb(4, SawbGrid::ZeroAligned);
        let mut out = [0.0; 12];
        let a = q.forward(&W, &mut out).unwrap();
        let step = 2.0 * a / 14.0;
        assert!((step - 0.25418982).abs() < 1e-7);
        let expected: Vec<f64> = [
            -4.0, -2.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 5.0,
        ]
        .iter()
        .map(|k| k * step)
        .collect();
        assert_close(&out, &expected, 1e-12);
        let levels: Vec<i32> = W.iter().map(|&w| q.integer_level(w, a) / 2).collect();
        assert_eq!(levels, vec![-4, -2, -1, 0, 0, 0, 0, 0, 1, 2, 2, 5]);
    }

    #[test]
    fn negative_formula_falls_back_to_max_abs() {
        // All magnitudes equal: ρ = 1 > c1/c2 at 4 bits, the formula goes negative.
        let w = [0.5, -0.5, 0.5, -0.5];
        let q = sawb(4, SawbGrid::NoZero);
        assert_eq!(q.scale(&w).unwrap(), 0.5);
    }

    #[test]
    fn per_channel_matches_per_tensor_on_each_row() {
        let q = sawb(2, SawbGrid::ZeroAligned);
        let w: Vec<f64> = W
            .iter()
            .chain(W.iter().map(|v| v * 3.0).collect::<Vec<_>>().iter())
            .copied()
            .collect();
        let mut out = vec![0.0; 24];
        let scales = q.forward_per_channel(&w, 2, &mut out).unwrap();
        assert!((scales[0] - 0.71181886).abs() < 1e-7);
        assert!((scales[1] - 3.0 * 0.71181886).abs() < 1e-6);
        assert!(q.channel_scales(&w, 5).is_err());
        assert!(q.channel_scales(&w, 0).is_err());
        assert!(q.scale::<f64>(&[]).is_err());
    }

    #[test]
    fn ema_resets_then_averages() {
        let mut ema = SawbScaleEma::default();
        assert!(ema.value().is_none());
        ema.update(&[1.0]);
        assert_eq!(ema.value().unwrap(), &[1.0]);
        ema.update(&[2.0]);
        assert!((ema.value().unwrap()[0] - 1.1).abs() < 1e-12);
        assert!(SawbScaleEma::new(0.0).is_err());
        assert!(SawbScaleEma::new(1.5).is_err());
    }

    proptest! {
        #[test]
        fn grid_idempotent_monotone(bits in 2u32..=8, zero in any::<bool>(),
                                    mut w in prop::collection::vec(-3.0f64..3.0, 2..64)) {
            let grid = if zero { SawbGrid::ZeroAligned } else { SawbGrid::NoZero };
            let q = sawb(bits, grid);
            w.sort_by(|a, b| a.partial_cmp(b).unwrap());
            prop_assume!(w.iter().any(|v| v.abs() > 1e-6));
            let mut out = vec![0.0; w.len()];
            let a = q.forward(&w, &mut out).unwrap();
            let n = q.steps() as f64;
            for pair in out.windows(2) { prop_assert!(pair[0] <= pair[1] + 1e-12); }
            for &o in &out {
                // level index j = (o/α + 1)·n/2 must be an integer in 0..=n.
                let j = (o / a + 1.0) * n / 2.0;
                prop_assert!((j - j.round()).abs() < 1e-6 && j > -1e-6 && j < n + 1e-6, "off grid {o}");
                prop_assert!((q.quantize_one(o, a) - o).abs() < 1e-9);
            }
        }

        /// The STE gradient equals the derivative of the clamp `clamp(w, −α, α)` away from ±α.
        #[test]
        fn clipped_gradient_is_clamp_derivative(w in -3.0f64..3.0, alpha in 0.1f64..2.0) {
            prop_assume!((w.abs() - alpha).abs() > 1e-4);
            let q = sawb(3, SawbGrid::NoZero);
            let mut g = [0.0];
            q.backward(&[w], alpha, &[1.0], &mut g).unwrap();
            let fd = crate::quantizers::test_support::finite_difference(|v| v.max(-alpha).min(alpha), w, 1e-6);
            prop_assert!((g[0] - fd).abs() < 1e-6);
        }
    }
}
