//! The PACT activation module: one learnable clip α per layer (methods-spec §1.3).

use crate::quantize::pact_quantize;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use qfront_quant::quantizers::pact::PactGradient;
use qfront_quant::BitWidth;

/// Clipped, k-bit quantized ReLU with a learnable clip α. At 32 bits it is a clipped ReLU
/// without quantization.
#[derive(Module, Debug)]
pub struct PactActivation {
    /// The clip α, shape `[1]`.
    pub alpha: Param<Tensor<1>>,
    /// Activation bits.
    #[module(skip)]
    pub bits: BitWidth,
    /// STE rule.
    #[module(skip)]
    pub gradient: PactGradient,
}

impl PactActivation {
    /// A PACT activation with initial clip `alpha_init`.
    pub fn new(bits: BitWidth, gradient: PactGradient, alpha_init: f64, device: &Device) -> Self {
        Self {
            alpha: Param::from_tensor(Tensor::from_floats([alpha_init as f32], device)),
            bits,
            gradient,
        }
    }

    /// Applies the activation to a tensor of any rank.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        pact_quantize(x, self.alpha.val(), self.bits, self.gradient)
    }

    /// The current α.
    pub fn alpha_value(&self) -> f32 {
        self.alpha.val().into_scalar::<f32>()
    }
}
