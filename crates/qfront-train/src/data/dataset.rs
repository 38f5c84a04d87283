//! The in-memory dataset and the loader entry point.

use super::tokenizer::HashingTokenizer;
use crate::spec::InputShape;
use crate::{Result, TrainError};
use std::path::{Path, PathBuf};

/// The datasets qfront knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// UCI 8×8 digits (built in).
    Digits,
    /// SNIPS intents (built in).
    Snips,
    /// MNIST (IDX, `--data-dir`).
    Mnist,
    /// Fashion-MNIST (IDX, `--data-dir`).
    FashionMnist,
    /// HWU64 intents (`--data-dir`).
    Hwu64,
    /// CLINC150 in-scope intents (`--data-dir`).
    Clinc150,
    /// Banking77 intents (`--data-dir`).
    Banking77,
}

impl DatasetName {
    /// All names in CLI spelling.
    pub const NAMES: [&'static str; 7] = [
        "digits",
        "snips",
        "mnist",
        "fashion-mnist",
        "hwu64",
        "clinc150",
        "banking77",
    ];

    /// Parses a CLI name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "digits" => Self::Digits,
            "snips" => Self::Snips,
            "mnist" => Self::Mnist,
            "fashion-mnist" => Self::FashionMnist,
            "hwu64" => Self::Hwu64,
            "clinc150" => Self::Clinc150,
            "banking77" => Self::Banking77,
            other => {
                return Err(TrainError::config(
                    "dataset",
                    format!(
                        "unknown dataset '{other}'; choose one of {}",
                        Self::NAMES.join(", ")
                    ),
                ))
            }
        })
    }

    /// CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Snips => "snips",
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Hwu64 => "hwu64",
            Self::Clinc150 => "clinc150",
            Self::Banking77 => "banking77",
        }
    }

    /// Whether the examples are utterances.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Self::Snips | Self::Hwu64 | Self::Clinc150 | Self::Banking77
        )
    }

    /// Whether the data ships inside the repository.
    pub fn is_builtin(self) -> bool {
        matches!(self, Self::Digits | Self::Snips)
    }
}

/// Example features.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Images, row-major `[n, channels, height, width]`, values in [0, 1].
    Images {
        /// Pixels.
        pixels: Vec<f32>,
        /// `[channels, height, width]`.
        shape: [usize; 3],
    },
    /// Hashed token ids `[n, max_tokens]`, 0 = padding.
    Tokens {
        /// Ids.
        ids: Vec<i64>,
        /// Tokens per example.
        max_tokens: usize,
    },
}

/// One split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Features.
    pub features: Features,
    /// Labels in `0..classes`.
    pub labels: Vec<usize>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Which one.
    pub name: DatasetName,
    /// Class names, index = label.
    pub classes: Vec<String>,
    /// Training split.
    pub train: Split,
    /// Validation split.
    pub val: Split,
    /// Test split.
    pub test: Split,
    /// Model input shape.
    pub input: InputShape,
}

/// Loader options.
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// Directory of the datasets that do not ship with qfront.
    pub data_dir: Option<PathBuf>,
    /// Tokenizer for text sets.
    pub tokenizer: HashingTokenizer,
}

/// The folder of the data shipped with qfront (`data/` at the repository root), or
/// `$QFRONT_BUILTIN_DATA` when set.
pub fn builtin_dir() -> PathBuf {
    std::env::var_os("QFRONT_BUILTIN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"))
}

impl Dataset {
    /// Loads a dataset.
    pub fn load(name: DatasetName, options: &DataOptions) -> Result<Self> {
        let external = |folder: &str| -> Result<PathBuf> {
            let Some(dir) = &options.data_dir else {
                return Err(TrainError::MissingData {
                    what: format!("dataset '{}'", name.name()),
                    path: PathBuf::from("--data-dir"),
                    hint: format!("{} is not shipped with qfront; pass --data-dir DIR where DIR/{folder}/ holds its files (a copy is in shared/data/{folder})", name.name()),
                });
            };
            let nested = dir.join(folder);
            let path = if nested.is_dir() { nested } else { dir.clone() };
            if !path.is_dir() {
                return Err(TrainError::MissingData {
                    what: format!("dataset folder for '{}'", name.name()),
                    path,
                    hint: "check --data-dir".into(),
                });
            }
            Ok(path)
        };
        match name {
            DatasetName::Digits => super::digits::load(&builtin_dir().join("digits8x8")),
            DatasetName::Snips => {
                super::text::load_snips(&builtin_dir().join("snips"), &options.tokenizer)
            }
            DatasetName::Mnist => super::idx::load(name, &external("mnist")?),
            DatasetName::FashionMnist => super::idx::load(name, &external("fashion-mnist")?),
            DatasetName::Hwu64 => super::text::load_hwu64(&external("hwu64")?, &options.tokenizer),
            DatasetName::Clinc150 => {
                super::text::load_clinc150(&external("clinc150")?, &options.tokenizer)
            }
            DatasetName::Banking77 => {
                super::text::load_banking77(&external("banking77")?, &options.tokenizer)
            }
        }
    }
}

pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            TrainError::MissingData {
                what: what.to_string(),
                path: path.to_path_buf(),
                hint: "the file is missing; check the data directory".into(),
            }
        } else {
            TrainError::Io {
                path: path.to_path_buf(),
                source: e,
            }
        }
    })
}

pub(crate) fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| TrainError::MalformedData {
            what: "gzip stream".into(),
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(out)
}
