//! # qfront-rt
//!
//! A small on-device runtime for packed low-bit classifiers:
//!
//! * [`format`] — the `.qfm` model file: versioned prefix, CRC-32, a JSON graph (sequential
//!   with residual inputs), weights of 2..=8 bits densely bit-packed, per-channel or
//!   per-tensor scales, activation bits with their PACT scale, i32 biases, fixed-point
//!   requantization multipliers. The reader rejects truncated or corrupted files with an
//!   error that names the defect; it never panics.
//! * [`exec`] — the integer-only executor ([`Session`]): linear, conv2d (grouped and
//!   depthwise), max/average/global pooling, embedding lookup with pooling over tokens,
//!   residual adds, fixed-point requantization, argmax and softmax. Activations are k-bit
//!   unsigned codes held in u8.
//! * [`kernels`] — a scalar reference for every op and AVX2 kernels (detected at run time)
//!   for GEMM and for 8-, 4- and 2-bit matrix–vector products.
//!
//! * [`bench`] — latency measurement (median/p90/p99 like on-device benchmark tools), a
//!   device hook that runs a command and parses its figures, and a per-layer latency
//!   look-up table with a predictor.
//!
//! No dependency on burn or on the optimizer: the runtime cross-compiles on its own.

#![warn(missing_docs)]

pub mod bench;
mod error;
pub mod exec;
pub mod fixed_point;
pub mod format;
pub mod kernels;
mod ops;

pub use error::{Result, RtError};
pub use exec::{argmax, softmax, Session, ThreadPlan};
pub use format::{QfmFile, QfmModel};
pub use kernels::KernelSet;
