//! `qfront eval`: runs a dataset's test split through a `.qfm` model with the integer runtime
//! and reports its accuracy.

use crate::output::Format;
use anyhow::{bail, Result};
use clap::Args;
use qfront_rt::format::InputSpec;
use qfront_rt::{KernelSet, QfmFile, Session};
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::data::{DataOptions, Dataset, DatasetName, Features};
use qfront_train::export::runtime_predict;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `qfront eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The `.qfm` model.
    pub model: PathBuf,
    /// Dataset whose test split is run: digits, snips (built in), mnist, fashion-mnist, hwu64,
    /// clinc150, banking77 (need --data-dir).
    #[arg(long)]
    pub dataset: String,
    /// Directory holding the datasets that do not ship with qfront.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Examples per batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Use the scalar reference kernels instead of the fastest available.
    #[arg(long)]
    pub reference_kernels: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `qfront eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let file = QfmFile::read(&args.model)?;
    let dataset = DatasetName::parse(&args.dataset)?;
    let mut options = DataOptions {
        data_dir: args.data_dir.clone(),
        ..DataOptions::default()
    };
    if let InputSpec::Tokens {
        max_tokens,
        vocabulary,
    } = file.model.input
    {
        options.tokenizer = HashingTokenizer {
            buckets: vocabulary - 1,
            max_tokens,
        };
    }
    let data = Dataset::load(dataset, &options)?;
    match (&file.model.input, &data.test.features) {
        (
            InputSpec::Image {
                height,
                width,
                channels,
                ..
            },
            Features::Images { shape, .. },
        ) => {
            if *shape != [*channels, *height, *width] {
                bail!(
                    "the model reads {channels}×{height}×{width} images but {} has {}×{}×{}",
                    dataset.name(),
                    shape[0],
                    shape[1],
                    shape[2]
                );
            }
        }
        (InputSpec::Tokens { .. }, Features::Tokens { .. }) => {}
        _ => bail!(
            "the model and the dataset {} disagree on the input kind (images vs text)",
            dataset.name()
        ),
    }
    let kernels = if args.reference_kernels {
        KernelSet::Reference
    } else {
        KernelSet::detect()
    };
    let mut session = Session::new(&file, kernels);
    if session.classes() != data.classes.len() {
        bail!(
            "the model has {} classes but {} has {}",
            session.classes(),
            dataset.name(),
            data.classes.len()
        );
    }
    let start = Instant::now();
    let predictions = runtime_predict(&mut session, &data.test, args.batch)?;
    let seconds = start.elapsed().as_secs_f64();
    let correct = predictions
        .iter()
        .zip(&data.test.labels)
        .filter(|(p, l)| p == l)
        .count();
    let accuracy = correct as f64 / data.test.len().max(1) as f64;
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "model": args.model,
                "dataset": dataset.name(),
                "test_accuracy": accuracy,
                "examples": data.test.len(),
                "kernels": kernels.name(),
                "seconds": seconds,
            })
        ),
        Format::Table => {
            println!("{:<16} {}", "model", args.model.display());
            println!("{:<16} {}", "dataset", dataset.name());
            println!("{:<16} {:.4}", "test accuracy", accuracy);
            println!("{:<16} {}", "examples", data.test.len());
            println!("{:<16} {}", "kernels", kernels.name());
            println!("{:<16} {:.3}", "seconds", seconds);
        }
    }
    Ok(())
}
