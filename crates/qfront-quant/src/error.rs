//! The error type of `qfront-quant`.

/// Everything that can go wrong when quantizer parameters are checked.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum QuantError {
    /// A bit width outside the range an operation supports.
    #[error("bit width {bits} is out of range: {what} supports {min}..={max} bits")]
    BitWidthOutOfRange {
        /// The rejected bit width.
        bits: u32,
        /// Smallest accepted value.
        min: u32,
        /// Largest accepted value.
        max: u32,
        /// The operation or layer that rejected it.
        what: &'static str,
    },
    /// A scalar parameter (clip value, step size, decay, multiplier...) that is not allowed.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name as the user knows it.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What would be accepted.
        reason: &'static str,
    },
    /// Two slices that must have the same length do not.
    #[error("length mismatch for {what}: expected {expected}, got {actual}")]
    LengthMismatch {
        /// Which argument.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A tensor is empty where statistics are needed.
    #[error("{what} is empty; quantizer statistics need at least one element")]
    Empty {
        /// Which argument.
        what: &'static str,
    },
    /// Width-multiplier alignment has no solution in the searched bracket.
    #[error("cannot align width: {reason}")]
    Alignment {
        /// Why the search failed.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, QuantError>;
