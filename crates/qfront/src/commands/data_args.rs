//! The data options shared by `qfront train` and `qfront eval`: a built-in dataset by name, or
//! the user's own files, turned into a [`DatasetSource`].

use anyhow::{bail, Result};
use clap::Args;
use qfront_train::data::{
    parse_image_size, DatasetName, DatasetSource, FileDataset, FileFormat, DEFAULT_TEST_FRACTION,
    DEFAULT_VALIDATION_FRACTION,
};
use std::path::PathBuf;

/// Where the examples come from.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Built-in dataset: digits, snips (shipped), mnist, fashion-mnist, hwu64, clinc150,
    /// banking77 (need --data-dir). Default: digits, unless --data is given.
    #[arg(long, conflicts_with = "data")]
    pub dataset: Option<String>,
    /// Directory holding the built-in datasets that do not ship with qfront (one folder per
    /// dataset).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Your own data: a CSV/TSV/JSON Lines file of text and labels, a folder with one
    /// sub-folder of images per class, a .npz with x and y, or a folder with x.npy and y.npy.
    /// Without --val-data, a seeded --val-fraction (and --test-fraction) is held out of it.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Validation data in the same format as --data.
    #[arg(long, value_name = "PATH", requires = "data")]
    pub val_data: Option<PathBuf>,
    /// Test data in the same format as --data (optional).
    #[arg(long, value_name = "PATH", requires = "data")]
    pub test_data: Option<PathBuf>,
    /// Format of --data when its extension does not tell: csv, tsv, jsonl, image-folder, npz,
    /// npy.
    #[arg(long, requires = "data")]
    pub data_format: Option<String>,
    /// Text data: the column (CSV/TSV header, JSON key) holding the text.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Text data: the column holding the label (strings or integers).
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Images: resize every image to HxW (e.g. 32x32); default: all must share the first
    /// image's size.
    #[arg(long, value_parser = image_size)]
    pub image_size: Option<[usize; 2]>,
    /// Images: 1 (grey) or 3 (RGB); default: the first image's.
    #[arg(long)]
    pub channels: Option<usize>,
    /// Share of --data held out for validation when --val-data is not given (default 0.1).
    /// The built-in datasets keep their fixed splits.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Share of --data held out for testing when neither --val-data nor --test-data is
    /// given (0: no test split; default 0.1).
    #[arg(long)]
    pub test_fraction: Option<f64>,
    /// Drop malformed rows (missing column, empty text, label unseen in training) instead of
    /// failing; the count is reported.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

fn image_size(text: &str) -> std::result::Result<[usize; 2], String> {
    parse_image_size(text)
}

impl DataArgs {
    /// The source these options name (`digits` when none is named).
    pub fn source(&self) -> Result<DatasetSource> {
        let Some(path) = &self.data else {
            let file_only = [
                (self.image_size.is_some(), "--image-size"),
                (self.channels.is_some(), "--channels"),
                (self.skip_bad_rows, "--skip-bad-rows"),
                (self.val_fraction.is_some(), "--val-fraction"),
                (self.test_fraction.is_some(), "--test-fraction"),
                (self.text_column != "text", "--text-column"),
                (self.label_column != "label", "--label-column"),
            ];
            if let Some((_, flag)) = file_only.iter().find(|(set, _)| *set) {
                bail!("{flag} applies to your own data; pass it with --data PATH");
            }
            let name = DatasetName::parse(self.dataset.as_deref().unwrap_or("digits"))?;
            if name.is_builtin() {
                self.warn_data_dir_unread("it ships with qfront");
            }
            return Ok(DatasetSource::Builtin(name));
        };
        self.warn_data_dir_unread("--data names the files");
        let mut files = FileDataset::new(path);
        files.validation = self.val_data.clone();
        files.test = self.test_data.clone();
        files.format = self
            .data_format
            .as_deref()
            .map(FileFormat::parse)
            .transpose()?;
        files.text_column = self.text_column.clone();
        files.label_column = self.label_column.clone();
        files.image_size = self.image_size;
        files.channels = self.channels;
        files.validation_fraction = self.val_fraction.unwrap_or(DEFAULT_VALIDATION_FRACTION);
        files.test_fraction = self.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION);
        files.skip_bad_rows = self.skip_bad_rows;
        files.validate()?;
        Ok(DatasetSource::Files(Box::new(files)))
    }

    /// Says on stderr that `--data-dir`, when given, is not read, and why (`reason`).
    fn warn_data_dir_unread(&self, reason: &str) {
        if let Some(dir) = &self.data_dir {
            warn_data_dir_unread(dir, reason);
        }
    }
}

/// Says on stderr that the `--data-dir` `dir` is not read, and why (`reason`): it is only
/// where the built-in datasets that do not ship with qfront (MNIST, …) are found. Shared by
/// `train`, `eval`, `bench data` and `search`.
pub fn warn_data_dir_unread(dir: &std::path::Path, reason: &str) {
    let read_from_it: Vec<&str> = DatasetName::NAMES
        .into_iter()
        .filter(|name| DatasetName::parse(name).is_ok_and(|d| !d.is_builtin()))
        .collect();
    tracing::warn!(
        "--data-dir {} is not read: {reason}; it is only where {} are found",
        dir.display(),
        read_from_it.join(", ")
    );
}
