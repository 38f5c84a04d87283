//! # qfront-rt
//!
//! A small on-device runtime for packed low-bit classifiers:
//!
//! * [`format`](mod@format) — the `.qfm` model file: versioned prefix, CRC-32, a JSON graph (sequential
//!   with residual inputs), weights of 2..=8 bits densely bit-packed, per-channel or
//!   per-tensor scales, activation bits with their PACT scale, i32 biases, fixed-point
//!   requantization multipliers. The reader rejects truncated or corrupted files with an
//!   error that names the defect; it never panics.
//! * [`exec`] — the integer-only executor ([`Session`]): it prepares a model for one kernel
//!   set and runs batches, on one thread or several. Activations are k-bit unsigned codes
//!   held in u8.
//! * `ops` (private) — the operators, one file each with its validation, preparation,
//!   execution and cost: linear, conv2d (grouped and depthwise, with residual adds), max and
//!   average pooling, global average pooling, channel padding, flatten, embedding lookup and
//!   pooling over tokens.
//! * [`kernels`] — a scalar reference, x86 (AVX2, AVX-512 VNNI) and aarch64 (NEON, dot
//!   product, i8mm) GEMMs chosen at run time, with weights kept at their width, and the
//!   fixed-point requantization epilogues.
//!
//! * [`bench`](mod@bench) — latency measurement (median/p90/p99 like on-device benchmark tools), a
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
