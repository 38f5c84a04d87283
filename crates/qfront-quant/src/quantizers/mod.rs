//! Quantizers: each file is one method, with its forward pass, its straight-through backward
//! pass and the golden vectors of methods-spec as tests.
//!
//! All functions are generic over [`Real`] (`f32` for training, `f64` where a reference was
//! computed in double precision, as the golden vectors of methods-spec §1.9 and §2.7 were).

pub mod dorefa;
pub mod lsq;
pub mod minmax;
pub mod pact;
mod real;
pub mod sawb;
pub mod sawb_coefficients;
pub mod sawb_fit;

pub use real::Real;

#[cfg(test)]
pub(crate) mod test_support;
