//! PACT: parameterized clipping activation (Choi et al. 2018, arXiv:1805.06085;
//! methods-spec §1).
//!
//! Forward (§1.1): `y = clamp(x, 0, α)`, `y_q = round(y·n/α)·α/n` with `n = 2^k − 1` and
//! half-to-even rounding, so the grid is `{0, α/n, …, α}` and zero is exact.
//!
//! Backward, paper rule (§1.2, S4's partition): `dL/dx = g·1[0 ≤ x < α]`,
//! `dL/dα = Σ g·1[x ≥ α]`. PACT+ (S2 `PACTplusSTE`) applies the STE to `round` only:
//! `∂y_q/∂α = (round(z) − z)/n` on `0 < x < α` with `z = x/(α/n)`, `1` for `x ≥ α`, and the
//! x-gradient is `1` on the open interval `(0, α)`.
//!
//! The clip α is kept `≥ ε` after every step and decayed with L2 like the weights (§1.3).

use super::Real;
use crate::{BitWidth, QuantError, Result};

/// Which straight-through gradient to use for α and x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PactGradient {
    /// The paper's partition: `[0, α)` feeds x, `[α, ∞)` feeds α (methods-spec §1.2).
    #[default]
    Paper,
    /// PACT+: exact gradient of the rounding residual for α (LSQ-like).
    Plus,
}

/// Smallest clip value α may take; below it the step `α/n` would vanish.
pub const PACT_ALPHA_EPSILON: f64 = 1e-3;

/// Initial clip value of the paper's ResNet-20 run (Fig. 2, methods-spec §1.3).
pub const PACT_ALPHA_INIT: f64 = 10.0;

/// A validated PACT activation quantizer for one layer (the α itself is a training parameter
/// and is passed in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pact {
    bits: BitWidth,
    gradient: PactGradient,
}

impl Pact {
    /// A k-bit PACT quantizer, `k` in 2..=8.
    pub fn new(bits: u32, gradient: PactGradient) -> Result<Self> {
        Ok(Self {
            bits: BitWidth::new(bits)?,
            gradient,
        })
    }

    /// The activation bit width.
    pub fn bits(&self) -> BitWidth {
        self.bits
    }

    /// The gradient rule.
    pub fn gradient(&self) -> PactGradient {
        self.gradient
    }

    /// Checks a clip value before use: finite and `≥ ε`.
    pub fn check_alpha(alpha: f64) -> Result<()> {
        if !alpha.is_finite() || alpha < PACT_ALPHA_EPSILON {
            return Err(QuantError::InvalidParameter {
                name: "PACT alpha",
                value: alpha,
                reason: "the clip must be finite and at least 1e-3",
            });
        }
        Ok(())
    }

    /// Quantizes one activation (forward pass, methods-spec §1.1).
    #[inline]
    pub fn quantize_one<T: Real>(&self, x: T, alpha: T) -> T {
        let n = T::of(self.bits.unsigned_steps() as f64);
        let y = x.max(T::zero()).min(alpha);
        match self.gradient {
            // Paper Eq. 2 form: multiply by n/α (methods-spec §1.8 item 1).
            PactGradient::Paper => (y * (n / alpha)).round_even() * (alpha / n),
            // S2 PACT+ divides by the step Δ = α/n.
            PactGradient::Plus => {
                let step = alpha / n;
                (y / step).round_even() * step
            }
        }
    }

    /// The unsigned integer code `q ∈ [0, 2^k − 1]` of one activation (inference form,
    /// methods-spec §1.8 item 3). Same rounding as [`Pact::quantize_one`].
    #[inline]
    pub fn integer_code<T: Real>(&self, x: T, alpha: T) -> u32 {
        let n = T::of(self.bits.unsigned_steps() as f64);
        let y = x.max(T::zero()).min(alpha);
        (y * (n / alpha)).round_even().to_u32().unwrap_or(0)
    }

    /// Forward pass over a slice.
    pub fn forward<T: Real>(&self, x: &[T], alpha: T, out: &mut [T]) -> Result<()> {
        check_len("PACT output", x.len(), out.len())?;
        for (o, &v) in out.iter_mut().zip(x) {
            *o = self.quantize_one(v, alpha);
        }
        Ok(())
    }

