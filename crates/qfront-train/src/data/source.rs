//! Where a dataset comes from: a built-in name, or the user's own files.
//!
//! In a study TOML either `dataset = "snips"` or a table:
//!
//! ```toml
//! [dataset]
//! path = "intents/train.csv"     # CSV/TSV/JSON Lines, an image folder, .npz, or a folder of x.npy/y.npy
//! validation = "intents/val.csv" # optional; else `validation_fraction` of `path` is held out
//! test = "intents/test.csv"      # optional; else `test_fraction` of `path` (0 for none)
//! text_column = "text"           # CSV/TSV/JSON Lines
//! label_column = "label"
//! image_size = [32, 32]          # images: resize every image to H×W ("32x32" also accepted)
//! channels = 3                   # images: 1 (grey) or 3 (RGB); default: the first image's
//! ```

use crate::{Result, TrainError};
use std::path::{Path, PathBuf};

use super::DatasetName;

/// Default share of a single source held out for validation.
pub const DEFAULT_VALIDATION_FRACTION: f64 = 0.1;
/// Default share of a single source held out for testing.
pub const DEFAULT_TEST_FRACTION: f64 = 0.1;

/// The file formats qfront reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    /// Comma-separated text with a header row.
    Csv,
    /// Tab-separated text with a header row.
    Tsv,
    /// One JSON object per line.
    Jsonl,
    /// A directory with one sub-directory of PNG/JPEG/PGM images per class.
    ImageFolder,
    /// A NumPy `.npz` archive holding `x` and `y`.
    Npz,
    /// A directory holding `x.npy` and `y.npy`.
    Npy,
}

