//! # qfront-quant
//!
//! Quantizer mathematics on plain `f32` slices, with no framework and no I/O. Every formula is
//! taken from `methods-spec.md` (the section is cited on each item):
//!
//! * [`quantizers::pact`] — PACT activation clipping (Choi et al. 2018, arXiv:1805.06085), the
//!   paper's STE and the PACT+ variant;
//! * [`quantizers::sawb`] — statistics-aware weight binning (Choi et al. 2018, arXiv:1807.06964)
//!   on both grids, per tensor and per output channel, with the EMA scale used in evaluation;
//!   [`quantizers::sawb_fit`] re-derives its coefficients;
//! * baselines: [`quantizers::dorefa`], [`quantizers::minmax`] (symmetric and asymmetric) and
//!   [`quantizers::lsq`] (Esser et al. 2020);
//! * [`accounting`] — model size and BOPs per layer, and the width-multiplier aligner of
//!   Chin et al. 2020 (arXiv:2008.09916);
//! * [`packing`] — dense b-bit packing of signed weight codes (the `.qfm` storage form).
//!
//! Parameters are validated once when a quantizer is built ([`BitWidth::new`] and friends);
//! the forward and backward functions then run without re-checking.

pub mod accounting;
mod bits;
mod error;
pub mod packing;
pub mod quantizers;
mod rounding;

pub use bits::BitWidth;
pub use error::{QuantError, Result};
pub use rounding::round_half_even;
