//! A user's model file: a layer-list TOML (`net.toml`) or a float ONNX model (`net.onnx`,
//! imported with its trained weights), read into one type the CLI and studies share.

use super::layer_spec::{read_layer_list, LayerSpec, VocabularySpec};
use super::onnx_import::{import_onnx, ImportedInput, ImportedModel};
use crate::data::vocabulary::Vocabulary;
use crate::spec::InputShape;
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

    /// Imports the file again, checking it is the one pinned. (Hashing reads the file once
    /// more than parsing does; onnx-ir parses from the path so that models with external
    /// weight files, which it resolves next to the model, still load.)
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
    /// What an ONNX model was exported to read.
    pub input: Option<ImportedInput>,
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

    /// Gives the model's embedding the word vocabulary in `path` (one token per line) in
    /// place of hashed words. For an imported model the file must have one token per row of
    /// the trained table.
    pub fn use_vocabulary(&mut self, path: &Path) -> Result<()> {
        let vocabulary = Vocabulary::read(path)?;
        let imported = self.pretrained.is_some();
        let Some(LayerSpec::Embedding {
            buckets,
            vocabulary: words,
            ..
        }) = self
            .layers
            .iter_mut()
            .find(|l| matches!(l, LayerSpec::Embedding { .. }))
        else {
            return Err(TrainError::config(
                "vocabulary",
                "the model has no embedding; a vocabulary is for text models",
            ));
        };
        if let (true, Some(b)) = (imported, *buckets) {
            if b + 1 != vocabulary.len() {
                return Err(TrainError::config(
                    format!("vocabulary file {}", path.display()),
                    format!(
                        "it has {} tokens but the model's embedding table has {} rows; give the vocabulary the model was trained with (line k = row k)",
                        vocabulary.len(),
                        b + 1
                    ),
                ));
            }
        }
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        *buckets = None;
        *words = Some(VocabularySpec::File(path));
        Ok(())
    }

    /// Checks that the data is what an ONNX model was exported for (nothing to check for a
    /// TOML layer list).
    pub fn check_input(&self, data: &InputShape) -> Result<()> {
        self.input.map_or(Ok(()), |input| input.check(data))
    }
}

impl ImportedInput {
    /// Checks that the data is what the model was exported for: images of the same
    /// `[channels, height, width]`, or the same number of tokens; the error names the flag
    /// that fixes it.
    pub fn check(&self, data: &InputShape) -> Result<()> {
        let mismatch = |reason: String| Err(TrainError::config("model", reason));
        match (*self, data) {
            (
                ImportedInput::Image(model),
                InputShape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                if model == [*channels, *height, *width] {
                    Ok(())
                } else {
                    mismatch(format!(
                        "the ONNX model reads {}×{}×{} images but the data has {channels}×{height}×{width}; resize the data (--image-size {}x{}, --channels {}) or export the model for the data's size",
                        model[0], model[1], model[2], model[1], model[2], model[0]
                    ))
                }
            }
            (ImportedInput::Tokens(model), InputShape::Tokens { max_tokens, .. }) => {
                if model == *max_tokens {
                    Ok(())
                } else {
                    mismatch(format!(
                        "the ONNX model reads {model} tokens per example but the data keeps {max_tokens}; set --max-tokens {model} (fixed.max_tokens in a study) or export the model for {max_tokens} tokens"
                    ))
                }
            }
            (ImportedInput::Image(_), InputShape::Tokens { .. }) => {
                mismatch("the ONNX model reads images but the data is text".into())
            }
            (ImportedInput::Tokens(_), InputShape::Image { .. }) => {
                mismatch("the ONNX model reads token ids but the data is images".into())
            }
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