impl FileFormat {
    /// Names as written in TOML and on the command line.
    pub const NAMES: [&'static str; 6] = ["csv", "tsv", "jsonl", "image-folder", "npz", "npy"];

    /// Parses a name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "csv" => Self::Csv,
            "tsv" => Self::Tsv,
            "jsonl" | "ndjson" => Self::Jsonl,
            "image-folder" | "images" => Self::ImageFolder,
            "npz" => Self::Npz,
            "npy" => Self::Npy,
            other => {
                return Err(TrainError::config(
                    "data format",
                    format!("'{other}' is not one of {}", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    /// The format of `path`, from its extension (files) or its contents (directories).
    pub fn infer(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Ok(if path.join("x.npy").is_file() {
                Self::Npy
            } else {
                Self::ImageFolder
            });
        }
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        Ok(match extension.as_str() {
            "csv" => Self::Csv,
            "tsv" | "tab" => Self::Tsv,
            "jsonl" | "ndjson" => Self::Jsonl,
            "npz" => Self::Npz,
            _ if !path.exists() => {
                return Err(TrainError::MissingData {
                    what: "data".into(),
                    path: path.to_path_buf(),
                    hint: "check the path".into(),
                })
            }
            _ => {
                return Err(TrainError::config(
                    "data format",
                    format!(
                        "cannot tell the format of {} from its extension; name it (csv, tsv, jsonl, npz) or pass a directory of class folders",
                        path.display()
                    ),
                ))
            }
        })
    }

    /// Whether the format holds text.
    pub fn is_text(self) -> bool {
        matches!(self, Self::Csv | Self::Tsv | Self::Jsonl)
    }
}

/// The user's own dataset: one source split by seeded fractions, or separate files.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDataset {
    /// The training data (or the only source, split by the fractions).
    pub path: PathBuf,
    /// Validation data; `None`: `validation_fraction` of `path` is held out.
    #[serde(default, alias = "val")]
    pub validation: Option<PathBuf>,
    /// Test data; `None`: `test_fraction` of `path` is held out (when `validation` is also
    /// `None`), else there is no test split.
    #[serde(default)]
    pub test: Option<PathBuf>,
    /// Format; `None`: inferred from `path`.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Text column (CSV/TSV header name, JSON Lines key).
    #[serde(default = "default_text_column")]
    pub text_column: String,
    /// Label column.
    #[serde(default = "default_label_column")]
    pub label_column: String,
    /// Images: every image is resized to `[height, width]`; `None`: all must share the first
    /// image's size.
    #[serde(default, deserialize_with = "image_size_field")]
    pub image_size: Option<[usize; 2]>,
    /// Images: 1 (grey) or 3 (RGB); `None`: from the first image.
    #[serde(default)]
    pub channels: Option<usize>,
    /// Share of a single source held out for validation.
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Share of a single source held out for testing.
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Drop malformed rows (missing column, empty text, unseen label) instead of failing;
    /// the count is reported.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

fn default_text_column() -> String {
    "text".into()
}
fn default_label_column() -> String {
    "label".into()
}
fn default_validation_fraction() -> f64 {
    DEFAULT_VALIDATION_FRACTION
}
fn default_test_fraction() -> f64 {
    DEFAULT_TEST_FRACTION
}

/// `[32, 32]` or `"32x32"`.
fn image_size_field<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<[usize; 2]>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Size {
        Pair([usize; 2]),
        Text(String),
    }
    match <Option<Size> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Size::Pair(p)) => Ok(Some(p)),
        Some(Size::Text(t)) => parse_image_size(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Parses `HxW` (`32x32`, `28X28`) or a single `N` for a square.
pub fn parse_image_size(text: &str) -> std::result::Result<[usize; 2], String> {
    let parts: Vec<&str> = text.split(['x', 'X', '×']).map(str::trim).collect();
    let numbers: std::result::Result<Vec<usize>, _> = parts.iter().map(|p| p.parse()).collect();
    match numbers.as_deref() {
        Ok([h, w]) if *h > 0 && *w > 0 => Ok([*h, *w]),
        Ok([s]) if *s > 0 => Ok([*s, *s]),
        _ => Err(format!(
            "image size '{text}' is not HxW with positive sizes, e.g. 32x32"
        )),
    }
}

impl FileDataset {
    /// A source at `path` with every other field at its default.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            validation: None,
            test: None,
            format: None,
            text_column: default_text_column(),
            label_column: default_label_column(),
            image_size: None,
            channels: None,
            validation_fraction: DEFAULT_VALIDATION_FRACTION,
            test_fraction: DEFAULT_TEST_FRACTION,
            skip_bad_rows: false,
        }
    }

    /// The format: as given, or inferred from the path.
    pub fn resolved_format(&self) -> Result<FileFormat> {
        match self.format {
            Some(f) => Ok(f),
            None => FileFormat::infer(&self.path),
        }
    }

    /// Checks the settings (not the files): fractions, channels, sizes.
    pub fn validate(&self) -> Result<()> {
        let fraction_ok = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
        if !fraction_ok(self.validation_fraction) || self.validation_fraction == 0.0 {
            return Err(TrainError::config(
                "validation_fraction",
                format!(
                    "{} must be in (0, 1) (validation is what a search optimises)",
                    self.validation_fraction
                ),
            ));
        }
        if !fraction_ok(self.test_fraction) {
            return Err(TrainError::config(
                "test_fraction",
                format!("{} must be in [0, 1)", self.test_fraction),
            ));
        }
        if self.validation.is_none()
            && self.test.is_none()
            && self.validation_fraction + self.test_fraction >= 0.9
        {
            return Err(TrainError::config(
                "validation_fraction",
                "validation and test fractions together leave under 10% for training",
            ));
        }
        if let Some(c) = self.channels {
            if c != 1 && c != 3 {
                return Err(TrainError::config(
                    "channels",
                    format!("{c} is not 1 (grey) or 3 (RGB)"),
                ));
            }
        }
        if let Some([h, w]) = self.image_size {
            if h == 0 || w == 0 || h > 4096 || w > 4096 {
                return Err(TrainError::config(
                    "image_size",
                    format!("{h}x{w}: sizes must be 1..=4096"),
                ));
            }
        }
        if self.text_column.is_empty() || self.label_column.is_empty() {
            return Err(TrainError::config(
                "text_column",
                "column names must not be empty",
            ));
        }
        Ok(())
    }

    /// Makes relative paths relative to `base` (the directory of the study file).
    pub fn resolve_relative_to(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.path);
        if let Some(p) = &mut self.validation {
            fix(p);
        }
        if let Some(p) = &mut self.test {
            fix(p);
        }
    }
}

/// A dataset as a study or a command names it.
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetSource {
    /// One of qfront's own datasets.
    Builtin(DatasetName),
    /// The user's files.
    Files(Box<FileDataset>),
}

impl DatasetSource {
    /// A short name for logs and records: the built-in name, or the training path.
    pub fn display_name(&self) -> String {
        match self {
            Self::Builtin(name) => name.name().to_string(),
            Self::Files(files) => files.path.display().to_string(),
        }
    }

    /// Whether the examples are text (`None` when it depends on files not yet read).
    pub fn is_text(&self) -> Result<bool> {
        match self {
            Self::Builtin(name) => Ok(name.is_text()),
            Self::Files(files) => Ok(files.resolved_format()?.is_text()),
        }
    }
}

impl serde::Serialize for DatasetSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Builtin(name) => s.serialize_str(name.name()),
            Self::Files(files) => files.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for DatasetSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Name(String),
            Table(serde_json::Map<String, serde_json::Value>),
        }
        match Written::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "dataset must be a built-in name (\"snips\") or a table with `path`",
            )
        })? {
            Written::Name(name) => DatasetName::parse(&name)
                .map(Self::Builtin)
                .map_err(serde::de::Error::custom),
            Written::Table(table) => {
                let files: FileDataset =
                    serde_json::from_value(serde_json::Value::Object(table))
                        .map_err(|e| serde::de::Error::custom(format!("[dataset]: {e}")))?;
                Ok(Self::Files(Box::new(files)))
            }
        }
    }
}
