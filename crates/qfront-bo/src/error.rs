//! The crate's error type.

/// Everything that can go wrong in `qfront-bo`. Each variant names what was wrong and, where
/// there is one, the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BoError {
    /// A search-space definition is invalid.
    #[error("search space: {}{reason}", parameter_prefix(parameter))]
    InvalidSpace {
        /// The parameter's name (empty for space-wide problems).
        parameter: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A value does not fit its parameter.
    #[error("parameter '{parameter}': {reason}")]
    InvalidValue {
        /// The parameter's name.
        parameter: String,
        /// What is wrong.
        reason: String,
    },
    /// Objective values or points of the wrong shape or with non-finite entries.
    #[error("{what}: {reason}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A covariance matrix stayed not positive definite after every jitter retry.
    #[error("a {size}×{size} covariance matrix is not positive definite even with jitter {jitter_tried:?}; the data may hold duplicate points with different values or non-finite entries")]
    NotPositiveDefinite {
        /// Matrix size.
        size: usize,
        /// The jitters added to the diagonal, in order.
        jitter_tried: Vec<f64>,
    },
    /// A benchmark problem was asked for with settings it does not take.
    #[error("problem '{problem}': {reason}")]
    InvalidProblem {
        /// The problem's name.
        problem: String,
        /// What is wrong.
        reason: String,
    },
}

impl BoError {
    /// Shorthand for [`BoError::InvalidInput`].
    pub fn input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        BoError::InvalidInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// The crate's result alias.
pub type Result<T> = std::result::Result<T, BoError>;

/// `parameter 'name': ` before a parameter's problem, nothing before a space-wide one.
fn parameter_prefix(parameter: &str) -> String {
    if parameter.is_empty() {
        String::new()
    } else {
        format!("parameter '{parameter}': ")
    }
}
