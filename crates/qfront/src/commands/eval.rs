//! `qfront eval`: runs a dataset's test split through a `.qfm` model with the integer runtime
//! and reports its accuracy.

use super::data_args::DataArgs;
use crate::output::Format;
use anyhow::{bail, Result};
use clap::Args;
use qfront_rt::format::InputSpec;
use qfront_rt::{KernelSet, QfmFile, Session};
use qfront_train::data::token_encoder::{TextEncoding, VocabularyPlan};
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::data::vocabulary::Vocabulary;
use qfront_train::data::{DataOptions, Dataset, Features};
use qfront_train::export::runtime_predict;
use std::path::PathBuf;

/// The first few names of a list, for messages.
fn preview(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(4).map(String::as_str).collect();
    if names.len() > shown.len() {
        format!("{}, … {} in all", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}
use std::time::Instant;

/// Options of `qfront eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The `.qfm` model.
    pub model: PathBuf,
    /// The data whose test split is run (the same split as at training time: your own data
    /// with the same --data options, or a built-in dataset).
    #[command(flatten)]
    pub data: DataArgs,
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
    if args.data.dataset.is_none() && args.data.data.is_none() {
        bail!("name the data to evaluate on: --dataset NAME or --data PATH (the same as at training time)");
    }
    let source = args.data.source()?;
    let dataset = source.display_name();
    let mut options = DataOptions {
        data_dir: args.data.data_dir.clone(),
        ..DataOptions::default()
    };
    if let InputSpec::Tokens {
        max_tokens,
        vocabulary,
        words,
    } = &file.model.input
    {
        options.text = if words.is_empty() {
            if *vocabulary < 2 {
                bail!(
                    "{}: the model's token vocabulary has {vocabulary} row(s); a hashed-token model needs the padding row and at least one bucket",
                    args.model.display()
                );
            }
            TextEncoding::Hashed(HashingTokenizer {
                buckets: vocabulary - 1,
                max_tokens: *max_tokens,
            })
        } else {
            let vocabulary = Vocabulary::from_words(words.clone()).map_err(|reason| {
                anyhow::anyhow!(
                    "{}: the model's vocabulary is unusable: {reason}",
                    args.model.display()
                )
            })?;
            TextEncoding::Vocabulary {
                max_tokens: *max_tokens,
                vocabulary: VocabularyPlan::Given(std::sync::Arc::new(vocabulary)),
            }
        };
    }
    let data = Dataset::from_source(&source, &options)?;
    if data.test.is_empty() {
        bail!("{dataset} has no test split; pass --test-data PATH (or a --test-fraction above 0)");
    }
    if !file.model.labels.is_empty() && file.model.labels != data.classes {
        bail!(
            "the model's classes ({}) are not the data's ({}); evaluate on data with the training labels",
            preview(&file.model.labels),
            preview(&data.classes)
        );
    }
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
                    dataset,
                    shape[0],
                    shape[1],
                    shape[2]
                );
            }
        }
        (InputSpec::Tokens { .. }, Features::Tokens { .. }) => {}
        _ => bail!(
            "the model and the dataset {} disagree on the input kind (images vs text)",
            dataset
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
            dataset,
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
                "dataset": dataset,
                "test_accuracy": accuracy,
                "examples": data.test.len(),
                "kernels": kernels.name(),
                "seconds": seconds,
            })
        ),
        Format::Table => {
            println!("{:<16} {}", "model", args.model.display());
            println!("{:<16} {}", "dataset", dataset);
            println!("{:<16} {:.4}", "test accuracy", accuracy);
            println!("{:<16} {}", "examples", data.test.len());
            println!("{:<16} {}", "kernels", kernels.name());
            println!("{:<16} {:.3}", "seconds", seconds);
        }
    }
    Ok(())
}
