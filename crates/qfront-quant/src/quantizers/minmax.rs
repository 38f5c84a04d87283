//! Min-max uniform quantization, the simplest baseline.
//!
//! * Symmetric (zero-aligned, signed): `s = max|w|/(2^{b−1} − 1)`,
//!   `w_q = s·clamp(round(w/s), −(2^{b−1} − 1), 2^{b−1} − 1)`.
//! * Asymmetric (affine, unsigned codes): `s = (max w − min w)/(2^b − 1)`,
//!   `z = round(−min w/s)`, `q = clamp(round(w/s) + z, 0, 2^b − 1)`, `w_q = s·(q − z)`.
//!
//! The range covers every weight, so the straight-through gradient is 1 everywhere.

use super::pact::check_len;
use super::Real;
use crate::{BitWidth, QuantError, Result};

/// Whether the range is symmetric around zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MinMaxMode {
    /// Signed levels `−(2^{b−1} − 1)..=2^{b−1} − 1` times `max|w|/(2^{b−1} − 1)`.
    #[default]
    Symmetric,
    /// `2^b` levels spanning `[min w, max w]` with an integer zero point.
    Asymmetric,
}

/// Scale and zero point of one tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinMaxRange<T> {
    /// Step between levels.
    pub scale: T,
    /// Integer code of 0 (0 in symmetric mode).
    pub zero_point: T,
    /// Smallest integer code.
    pub qmin: T,
    /// Largest integer code.
    pub qmax: T,
}

/// A validated min-max quantizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinMax {
    bits: BitWidth,
    mode: MinMaxMode,
}

impl MinMax {
    /// A b-bit min-max quantizer, b in 2..=8.
    pub fn new(bits: u32, mode: MinMaxMode) -> Result<Self> {
        Ok(Self {
            bits: BitWidth::new(bits)?,
            mode,
        })
    }

    /// The bit width.
    pub fn bits(&self) -> BitWidth {
        self.bits
    }

    /// The range of a tensor.
    pub fn range<T: Real>(&self, w: &[T]) -> Result<MinMaxRange<T>> {
        if w.is_empty() {
            return Err(QuantError::Empty {
                what: "min-max tensor",
            });
        }
        let (lo, hi) = w
            .iter()
            .fold((T::infinity(), T::neg_infinity()), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        Ok(self.range_from_bounds(lo, hi))
    }

    /// [`MinMax::range`] from the tensor's smallest and largest values, for callers that
    /// reduce the tensor themselves (in parallel).
    pub fn range_from_bounds<T: Real>(&self, lo: T, hi: T) -> MinMaxRange<T> {
        let tiny = T::of(1e-12);
        match self.mode {
            MinMaxMode::Symmetric => {
                let qmax = T::of(((1u64 << (self.bits.get() - 1)) - 1) as f64);
                let scale = (lo.abs().max(hi.abs()) / qmax).max(tiny);
                MinMaxRange {
                    scale,
                    zero_point: T::zero(),
                    qmin: -qmax,
                    qmax,
                }
            }
            MinMaxMode::Asymmetric => {
                let qmax = T::of(self.bits.unsigned_steps() as f64);
                // The range must contain zero so that zero is exact (padding, ReLU outputs).
                let (lo, hi) = (lo.min(T::zero()), hi.max(T::zero()));
                let scale = ((hi - lo) / qmax).max(tiny);
                let zero_point = (-lo / scale).round_even().max(T::zero()).min(qmax);
                MinMaxRange {
                    scale,
                    zero_point,
                    qmin: T::zero(),
                    qmax,
                }
            }
        }
    }

    /// Quantizes one value in a given range.
    #[inline]
    pub fn quantize_one<T: Real>(range: &MinMaxRange<T>, w: T) -> T {
        let q = ((w / range.scale).round_even() + range.zero_point)
            .max(range.qmin)
            .min(range.qmax);
        (q - range.zero_point) * range.scale
    }

    /// Forward pass; returns the range used.
    pub fn forward<T: Real>(&self, w: &[T], out: &mut [T]) -> Result<MinMaxRange<T>> {
        check_len("min-max output", w.len(), out.len())?;
        let r = self.range(w)?;
        for (o, &v) in out.iter_mut().zip(w) {
            *o = Self::quantize_one(&r, v);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizers::test_support::assert_close;
    use proptest::prelude::*;

    #[test]
    fn symmetric_known_values() {
        // 3 bits: levels −3..3, scale = 1.2/3 = 0.4.
        let w: [f64; 5] = [-0.9, -0.1, 0.0, 0.3, 1.2];
        let mut out = [0.0; 5];
        let r = MinMax::new(3, MinMaxMode::Symmetric)
            .unwrap()
            .forward(&w, &mut out)
            .unwrap();
        assert!((r.scale - 0.4).abs() < 1e-12);
        assert_close(&out, &[-0.8, 0.0, 0.0, 0.4, 1.2], 1e-12);
    }

    #[test]
    fn asymmetric_known_values() {
        // 2 bits over [−1, 2]: scale 1, zero point 1, levels −1, 0, 1, 2.
        let w: [f64; 6] = [-1.0, -0.4, 0.0, 0.6, 1.5, 2.0];
        let mut out = [0.0; 6];
        let r = MinMax::new(2, MinMaxMode::Asymmetric)
            .unwrap()
            .forward(&w, &mut out)
            .unwrap();
        assert_eq!((r.scale, r.zero_point), (1.0, 1.0));
        assert_close(&out, &[-1.0, 0.0, 0.0, 1.0, 2.0, 2.0], 1e-12);
    }

    proptest! {
        #[test]
        fn grid_idempotent_monotone_and_exact_zero(bits in 2u32..=8, asym in any::<bool>(),
                                                   mut w in prop::collection::vec(-5.0f64..5.0, 1..48)) {
            let mode = if asym { MinMaxMode::Asymmetric } else { MinMaxMode::Symmetric };
            w.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let q = MinMax::new(bits, mode).unwrap();
            let mut out = vec![0.0; w.len()];
            let r = q.forward(&w, &mut out).unwrap();
            for pair in out.windows(2) { prop_assert!(pair[0] <= pair[1] + 1e-12); }
            for &o in &out {
                let k = o / r.scale;
                prop_assert!((k - k.round()).abs() < 1e-6);
                prop_assert!((MinMax::quantize_one(&r, o) - o).abs() < 1e-9);
            }
            prop_assert_eq!(MinMax::quantize_one(&r, 0.0), 0.0);
            // Error is at most half a step inside the range.
            for (&v, &o) in w.iter().zip(&out) { prop_assert!((v - o).abs() <= 0.5 * r.scale + 1e-9); }
        }
    }
}
