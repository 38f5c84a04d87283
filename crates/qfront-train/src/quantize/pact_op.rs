//! PACT on tensors (methods-spec §1), one learnable α shared by the whole tensor.

use burn::tensor::Tensor;
use qfront_quant::quantizers::pact::PactGradient;
use qfront_quant::BitWidth;

/// `y_q = round(clamp(x, 0, α)·n/α)·α/n` with the paper's or PACT+'s STE.
///
/// The clip is built with `mask_where`, so the x-gradient flows on `[0, α)` and the
/// α-gradient on `[α, ∞)` — the paper partition (§1.2). The L2 decay of α comes from the
/// optimizer's weight decay, which is applied to α like to every weight (§1.3).
pub fn pact_quantize<const D: usize>(
    x: Tensor<D>,
    alpha: Tensor<1>,
    bits: BitWidth,
    gradient: PactGradient,
) -> Tensor<D> {
    let shape = x.shape();
    let a = alpha.reshape([1; D]).expand(shape);
    let at_or_above = x.clone().greater_equal(a.clone());
    let clipped = x.clamp_min(0.0).mask_where(at_or_above, a.clone());
    if bits.is_full_precision() {
        return clipped;
    }
    let n = bits.unsigned_steps() as f64;
    match gradient {
        PactGradient::Paper => {
            let a_d = a.detach();
            let c_d = clipped.clone().detach();
            let q = c_d
                .clone()
                .mul(a_d.clone().recip().mul_scalar(n))
                .round()
                .mul(a_d.div_scalar(n));
            clipped + (q - c_d)
        }
        PactGradient::Plus => {
            let z = clipped.div(a.clone()).mul_scalar(n);
            let residual = (z.clone().round() - z.clone()).detach();
            (z + residual).mul(a).div_scalar(n)
        }
    }
}
