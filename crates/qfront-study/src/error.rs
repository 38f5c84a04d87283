//! The error type of `qfront-study`.

/// Everything that can go wrong when a study is configured, run or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    /// A config value is malformed or out of range; names the key and what would be accepted.
    #[error("invalid study config: {key}: {reason}")]
    Config {
        /// The TOML key (dotted path).
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A `tell` that cannot be taken: the trial named is not one to tell, or the values
    /// given do not fit the study. Names the trial or value and the fix; nothing is stored.
    #[error("cannot tell {subject}: {reason}")]
    Tell {
        /// The trial (`trial 7`) or the value (`values`, `values.val_loss`).
        subject: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The report cannot be written yet (no complete trial); says what to do first.
    #[error("cannot write the report: {reason}")]
    Report {
        /// Why, and the fix.
        reason: String,
    },
    /// The store (SQLite or PostgreSQL) failed.
    #[error("study store {path}: {reason}")]
    Store {
        /// The database file or URL (password masked).
        path: String,
        /// What failed.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error (a plain field, not a `source`: the message already carries it).
        error: std::io::Error,
    },
    /// Training or export failed.
    #[error(transparent)]
    Train(#[from] qfront_train::TrainError),
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] qfront_rt::RtError),
    /// The optimizer rejected an operation.
    #[error(transparent)]
    Optimizer(#[from] qfront_bo::BoError),
}

impl StudyError {
    pub(crate) fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        StudyError::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn tell(subject: impl Into<String>, reason: impl Into<String>) -> Self {
        StudyError::Tell {
            subject: subject.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, StudyError>;
