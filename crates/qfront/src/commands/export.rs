//! `qfront export`: a checkpoint directory (written by `qfront train --save`) becomes a packed
//! `.qfm` model for the runtime.

use anyhow::{Context, Result};
use clap::Args;
use qfront_train::burn::tensor::Device;
use qfront_train::data::DatasetName;
use qfront_train::export::{export_model, pixel_scale, ExportOptions};
use qfront_train::training::load_checkpoint;
use std::path::{Path, PathBuf};

/// Options of `qfront export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint directory written by `qfront train --save`.
    pub checkpoint: PathBuf,
    /// The `.qfm` file to write.
    pub output: PathBuf,
    /// Step of the input pixel grid (default: from the dataset recorded in the checkpoint;
    /// 1/16 for digits, 1/255 for MNIST-style images).
    #[arg(long)]
    pub pixel_scale: Option<f32>,
}

/// The dataset recorded in a checkpoint's `train.json`.
fn checkpoint_dataset(dir: &Path) -> Option<DatasetName> {
    let text = std::fs::read_to_string(dir.join("train.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    DatasetName::parse(value["result"]["dataset"].as_str()?).ok()
}

/// Writes `file` and reports it on stderr.
pub fn write_model(file: &qfront_rt::QfmFile, path: &Path) -> Result<()> {
    file.write(path)?;
    tracing::info!(path = %path.display(), bytes = file.to_bytes().len(), nodes = file.model.nodes.len(), "wrote .qfm model");
    Ok(())
}

/// Runs `qfront export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let (model, spec) = load_checkpoint(&args.checkpoint, &Device::flex())?;
    let scale = match (args.pixel_scale, spec.input.clone()) {
        (Some(s), _) => s,
        (None, qfront_train::spec::InputShape::Tokens { .. }) => 1.0,
        (None, _) => checkpoint_dataset(&args.checkpoint)
            .and_then(pixel_scale)
            .context("the checkpoint does not record an image dataset; pass --pixel-scale (1/16 = 0.0625 for digits, 1/255 for 8-bit images)")?,
    };
    if !(scale.is_finite() && scale > 0.0) {
        anyhow::bail!("--pixel-scale {scale} must be finite and positive");
    }
    let file = export_model(
        &model,
        &spec,
        ExportOptions {
            pixel_scale: scale,
            name: "qfront",
        },
    )?;
    write_model(&file, &args.output)?;
    println!(
        "{}",
        serde_json::json!({"model": args.output, "bytes": file.to_bytes().len(), "nodes": file.model.nodes.len()})
    );
    Ok(())
}
