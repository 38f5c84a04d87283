//! DoReFa weight quantization, the weight scheme PACT was published with (methods-spec §1.4).
//!
//! `w_q = 2·Q_k(tanh(w)/(2·max|tanh(w)|) + ½) − 1`, `Q_k(r) = round((2^k − 1)·r)/(2^k − 1)`,
//! max over the tensor; outputs in [−1, 1] on levels `(2j − n)/n`, zero not a level. The STE
//! sets `dQ_k/dr = 1`, so the backward pass is the exact gradient of
//! `tanh(w)/max|tanh(w)|`, including the term through the max (as autograd computes it).

use super::pact::check_len;
use super::Real;
use crate::{BitWidth, QuantError, Result};

/// A validated k-bit DoReFa weight quantizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoReFa {
    bits: BitWidth,
}

impl DoReFa {
    /// A k-bit quantizer, k in 2..=8.
    pub fn new(bits: u32) -> Result<Self> {
        Ok(Self {
            bits: BitWidth::new(bits)?,
        })
    }

    /// The bit width.
    pub fn bits(&self) -> BitWidth {
        self.bits
    }

    fn max_tanh<T: Real>(w: &[T]) -> Result<(T, usize)> {
        if w.is_empty() {
            return Err(QuantError::Empty {
                what: "DoReFa weight tensor",
            });
        }
        let mut best = (T::zero(), 0);
        for (i, &v) in w.iter().enumerate() {
            let t = v.tanh().abs();
            if t > best.0 {
                best = (t, i);
            }
        }
        if best.0 == T::zero() {
            // All-zero tensor: any positive normaliser maps every weight to r = ½.
            best.0 = T::one();
        }
        Ok(best)
    }

    /// Forward pass over a tensor.
    pub fn forward<T: Real>(&self, w: &[T], out: &mut [T]) -> Result<()> {
        check_len("DoReFa output", w.len(), out.len())?;
        let (m, _) = Self::max_tanh(w)?;
        let n = T::of(self.bits.unsigned_steps() as f64);
        let half = T::of(0.5);
        let two = T::of(2.0);
        for (o, &v) in out.iter_mut().zip(w) {
            let r = v.tanh() / (two * m) + half;
            *o = two * ((n * r).round_even() / n) - T::one();
        }
        Ok(())
    }

    /// Backward pass: `dL/dw` through the STE.
    pub fn backward<T: Real>(&self, w: &[T], grad_out: &[T], grad_w: &mut [T]) -> Result<()> {
        check_len("DoReFa upstream gradient", w.len(), grad_out.len())?;
        check_len("DoReFa weight gradient", w.len(), grad_w.len())?;
        let (m, arg) = Self::max_tanh(w)?;
        let mut through_max = T::zero();
        for ((gw, &v), &g) in grad_w.iter_mut().zip(w).zip(grad_out) {
            let t = v.tanh();
            *gw = g * (T::one() - t * t) / m;
            through_max = through_max + g * t;
        }
        let t = w[arg].tanh();
        if t != T::zero() {
            grad_w[arg] = grad_w[arg] - through_max / (m * m) * t.signum() * (T::one() - t * t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizers::test_support::{assert_close, finite_difference};
    use proptest::prelude::*;

    const W: [f64; 12] = [
        -0.9, -0.5, -0.3, -0.1, -0.05, 0.0, 0.02, 0.1, 0.25, 0.4, 0.6, 1.2,
    ];

    fn run(bits: u32) -> Vec<f64> {
        let mut out = vec![0.0; 12];
        DoReFa::new(bits).unwrap().forward(&W, &mut out).unwrap();
        out
    }

    #[test]
    fn golden_k2() {
        let t = 1.0 / 3.0;
        assert_close(
            &run(2),
            &[-1.0, -t, -t, -t, -t, t, t, t, t, t, t, 1.0],
            1e-12,
        );
    }

    #[test]
    fn golden_k3() {
        let e: Vec<f64> = [
            -7.0, -3.0, -3.0, -1.0, -1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 5.0, 7.0,
        ]
        .iter()
        .map(|v| v / 7.0)
        .collect();
        assert_close(&run(3), &e, 1e-12);
    }

    #[test]
    fn golden_k4() {
        let e: Vec<f64> = [
            -13.0, -9.0, -5.0, -1.0, -1.0, 1.0, 1.0, 1.0, 5.0, 7.0, 9.0, 15.0,
        ]
        .iter()
        .map(|v| v / 15.0)
        .collect();
        assert_close(&run(4), &e, 1e-12);
    }

    proptest! {
        #[test]
        fn grid_and_monotone(bits in 2u32..=8, mut w in prop::collection::vec(-3.0f64..3.0, 1..48)) {
            w.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let q = DoReFa::new(bits).unwrap();
            let mut out = vec![0.0; w.len()];
            q.forward(&w, &mut out).unwrap();
            let n = ((1u64 << bits) - 1) as f64;
            for pair in out.windows(2) { prop_assert!(pair[0] <= pair[1] + 1e-12); }
            for &o in &out {
                let j = (o + 1.0) * n / 2.0;
                prop_assert!((j - j.round()).abs() < 1e-9 && (-1.0 - 1e-12..=1.0 + 1e-12).contains(&o));
            }
        }

        /// The STE gradient is the gradient of the surrogate `Σ g_i·tanh(w_i)/max|tanh(w)|`.
        #[test]
        fn gradient_matches_surrogate(w in prop::collection::vec(-2.0f64..2.0, 2..12),
                                      g in prop::collection::vec(-1.0f64..1.0, 12)) {
            let g = &g[..w.len()];
            // The max must be unique for the surrogate to be differentiable.
            let mut mags: Vec<f64> = w.iter().map(|v| v.abs()).collect();
            mags.sort_by(|a, b| b.partial_cmp(a).unwrap());
            prop_assume!(mags[0] - mags[1] > 1e-3 && mags[0] > 1e-3);
            let q = DoReFa::new(3).unwrap();
            let mut grad = vec![0.0; w.len()];
            q.backward(&w, g, &mut grad).unwrap();
            for j in 0..w.len() {
                let f = |x: f64| {
                    let mut v = w.clone();
                    v[j] = x;
                    let m = v.iter().map(|a| a.tanh().abs()).fold(0.0, f64::max);
                    v.iter().zip(g).map(|(a, gi)| gi * a.tanh() / m).sum::<f64>()
                };
                let fd = finite_difference(f, w[j], 1e-6);
                prop_assert!((grad[j] - fd).abs() < 1e-5, "j={j}: {} vs {fd}", grad[j]);
            }
        }
    }
}
