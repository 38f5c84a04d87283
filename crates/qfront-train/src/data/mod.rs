//! Datasets: digits and SNIPS ship with the repository; MNIST, Fashion-MNIST, HWU64,
//! CLINC150 and Banking77 are read from `--data-dir` (the layout of `shared/data`: one folder
//! per dataset, or the dataset's own folder). Splits that the source lacks are made with a
//! fixed seed ([`SPLIT_SEED`]) that does not depend on the training seed, so every run sees
//! the same validation and test examples.

mod dataset;
mod digits;
mod idx;
mod split;
mod text;
pub mod tokenizer;

pub use dataset::{DataOptions, Dataset, DatasetName, Features, Split};

/// Seed of every split the sources do not define.
pub const SPLIT_SEED: u64 = 20_260_101;
