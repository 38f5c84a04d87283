//! Datasets: digits and SNIPS ship inside the binary; MNIST, Fashion-MNIST, HWU64, CLINC150
//! and Banking77 are read from `--data-dir` (one folder per dataset, or the dataset's own
//! folder; layout in `docs/datasets.md`); the user's own data is read from files
//! ([`FileDataset`]: CSV/TSV and JSON Lines text, image class folders, NumPy arrays). Splits
//! that the source lacks are made with a fixed seed ([`SPLIT_SEED`]) that does not depend on
//! the training seed, so every run sees the same validation and test examples.

mod builtin;
mod csv_text;
mod dataset;
mod digits;
mod files;
mod idx;
mod image_folder;
mod jsonl_text;
mod labels;
mod numpy;
mod rows;
mod source;
mod split;
mod text;
mod text_sink;
pub mod token_encoder;
pub mod tokenizer;
pub mod vocabulary;

pub use dataset::{
    DataOptions, Dataset, DatasetInfo, DatasetName, Features, InputNormalization, Split,
};
pub use image_folder::IMAGE_EXTENSIONS;
pub use source::{
    parse_image_size, DatasetSource, FileDataset, FileFormat, DEFAULT_TEST_FRACTION,
    DEFAULT_VALIDATION_FRACTION,
};

/// Seed of every split the sources do not define.
pub const SPLIT_SEED: u64 = 20_260_101;
