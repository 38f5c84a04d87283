//! Checkpoints: a directory with the weights (`model.bpk`, burn's burnpack format) and the
//! spec (`spec.json`) that rebuilds the model.

use crate::models::Model;
use crate::spec::ModelSpec;
use crate::{Result, TrainError};
use burn::module::Module;
use burn::tensor::Device;
use std::path::Path;

/// Weights file inside a checkpoint directory.
pub const CHECKPOINT_MODEL_FILE: &str = "model.bpk";
/// Spec file inside a checkpoint directory.
pub const CHECKPOINT_SPEC_FILE: &str = "spec.json";

fn err(path: &Path, reason: impl ToString) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Writes `dir/model.bpk` and `dir/spec.json` (plus `extra` JSON as `train.json`), through
/// temporary files renamed into place so an interrupted save never leaves a half file.
pub fn save_checkpoint(
    model: &Model,
    spec: &ModelSpec,
    extra: &serde_json::Value,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let tmp = dir.join(".model.bpk.tmp");
    model
        .clone()
        .valid()
        .save_file(&tmp)
        .map_err(|e| err(&tmp, format!("{e:?}")))?;
    let final_path = dir.join(CHECKPOINT_MODEL_FILE);
    std::fs::rename(&tmp, &final_path).map_err(|e| TrainError::Io {
        path: final_path.clone(),
        source: e,
    })?;
    for (name, value) in [
        (
            CHECKPOINT_SPEC_FILE,
            serde_json::to_value(spec).map_err(|e| err(dir, e))?,
        ),
        ("train.json", extra.clone()),
    ] {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_string_pretty(&value).map_err(|e| err(&path, e))?,
        )
        .map_err(|e| TrainError::Io {
            path: tmp.clone(),
            source: e,
        })?;
        std::fs::rename(&tmp, &path).map_err(|e| TrainError::Io { path, source: e })?;
    }
    Ok(())
}

/// Reads a checkpoint directory: rebuilds the model from its spec, then loads the weights.
pub fn load_checkpoint(dir: &Path, device: &Device) -> Result<(Model, ModelSpec)> {
    let spec_path = dir.join(CHECKPOINT_SPEC_FILE);
    let text = std::fs::read_to_string(&spec_path).map_err(|e| {
        err(
            &spec_path,
            format!("{e}; is this a directory written by `qfront train --save`?"),
        )
    })?;
    let spec: ModelSpec = serde_json::from_str(&text).map_err(|e| err(&spec_path, e))?;
    let model = Model::build_untrained(&spec, 0, device)?;
    let weights = dir.join(CHECKPOINT_MODEL_FILE);
    if !weights.exists() {
        return Err(err(&weights, "missing weights file"));
    }
    let model = model.try_load_file(&weights).map_err(|e| err(&weights, format!("cannot load the weights ({e:?}); the file is truncated or does not match spec.json")))?;
    Ok((model, spec))
}
