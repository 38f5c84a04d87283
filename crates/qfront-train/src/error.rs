//! The error type of `qfront-train`.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, building a model or training it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A quantizer parameter was rejected.
    #[error(transparent)]
    Quant(#[from] qfront_quant::QuantError),
    /// A data file or directory is missing.
    #[error("{what} not found at {path}: {hint}")]
    MissingData {
        /// What was looked for.
        what: String,
        /// Where.
        path: PathBuf,
        /// How to fix it.
        hint: String,
    },
    /// A data file exists but cannot be parsed.
    #[error("malformed {what} in {path}: {reason}")]
    MalformedData {
        /// What kind of file.
        what: String,
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// One row, line or entry of a data file is unusable.
    #[error("{path}, {entry}: {problem}")]
    BadEntry {
        /// The file (or directory).
        path: PathBuf,
        /// Which row, line, entry or file inside it (e.g. `line 12`, `class 'cat'`).
        entry: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// An invalid model specification or training setting.
    #[error("invalid {name}: {reason}")]
    InvalidConfig {
        /// The setting as the user knows it.
        name: String,
        /// What would be accepted.
        reason: String,
    },
    /// Training diverged.
    #[error("training diverged at epoch {epoch}: the loss is {loss}; lower the learning rate")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// The non-finite loss.
        loss: f64,
    },
    /// A checkpoint cannot be read or written.
    /// A trained model that the runtime cannot represent, or a layer off its grid.
    #[error("cannot export layer {layer} to .qfm: {reason}")]
    Export {
        /// The layer.
        layer: String,
        /// Why, and what to change.
        reason: String,
    },
    /// The runtime rejected the exported model.
    #[error(transparent)]
    Runtime(#[from] qfront_rt::RtError),
    /// An ONNX model that cannot be imported.
    #[error("cannot import {path}, {node}: {reason}")]
    OnnxImport {
        /// The file.
        path: std::path::PathBuf,
        /// The node (`Conv2d 'conv2d3'`) or `the model`.
        node: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file or directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TrainError>;

impl TrainError {
    /// A `BadEntry` error.
    pub fn bad_entry(
        path: &std::path::Path,
        entry: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        TrainError::BadEntry {
            path: path.to_path_buf(),
            entry: entry.into(),
            problem: problem.into(),
        }
    }

    /// An `InvalidConfig` error.
    pub fn config(name: impl Into<String>, reason: impl Into<String>) -> Self {
        TrainError::InvalidConfig {
            name: name.into(),
            reason: reason.into(),
        }
    }
}
