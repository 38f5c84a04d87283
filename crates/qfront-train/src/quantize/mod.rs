//! Differentiable quantizers on burn tensors.
//!
//! Each operation returns the fake-quantized tensor whose forward value equals the
//! `qfront-quant` quantizer and whose gradient is that quantizer's straight-through estimator,
//! built as `surrogate + (quantized − surrogate).detach()`.

mod config;
mod pact_op;
mod weight_ops;

pub use config::{LayerPrecision, WeightQuantizer};
pub use pact_op::{pact_quantize, pact_quantize_composed};
pub use weight_ops::{quantize_weight, WeightScale};
