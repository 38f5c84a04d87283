//! PACT on tensors (methods-spec §1), one learnable α shared by the whole tensor.

use burn::tensor::Tensor;
use qfront_quant::quantizers::pact::PactGradient;
use qfront_quant::BitWidth;

/// `y_q = round(clamp(x, 0, α)·n/α)·α/n` with the paper's or PACT+'s STE.
///
/// The clip is built with `mask_where`, so the x-gradient flows on `[0, α)` and the
/// α-gradient on `[α, ∞)` — the paper partition (§1.2). The L2 decay of α comes from the
/// optimizer's weight decay, which is applied to α like to every weight (§1.3).
///
/// The paper gradient (and the unquantized clip) runs as one fused kernel pass forward and
/// one backward ([`crate::kernels::pact`]); PACT+ and non-f32 tensors take the composed form,
/// [`pact_quantize_composed`].
pub fn pact_quantize<const D: usize>(
    x: Tensor<D>,
    alpha: Tensor<1>,
    bits: BitWidth,
    gradient: PactGradient,
) -> Tensor<D> {
    let fused = crate::kernels::supports(x.dtype())
        && (bits.is_full_precision() || gradient == PactGradient::Paper);
    if fused {
        let steps = if bits.is_full_precision() {
            0
        } else {
            bits.unsigned_steps() as u32
        };
        return crate::kernels::fused_pact(x, alpha, steps);
    }
    pact_quantize_composed(x, alpha, bits, gradient)
}

/// PACT composed of burn tensor operations (the reference the fused kernel is tested against,
/// and the PACT+ path): same values and gradients as [`pact_quantize`].
pub fn pact_quantize_composed<const D: usize>(
    x: Tensor<D>,
    alpha: Tensor<1>,
    bits: BitWidth,
    gradient: PactGradient,
) -> Tensor<D> {
    let shape = x.shape();
    // Read α to the host only where the rounding needs it: the read is a device sync.
    let alpha_value = (!bits.is_full_precision() && gradient == PactGradient::Paper)
        .then(|| alpha.clone().into_scalar::<f32>() as f64);
    let a = alpha.reshape([1; D]).expand(shape);
    let at_or_above = x.clone().greater_equal(a.clone());
    let clipped = x.clamp_min(0.0).mask_where(at_or_above, a.clone());
    if bits.is_full_precision() {
        return clipped;
    }
    let n = bits.unsigned_steps() as f64;
    match gradient {
        PactGradient::Paper => {
            // The rounding is off the tape, so α enters it as a host scalar: two contiguous
            // scalar passes instead of four full-size ones over the broadcast α (the reference's
            // `round(y·(n/α))·(α/n)`, methods-spec §1.2).
            let alpha_value = alpha_value.expect("read above for the paper gradient");
            let c_d = clipped.clone().detach();
            let q = c_d
                .clone()
                .mul_scalar(n / alpha_value)
                .round()
                .mul_scalar(alpha_value / n);
            clipped + (q - c_d)
        }
        PactGradient::Plus => {
            let z = clipped.div(a.clone()).mul_scalar(n);
            let residual = (z.clone().round() - z.clone()).detach();
            (z + residual).mul(a).div_scalar(n)
        }
    }
}