    /// Backward pass: writes `dL/dx` into `grad_x` and returns `dL/dα` (without the L2 term;
    /// add [`pact_alpha_decay`]).
    pub fn backward<T: Real>(
        &self,
        x: &[T],
        alpha: T,
        grad_out: &[T],
        grad_x: &mut [T],
    ) -> Result<T> {
        check_len("PACT upstream gradient", x.len(), grad_out.len())?;
        check_len("PACT input gradient", x.len(), grad_x.len())?;
        let n = T::of(self.bits.unsigned_steps() as f64);
        let mut grad_alpha = T::zero();
        for ((gx, &v), &g) in grad_x.iter_mut().zip(x).zip(grad_out) {
            match self.gradient {
                PactGradient::Paper => {
                    if v >= alpha {
                        grad_alpha = grad_alpha + g;
                        *gx = T::zero();
                    } else if v >= T::zero() {
                        *gx = g;
                    } else {
                        *gx = T::zero();
                    }
                }
                PactGradient::Plus => {
                    if v >= alpha {
                        grad_alpha = grad_alpha + g;
                        *gx = T::zero();
                    } else if v > T::zero() {
                        let z = v / (alpha / n);
                        grad_alpha = grad_alpha + g * (z.round_even() - z) / n;
                        *gx = g;
                    } else {
                        *gx = T::zero();
                    }
                }
            }
        }
        Ok(grad_alpha)
    }
}

/// L2 decay gradient on α: `λ_α·α`, with `λ_α` equal to the network's weight decay
/// (methods-spec §1.3).
#[inline]
pub fn pact_alpha_decay<T: Real>(alpha: T, lambda: T) -> T {
    lambda * alpha
}

/// Keeps α at or above [`PACT_ALPHA_EPSILON`] after an optimizer step (methods-spec §1.8 item 2).
#[inline]
pub fn pact_clamp_alpha<T: Real>(alpha: T) -> T {
    let eps = T::of(PACT_ALPHA_EPSILON);
    if alpha.is_nan() {
        eps
    } else {
        alpha.max(eps)
    }
}

pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected != actual {
        return Err(QuantError::LengthMismatch {
            what,
            expected,
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizers::test_support::{assert_close, finite_difference};
    use proptest::prelude::*;

    /// methods-spec §1.9: input clamped at 0 before the call, as S2 requires.
    const X: [f64; 8] = [0.0, 0.0, 0.3, 1.0, 2.9, 3.0, 3.5, 10.0];

    fn run(bits: u32, gradient: PactGradient) -> (Vec<f64>, Vec<f64>, f64) {
        let pact = Pact::new(bits, gradient).unwrap();
        let mut out = vec![0.0; 8];
        pact.forward(&X, 3.0, &mut out).unwrap();
        let mut gx = vec![0.0; 8];
        let ga = pact.backward(&X, 3.0, &[1.0; 8], &mut gx).unwrap();
        (out, gx, ga)
    }

    #[test]
    fn golden_pact_ste_k2() {
        let (out, _, ga) = run(2, PactGradient::Paper);
        assert_close(&out, &[0.0, 0.0, 0.0, 1.0, 3.0, 3.0, 3.0, 3.0], 1e-12);
        assert_close(&[ga], &[3.0], 1e-12);
    }

    #[test]
    fn golden_pact_ste_k4() {
        let (out, gx, ga) = run(4, PactGradient::Paper);
        assert_close(&out, &[0.0, 0.0, 0.4, 1.0, 2.8, 3.0, 3.0, 3.0], 1e-12);
        assert_close(&[ga], &[3.0], 1e-12);
        // Paper partition: x in [0, α) passes, x = α does not.
        assert_close(&gx, &[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0], 0.0);
    }

    #[test]
    fn golden_pact_plus_k2() {
        let (out, gx, ga) = run(2, PactGradient::Plus);
        assert_close(&out, &[0.0, 0.0, 0.0, 1.0, 3.0, 3.0, 3.0, 3.0], 1e-12);
        assert_close(&gx, &[0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0], 0.0);
        assert_close(&[ga], &[2.933_333_3], 1e-7);
    }

    #[test]
    fn golden_pact_plus_k4() {
        let (out, _, ga) = run(4, PactGradient::Plus);
        assert_close(&out, &[0.0, 0.0, 0.2, 1.0, 2.8, 3.0, 3.0, 3.0], 1e-12);
        assert_close(&[ga], &[2.933_333_3], 1e-7);
    }

    #[test]
    fn f32_matches_torch_float32_tie() {
        // 0.3·(15/3) rounds to the tie 1.5 in f32 and then to 2: the paper form gives 0.4.
        let pact = Pact::new(4, PactGradient::Paper).unwrap();
        assert!((pact.quantize_one(0.3f32, 3.0) - 0.4).abs() < 1e-6);
    }

    #[test]
    fn decay_and_clamp() {
        assert_eq!(pact_alpha_decay(10.0, 2e-4), 2e-3);
        assert_eq!(pact_clamp_alpha(-5.0f32), PACT_ALPHA_EPSILON as f32);
        assert_eq!(pact_clamp_alpha(f32::NAN), PACT_ALPHA_EPSILON as f32);
        assert_eq!(pact_clamp_alpha(2.0f32), 2.0);
        assert!(Pact::check_alpha(0.0).is_err());
        assert!(Pact::check_alpha(f64::NAN).is_err());
        assert!(Pact::check_alpha(1.0).is_ok());
    }

    #[test]
    fn rejects_bad_bits_and_lengths() {
        assert!(Pact::new(0, PactGradient::Paper).is_err());
        assert!(Pact::new(9, PactGradient::Paper).is_err());
        let p = Pact::new(4, PactGradient::Paper).unwrap();
        let mut out = [0.0f32; 2];
        assert!(p.forward(&[1.0f32; 3], 1.0, &mut out).is_err());
    }

    proptest! {
        /// Outputs lie on the grid {0, α/n, …, α}, quantizing twice changes nothing,
        /// and the quantizer is monotone.
        #[test]
        fn grid_idempotent_monotone(bits in 2u32..=8, alpha in 0.01f64..20.0,
                                    mut xs in prop::collection::vec(-30.0f64..30.0, 1..64),
                                    plus in any::<bool>()) {
            let g = if plus { PactGradient::Plus } else { PactGradient::Paper };
            let p = Pact::new(bits, g).unwrap();
            let n = ((1u64 << bits) - 1) as f64;
            xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let mut out = vec![0.0; xs.len()];
            p.forward(&xs, alpha, &mut out).unwrap();
            for w in out.windows(2) { prop_assert!(w[0] <= w[1] + 1e-12); }
            for &o in &out {
                let level = o / (alpha / n);
                prop_assert!((level - level.round()).abs() < 1e-6, "off grid: {o}");
                prop_assert!((-1e-12..=alpha + 1e-9).contains(&o));
                prop_assert!((p.quantize_one(o, alpha) - o).abs() < 1e-9 * alpha.max(1.0));
            }
            // The paper form's integer code times the step is its fake-quantized value.
            if !plus {
                for &x in &xs {
                    let code = p.integer_code(x, alpha);
                    prop_assert!(code as f64 <= n);
                    prop_assert!((code as f64 * (alpha / n) - p.quantize_one(x, alpha)).abs() < 1e-9 * alpha.max(1.0));
                }
            }
        }

        /// Both α-gradients are the exact derivatives of their STE surrogates, checked by
        /// finite differences: the paper's is `clamp(x, 0, α)` plus a frozen quantization
        /// residual; PACT+'s is `(α/n)·(z(α) + round(z₀) − z₀)` (round's residual frozen).
        #[test]
        fn alpha_gradient_matches_surrogate_finite_difference(bits in 2u32..=8, alpha in 0.5f64..5.0,
                                                              x in -1.0f64..8.0, plus in any::<bool>()) {
            prop_assume!((x - alpha).abs() > 1e-3 && x.abs() > 1e-3);
            let g = if plus { PactGradient::Plus } else { PactGradient::Paper };
            let p = Pact::new(bits, g).unwrap();
            let n = ((1u64 << bits) - 1) as f64;
            let mut gx = [0.0];
            let ga = p.backward(&[x], alpha, &[1.0], &mut gx).unwrap();
            let fd = if plus {
                let z0 = x.max(0.0).min(alpha) * n / alpha;
                let residual = z0.round_ties_even() - z0;
                finite_difference(|a| {
                    let z = x.max(0.0).min(a) * n / a;
                    a / n * (z + residual)
                }, alpha, 1e-6)
            } else {
                finite_difference(|a| x.max(0.0).min(a), alpha, 1e-6)
            };
            prop_assert!((ga - fd).abs() < 1e-5, "analytic {ga} vs fd {fd}");
        }

        /// The x-gradient is the derivative of the clip (the STE through round):
        /// equals the finite difference of clamp(x, 0, α) away from 0 and α.
        #[test]
        fn x_gradient_is_clip_derivative(bits in 2u32..=8, alpha in 0.5f64..5.0, x in -2.0f64..8.0,
                                         plus in any::<bool>()) {
            prop_assume!((x - alpha).abs() > 1e-3 && x.abs() > 1e-3);
            let g = if plus { PactGradient::Plus } else { PactGradient::Paper };
            let p = Pact::new(bits, g).unwrap();
            let mut gx = [0.0];
            p.backward(&[x], alpha, &[1.0], &mut gx).unwrap();
            let fd = finite_difference(|v| v.max(0.0).min(alpha), x, 1e-6);
            prop_assert!((gx[0] - fd).abs() < 1e-6);
        }
    }
}
