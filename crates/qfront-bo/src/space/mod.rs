//! Search spaces: typed parameters, encoded to `[0, 1]^d` for the surrogate models and decoded
//! back (with rounding) into values a trial can use.

mod encoding;
mod neighbours;
mod parameter;

pub use encoding::SearchSpace;
pub use parameter::{ParamValue, Parameter, ParameterKind, Scale};
