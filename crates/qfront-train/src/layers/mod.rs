//! Quantized layers and the PACT activation.

mod alpha_clamp;
mod conv1d;
mod conv2d;
mod embedding;
mod init;
mod linear;
mod pact;
mod quant_weight;

pub use alpha_clamp::{clamp_pact_alphas, LSQ_STEP_EPSILON};
pub use conv1d::QuantConv1d;
pub use conv2d::QuantConv2d;
pub use embedding::QuantEmbedding;
pub use init::ParamInit;
pub use linear::QuantLinear;
pub use pact::PactActivation;
pub use quant_weight::QuantWeight;
