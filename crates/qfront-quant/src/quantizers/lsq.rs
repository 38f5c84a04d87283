//! LSQ: learned step size quantization (Esser et al. 2020, arXiv:1902.08153), a baseline.
//!
//! Forward: `v̂ = round(clamp(v/s, −Q_N, Q_P))·s`, with `Q_N = 2^{b−1}`, `Q_P = 2^{b−1} − 1`
//! for signed data (weights) and `Q_N = 0`, `Q_P = 2^b − 1` for unsigned data (activations).
//! Backward (STE through round): `∂v̂/∂v = 1[−Q_N < v/s < Q_P]`;
//! `∂v̂/∂s = round(v/s) − v/s` inside, `−Q_N` below, `Q_P` above, multiplied by the gradient
//! scale `g = 1/√(N·Q_P)`. Initial step `s = 2·E|v|/√Q_P`.

use super::pact::check_len;
use super::Real;
use crate::{BitWidth, QuantError, Result};

/// A validated LSQ quantizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lsq {
    bits: BitWidth,
    signed: bool,
}

impl Lsq {
    /// A b-bit LSQ quantizer (b in 2..=8), signed for weights, unsigned for activations.
    pub fn new(bits: u32, signed: bool) -> Result<Self> {
        Ok(Self {
            bits: BitWidth::new(bits)?,
            signed,
        })
    }

    /// `(Q_N, Q_P)`.
    pub fn limits(&self) -> (f64, f64) {
        let b = self.bits.get();
        if self.signed {
            ((1u64 << (b - 1)) as f64, ((1u64 << (b - 1)) - 1) as f64)
        } else {
            (0.0, ((1u64 << b) - 1) as f64)
        }
    }

    /// The paper's initial step `2·E|v|/√Q_P`.
    pub fn initial_step<T: Real>(&self, v: &[T]) -> Result<T> {
        if v.is_empty() {
            return Err(QuantError::Empty { what: "LSQ tensor" });
        }
        let mean_abs = v.iter().map(|x| x.abs()).sum::<T>() / T::of(v.len() as f64);
        Ok((T::of(2.0) * mean_abs / T::of(self.limits().1.sqrt())).max(T::of(1e-8)))
    }

    /// Quantizes one value with step `s`.
    #[inline]
    pub fn quantize_one<T: Real>(&self, v: T, step: T) -> T {
        let (qn, qp) = self.limits();
        (v / step).max(T::of(-qn)).min(T::of(qp)).round_even() * step
    }

    /// Forward pass.
    pub fn forward<T: Real>(&self, v: &[T], step: T, out: &mut [T]) -> Result<()> {
        check_len("LSQ output", v.len(), out.len())?;
        for (o, &x) in out.iter_mut().zip(v) {
            *o = self.quantize_one(x, step);
        }
        Ok(())
    }

    /// Backward pass: writes `dL/dv`, returns `dL/ds` (already multiplied by `g`).
    pub fn backward<T: Real>(
        &self,
        v: &[T],
        step: T,
        grad_out: &[T],
        grad_v: &mut [T],
    ) -> Result<T> {
        check_len("LSQ upstream gradient", v.len(), grad_out.len())?;
        check_len("LSQ input gradient", v.len(), grad_v.len())?;
        let (qn, qp) = self.limits();
        let (qn, qp) = (T::of(qn), T::of(qp));
        let mut grad_step = T::zero();
        for ((gv, &x), &g) in grad_v.iter_mut().zip(v).zip(grad_out) {
            let z = x / step;
            if z <= -qn {
                *gv = T::zero();
                grad_step = grad_step - g * qn;
            } else if z >= qp {
                *gv = T::zero();
                grad_step = grad_step + g * qp;
            } else {
                *gv = g;
                grad_step = grad_step + g * (z.round_even() - z);
            }
        }
        let scale = T::one() / (T::of(v.len() as f64) * qp).sqrt();
        Ok(grad_step * scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizers::test_support::finite_difference;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        let q = Lsq::new(2, true).unwrap(); // levels −2..1
        let mut out = [0.0; 4];
        q.forward(&[-3.0, -0.6, 0.4, 5.0], 1.0, &mut out).unwrap();
        assert_eq!(out, [-2.0, -1.0, 0.0, 1.0]);
        assert_eq!(Lsq::new(3, false).unwrap().limits(), (0.0, 7.0));
    }

    proptest! {
        /// The step gradient is the derivative of the STE surrogate `s·(z(s) + round(z₀) − z₀)`
        /// inside the range and of `s·Q` outside, times the gradient scale.
        #[test]
        fn step_gradient_matches_surrogate(bits in 2u32..=8, signed in any::<bool>(),
                                           x in -10.0f64..10.0, step in 0.05f64..2.0) {
            let q = Lsq::new(bits, signed).unwrap();
            let (qn, qp) = q.limits();
            let z0 = x / step;
            prop_assume!((z0 + qn).abs() > 1e-4 && (z0 - qp).abs() > 1e-4);
            let residual = z0.round_ties_even() - z0;
            let surrogate = |s: f64| {
                let z = x / s;
                if z <= -qn { -qn * s } else if z >= qp { qp * s } else { s * (z + residual) }
            };
            let mut gv = [0.0];
            let gs = q.backward(&[x], step, &[1.0], &mut gv).unwrap();
            let fd = finite_difference(surrogate, step, 1e-7) / qp.sqrt();
            prop_assert!((gs - fd).abs() < 1e-5, "{gs} vs {fd}");
            prop_assert_eq!(gv[0], if z0 > -qn && z0 < qp { 1.0 } else { 0.0 });
        }

        #[test]
        fn idempotent_on_grid(bits in 2u32..=8, x in -10.0f64..10.0, step in 0.05f64..2.0) {
            let q = Lsq::new(bits, true).unwrap();
            let y = q.quantize_one(x, step);
            prop_assert!((q.quantize_one(y, step) - y).abs() < 1e-9);
            let k = y / step;
            prop_assert!((k - k.round()).abs() < 1e-9);
        }
    }
}
