//! The error type of `qfront-rt`.

use std::path::PathBuf;

/// Everything that can go wrong when a `.qfm` model is read, checked or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtError {
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (a plain field, not a `source`: the message already carries it).
        error: std::io::Error,
    },
    /// The bytes are not a `.qfm` model (bad magic, truncated, corrupted, newer version).
    #[error("not a readable .qfm model: {reason}")]
    Format {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The model graph is inconsistent (shapes, bit widths, multipliers, references).
    #[error("invalid model: node {node} ({name}): {reason}")]
    InvalidModel {
        /// Index of the node.
        node: usize,
        /// Its name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The input given to the executor does not fit the model.
    #[error("bad input: {reason}")]
    Input {
        /// What is wrong.
        reason: String,
    },
    /// A parameter of a writer or benchmark call is out of range.
    #[error("invalid {name}: {reason}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// What would be accepted.
        reason: String,
    },
}

impl RtError {
    pub(crate) fn format(reason: impl Into<String>) -> Self {
        RtError::Format {
            reason: reason.into(),
        }
    }

    pub(crate) fn input(reason: impl Into<String>) -> Self {
        RtError::Input {
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, RtError>;
