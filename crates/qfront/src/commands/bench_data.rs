//! `qfront bench data`: how long loading a dataset takes and how much memory it needs, against
//! the size of the tokenised (or pixel) tensors it produces. `bench/user_data/large_csv.py`
//! runs it beside pandas + a HuggingFace tokenizer on the same file.

use super::data_args::DataArgs;
use anyhow::Result;
use clap::Args;
use qfront_train::data::token_encoder::TextEncoding;
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::data::{DataOptions, Dataset, Features, Split};
use std::time::Instant;

/// Options of `qfront bench data`.
#[derive(Debug, Args)]
pub struct DataBenchArgs {
    /// The data to load.
    #[command(flatten)]
    data: DataArgs,
    /// Text: hash buckets of the tokenizer.
    #[arg(long, default_value_t = 4096)]
    buckets: usize,
    /// Text: words kept per example.
    #[arg(long, default_value_t = 32)]
    max_tokens: usize,
}

/// Bytes held by a split's features and labels.
fn split_bytes(split: &Split) -> usize {
    let features = match &split.features {
        Features::Tokens { ids, .. } => ids.len() * std::mem::size_of::<i64>(),
        Features::Images { pixels, .. } => pixels.len() * std::mem::size_of::<f32>(),
    };
    features + split.labels.len() * std::mem::size_of::<usize>()
}

/// The process's peak resident set size in bytes (Linux `VmHWM`), if known.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `qfront bench data`: one JSON line on stdout.
pub fn run(args: DataBenchArgs) -> Result<()> {
    if args.buckets == 0 || args.max_tokens == 0 {
        anyhow::bail!("--buckets and --max-tokens must be positive");
    }
    let source = args.data.source()?;
    let options = DataOptions {
        data_dir: args.data.data_dir.clone(),
        text: TextEncoding::Hashed(HashingTokenizer {
            buckets: args.buckets,
            max_tokens: args.max_tokens,
        }),
    };
    let rss_before = peak_rss_bytes();
    let start = Instant::now();
    let data = Dataset::from_source(&source, &options)?;
    let seconds = start.elapsed().as_secs_f64();
    let tensor_bytes: usize = [&data.train, &data.val, &data.test]
        .iter()
        .map(|s| split_bytes(s))
        .sum();
    let peak = peak_rss_bytes();
    let mb = |b: Option<u64>| b.map(|b| b as f64 / 1e6);
    println!(
        "{}",
        serde_json::json!({
            "dataset": data.name,
            "rows": data.train.len() + data.val.len() + data.test.len(),
            "classes": data.classes.len(),
            "skipped_rows": data.skipped_rows,
            "seconds": seconds,
            "tensor_mb": tensor_bytes as f64 / 1e6,
            "peak_rss_mb": mb(peak),
            "rss_before_mb": mb(rss_before),
            "peak_over_tensors": peak.map(|p| p as f64 / tensor_bytes.max(1) as f64),
        })
    );
    Ok(())
}
