//! # qfront-train
//!
//! Quantization-aware training on [burn](https://burn.dev) (0.22, `flex` CPU backend):
//!
//! * [`quantize`] — PACT, SAWB, DoReFa, min-max and LSQ as differentiable tensor operations
//!   with straight-through estimators built as `x + (q(x) − x).detach()`; the formulas and the
//!   golden vectors live in `qfront-quant`, and the tests here check that the tensor forms
//!   agree with it element for element;
//! * [`layers`] — quantized conv2d, conv1d, linear and embedding layers and the PACT
//!   activation with one learnable α per layer;
//! * [`spec`] and [`models`] — one serialisable [`spec::ModelSpec`] builds an MLP, a
//!   LeNet-style CNN, a ResNet-20-style CNN with a width multiplier, or an on-device NLU intent
//!   model;
//! * [`data`] — digits and SNIPS (shipped in the repository) and MNIST, Fashion-MNIST, HWU64,
//!   CLINC150 and Banking77 read from a directory, with fixed seeded splits;
//! * [`training`] — SGD with momentum or Adam, weight decay, step and cosine schedules,
//!   checkpoints, evaluation;
//! * [`export`] — a trained model as a packed `.qfm` file for the `qfront-rt` runtime.

pub mod data;
mod error;
pub mod export;
pub mod kernels;
pub mod layers;
pub mod models;
pub mod quantize;
pub mod recipe;
pub mod spec;
pub mod training;

pub use burn;
pub use error::{Result, TrainError};
