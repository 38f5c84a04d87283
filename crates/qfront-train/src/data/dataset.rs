//! The in-memory dataset and the loader entry point.

use super::source::DatasetSource;
use super::token_encoder::TextEncoding;
use super::vocabulary::Vocabulary;
use crate::spec::InputShape;
use crate::{Result, TrainError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Token ids `[n, max_tokens]` (hashed words or vocabulary rows), 0 = padding.
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

/// The affine map of float pixel arrays onto `[0, 1]`: `x' = (x − min)/(max − min)`, with
/// `min` and `max` taken from the training split alone, then rounded to the 1/255 grid the
/// runtime's u8 input holds (so the trained and the deployed model see the same pixels).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputNormalization {
    /// The training split's smallest pixel value.
    pub min: f32,
    /// The training split's largest pixel value.
    pub max: f32,
}

impl InputNormalization {
    /// The statistics of `values`; `None` when they are all equal (or empty).
    pub fn fit(values: &[f32]) -> Option<Self> {
        let min = values.iter().copied().fold(f32::INFINITY, f32::min);
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (min.is_finite() && max > min).then_some(Self { min, max })
    }

    /// Maps `values` in place (values outside the training range are clamped).
    pub fn apply(&self, values: &mut [f32]) {
        let span = self.max - self.min;
        for v in values {
            *v = ((255.0 * (*v - self.min) / span).round().clamp(0.0, 255.0)) / 255.0;
        }
    }
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Its name: a built-in name, or the training source's path.
    pub name: String,
    /// Class names, index = label.
    pub classes: Vec<String>,
    /// Training split.
    pub train: Split,
    /// Validation split.
    pub val: Split,
    /// Test split (empty when the user gave none).
    pub test: Split,
    /// Model input shape.
    pub input: InputShape,
    /// Step of the image pixel grid (1/16 for digits, 1/255 for 8-bit images); `None` for text.
    pub pixel_scale: Option<f32>,
    /// How float pixel arrays were mapped onto `[0, 1]`, if they were.
    pub normalization: Option<InputNormalization>,
    /// Rows dropped by `skip_bad_rows`.
    pub skipped_rows: usize,
    /// The word vocabulary of text ids (`None`: hashed words, or images).
    pub vocabulary: Option<Arc<Vocabulary>>,
}

/// What a trained model needs to know of its data, saved beside it (`data.json`): where it
/// came from, the class names (index = class), the input grid and normalisation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DatasetInfo {
    /// The dataset's name or training path.
    pub name: String,
    /// Class names, index = class.
    pub classes: Vec<String>,
    /// Step of the image pixel grid.
    pub pixel_scale: Option<f32>,
    /// The float-pixel normalisation, if any.
    pub normalization: Option<InputNormalization>,
    /// Examples per split: train, validation, test.
    pub examples: [usize; 3],
    /// Rows dropped by `skip_bad_rows`.
    pub skipped_rows: usize,
    /// The word vocabulary, row by row (text models with a vocabulary embedding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<Vec<String>>,
}

/// Loader options.
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// Directory of the datasets that do not ship with qfront.
    pub data_dir: Option<PathBuf>,
    /// How text becomes token ids.
    pub text: TextEncoding,
}

impl Dataset {
    /// Loads a dataset from any source.
    pub fn from_source(source: &DatasetSource, options: &DataOptions) -> Result<Self> {
        match source {
            DatasetSource::Builtin(name) => Self::load(*name, options),
            DatasetSource::Files(files) => super::files::load_files(files, &options.text),
        }
    }

    /// What to save beside a model trained on this data.
    pub fn info(&self) -> DatasetInfo {
        DatasetInfo {
            name: self.name.clone(),
            classes: self.classes.clone(),
            pixel_scale: self.pixel_scale,
            normalization: self.normalization,
            examples: [self.train.len(), self.val.len(), self.test.len()],
            skipped_rows: self.skipped_rows,
            vocabulary: self.vocabulary.as_ref().map(|v| v.words().to_vec()),
        }
    }

    /// Loads a built-in (or `--data-dir`) dataset.
    pub fn load(name: DatasetName, options: &DataOptions) -> Result<Self> {
        let external = |folder: &str| -> Result<PathBuf> {
            let Some(dir) = &options.data_dir else {
                return Err(TrainError::MissingData {
                    what: format!("dataset '{}'", name.name()),
                    path: PathBuf::from("--data-dir"),
                    hint: format!("{} is not shipped with qfront; pass --data-dir DIR where DIR/{folder}/ holds its files (layout and sources: docs/datasets.md)", name.name()),
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
            DatasetName::Digits => super::digits::load(),
            DatasetName::Snips => super::text::load_snips(&options.text),
            DatasetName::Mnist => super::idx::load(name, &external("mnist")?),
            DatasetName::FashionMnist => super::idx::load(name, &external("fashion-mnist")?),
            DatasetName::Hwu64 => super::text::load_hwu64(&external("hwu64")?, &options.text),
            DatasetName::Clinc150 => {
                super::text::load_clinc150(&external("clinc150")?, &options.text)
            }
            DatasetName::Banking77 => {
                super::text::load_banking77(&external("banking77")?, &options.text)
            }
        }
    }
}

pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error(path, what, e))
}

/// An I/O error on `path`: `MissingData` naming `what` when it does not exist, else the OS's
/// reason.
pub(crate) fn io_error(path: &Path, what: &str, e: std::io::Error) -> TrainError {
    if e.kind() == std::io::ErrorKind::NotFound {
        TrainError::MissingData {
            what: what.to_string(),
            path: path.to_path_buf(),
            hint: "the file is missing; check the path".into(),
        }
    } else {
        TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
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
