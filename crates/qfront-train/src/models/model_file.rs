//! A user's model file: a layer-list TOML (`net.toml`) or a float ONNX model (`net.onnx`,
//! imported with its trained weights), read into one type the CLI and studies share.

use super::layer_spec::{read_layer_list, LayerSpec};
use super::onnx_import::{import_onnx, ImportedModel};
use crate::{Result, TrainError};
use sha2::Digest;
use std::path::{Path, PathBuf};

/// Where a layer list's starting weights come from: an ONNX file, pinned by its SHA-256 so a
/// study or checkpoint never silently starts from a changed file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainedSource {
    /// The ONNX file (absolute).
    pub path: PathBuf,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

impl PretrainedSource {
    /// Pins `path` by its current content.
    pub fn pin(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(Self {
            path,
            sha256: hex(&sha2::Sha256::digest(&bytes)),
        })
    }

    /// Imports the file again, checking it is the one pinned.
    pub fn import(&self) -> Result<ImportedModel> {
        let now = Self::pin(&self.path)?;
        if now.sha256 != self.sha256 {
            return Err(TrainError::config(
                format!("pretrained model {}", self.path.display()),
                format!(
                    "the file changed since it was chosen (SHA-256 {} now, {} then); restore it, or start a new study or training run from the new file",
                    short(&now.sha256),
                    short(&self.sha256)
                ),
            ));
        }
        import_onnx(&self.path)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// A model file as read: its layers, and for an ONNX model the weights it starts from and the
/// image shape it was exported for.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The layers.
    pub layers: Vec<LayerSpec>,
    /// The pretrained weights' source (ONNX models).
    pub pretrained: Option<PretrainedSource>,
    /// The `[channels, height, width]` an ONNX model reads.
    pub input: Option<[usize; 3]>,
}

impl ModelFile {
    /// A layer list without weights.
    pub fn from_layers(layers: Vec<LayerSpec>) -> Self {
        Self {
            layers,
            pretrained: None,
            input: None,
        }
    }

    /// Checks that the data's images (`[channels, height, width]`) are the ones an ONNX
    /// model was exported for.
    pub fn check_input(&self, data: [usize; 3]) -> Result<()> {
        match self.input {
            Some(model) if model != data => Err(TrainError::config(
                "model",
                format!(
                    "the ONNX model reads {}×{}×{} images but the data has {}×{}×{}; resize the data (--image-size {}x{}, --channels {}) or export the model for the data's size",
                    model[0], model[1], model[2], data[0], data[1], data[2], model[1], model[2], model[0]
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Whether `path` names an ONNX model (by its extension).
pub fn is_onnx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Reads a model file: `.onnx` is imported (layers, input shape, pinned weights), anything
/// else is read as a layer-list TOML.
pub fn read_model_file(path: &Path) -> Result<ModelFile> {
    if is_onnx(path) {
        let imported = import_onnx(path)?;
        Ok(ModelFile {
            layers: imported.layers,
            pretrained: Some(PretrainedSource::pin(path)?),
            input: Some(imported.input),
        })
    } else {
        Ok(ModelFile::from_layers(read_layer_list(path)?))
    }
}
