//! `qfront export`: a checkpoint directory (written by `qfront train --save`) becomes a packed
//! `.qfm` model for the runtime.

use super::storage::StorageArgs;
use anyhow::{Context, Result};
use clap::Args;
use qfront_train::burn::tensor::Device;
use qfront_train::data::{DatasetInfo, DatasetName};
use qfront_train::export::{export_model, pixel_scale, ExportOptions};
use qfront_train::training::load_checkpoint;
use std::path::{Path, PathBuf};

/// Options of `qfront export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// `CHECKPOINT_DIR OUT` (a directory written by `qfront train --save`), `MODEL.qfm OUT`
    /// (convert an exported model), or just `OUT` with `--trial`. `OUT` ending in `.onnx`
    /// writes ONNX.
    #[arg(num_args = 1..=2, required = true)]
    pub paths: Vec<PathBuf>,
    /// Export trial N of a study (with `--dir`, or `--storage` and `--study`) instead of a
    /// checkpoint.
    #[arg(long)]
    pub trial: Option<usize>,
    /// Where the study of `--trial` is (its models are under DIR/trials/<n>/).
    #[command(flatten)]
    pub storage: StorageArgs,
    /// What to write: `qfm` (qfront's runtime) or `onnx` (a standard QDQ graph for ONNX
    /// Runtime and its converters, see docs/onnx-export.md). Default: `onnx` when the output
    /// ends in `.onnx`, else `qfm`.
    #[arg(long, value_enum)]
    pub format: Option<ModelFormat>,
    /// Step of the input pixel grid (default: from the dataset recorded in the checkpoint;
    /// 1/16 for digits, 1/255 for MNIST-style images).
    #[arg(long)]
    pub pixel_scale: Option<f32>,
}

/// The file formats `qfront export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelFormat {
    /// qfront's packed integer model.
    Qfm,
    /// ONNX (opset 25) with QuantizeLinear/DequantizeLinear nodes and integer weights.
    Onnx,
}

impl ModelFormat {
    /// The format asked for, or the one the output's extension names.
    fn resolve(asked: Option<Self>, output: &Path) -> Self {
        asked.unwrap_or(if output.extension().is_some_and(|e| e == "onnx") {
            Self::Onnx
        } else {
            Self::Qfm
        })
    }
}

/// What a checkpoint's `train.json` records of its data: the pixel grid step, the class
/// names and a text model's vocabulary (`data`, written since file datasets exist; older
/// checkpoints name a built-in dataset in `result.dataset`).
fn checkpoint_data(dir: &Path) -> (Option<f32>, Vec<String>, Vec<String>) {
    let Some(value) = std::fs::read_to_string(dir.join("train.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
    else {
        return (None, Vec::new(), Vec::new());
    };
    if let Ok(info) = serde_json::from_value::<DatasetInfo>(value["data"].clone()) {
        return (
            info.pixel_scale,
            info.classes,
            info.vocabulary.unwrap_or_default(),
        );
    }
    let scale = value["result"]["dataset"]
        .as_str()
        .and_then(|name| DatasetName::parse(name).ok())
        .and_then(pixel_scale);
    (scale, Vec::new(), Vec::new())
}

/// Writes `file` and reports it on stderr.
pub fn write_model(file: &qfront_rt::QfmFile, path: &Path) -> Result<()> {
    file.write(path)?;
    tracing::info!(path = %path.display(), bytes = file.to_bytes().len(), nodes = file.model.nodes.len(), "wrote .qfm model");
    Ok(())
}

/// Writes `file` in `format` to `path`; returns the JSON line describing it (stdout).
fn write_as(
    file: &qfront_rt::QfmFile,
    format: ModelFormat,
    path: &Path,
) -> Result<serde_json::Value> {
    match format {
        ModelFormat::Qfm => {
            write_model(file, path)?;
            Ok(
                serde_json::json!({"model": path, "format": "qfm", "bytes": file.to_bytes().len(), "nodes": file.model.nodes.len()}),
            )
        }
        ModelFormat::Onnx => {
            let onnx = qfront_train::export::onnx::to_onnx(file)?;
            std::fs::write(path, &onnx.bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(path = %path.display(), bytes = onnx.bytes.len(), "wrote ONNX model");
            Ok(serde_json::json!({
                "model": path,
                "format": "onnx",
                "opset": qfront_train::export::onnx::OPSET,
                "input": onnx.input,
                "bytes": onnx.bytes.len(),
                "weights": onnx.weights,
            }))
        }
    }
}

/// The model trial `n` of a study exported (read, and so validated). When it is missing, the
/// error says why: the trial did not complete, or (with a shared store) another machine ran it.
fn trial_model(storage: &StorageArgs, n: usize) -> Result<qfront_rt::QfmFile> {
    let shared = storage.storage.is_some();
    let (dir, trial) = if shared {
        let (_, mut store, dir) = storage.open_stored()?;
        let trial = store.trials()?.into_iter().find(|t| t.number == n);
        (dir, trial)
    } else {
        (
            storage.dir_for(storage.study.as_deref().unwrap_or("snips-nlu")),
            None,
        )
    };
    let source = dir.join("trials").join(n.to_string()).join("model.qfm");
    qfront_rt::QfmFile::read(&source).with_context(|| match &trial {
        None if shared => format!("the study has no trial {n}"),
        None => format!(
            "trial {n} of the study in {} has no readable model (did it complete? see `qfront trials --dir {}`)",
            dir.display(),
            dir.display()
        ),
        Some(t) if t.state != qfront_study::store::TrialRowState::Complete => format!("trial {n} is {}", t.state),
        Some(t) => match t.worker.as_deref().map(qfront_study::store::worker_host) {
            Some(host) if host != qfront_study::store::host_name() => format!(
                "trial {n} ran on {host}; export it there, or copy that machine's trials/{n}/ into {}",
                dir.display()
            ),
            _ => format!(
                "trial {n} ran on this machine but its model is not in {} (pass the --dir its worker used)",
                dir.display()
            ),
        },
    })
}

/// Runs `qfront export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let (checkpoint, output) = match (args.trial, &args.paths[..]) {
        (Some(n), [output]) => {
            let file = trial_model(&args.storage, n)?;
            let mut line = write_as(&file, ModelFormat::resolve(args.format, output), output)?;
            line["trial"] = n.into();
            println!("{line}");
            return Ok(());
        }
        (None, [source, output]) if source.is_file() => {
            // An already exported `.qfm` model, converted (to ONNX) or copied.
            // The runtime's error names the file and what is wrong with it.
            let file = qfront_rt::QfmFile::read(source)?;
            println!(
                "{}",
                write_as(&file, ModelFormat::resolve(args.format, output), output)?
            );
            return Ok(());
        }
        (None, [checkpoint, output]) => (checkpoint.clone(), output.clone()),
        (Some(_), _) => anyhow::bail!(
            "with --trial give only the output file: qfront export --trial N --dir DIR OUT.qfm"
        ),
        (None, _) => anyhow::bail!(
            "give a checkpoint directory and an output file: qfront export CHECKPOINT_DIR OUT.qfm"
        ),
    };
    let (model, spec) = load_checkpoint(&checkpoint, &Device::flex())?;
    let (recorded_scale, labels, vocabulary) = checkpoint_data(&checkpoint);
    let scale = match (args.pixel_scale, spec.input.clone()) {
        (Some(s), _) => s,
        (None, qfront_train::spec::InputShape::Tokens { .. }) => 1.0,
        (None, _) => recorded_scale
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
            labels,
            vocabulary,
        },
    )?;
    println!(
        "{}",
        write_as(&file, ModelFormat::resolve(args.format, &output), &output)?
    );
    Ok(())
}
