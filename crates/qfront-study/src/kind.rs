//! What a study trains: qfront's own pipeline (a dataset and a model family, every trial
//! trained, exported and measured by qfront), or an outside trainer that asks and tells
//! through `qfront study ask | tell` (free parameter and metric names, nothing trained here).

use crate::{Result, StudyError};
use qfront_train::data::DatasetSource;

/// The kind of a study, as written (`kind = "external"`), or implied by its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StudyKind {
    /// qfront trains every trial: the study names a dataset and a model family, and its
    /// parameters are qfront's settings.
    Pipeline,
    /// An outside trainer (PyTorch, ...) asks for parameters and tells the metrics it
    /// measured; parameters and metrics take any names.
    External,
}

/// The data and model family of a pipeline study, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSource {
    /// Where the examples come from.
    pub dataset: DatasetSource,
    /// The model family (`mlp`, `lenet`, `resnet20`, `nlu`, `layers`).
    pub family: String,
    /// The model of the `layers` family: its layer list, and for an imported ONNX model the
    /// weights it starts from.
    pub layers: Option<qfront_train::models::ModelFile>,
}

/// The model of a `layers` study as written: a layer-list TOML or ONNX file, or the list
/// itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum StudyModel {
    /// `model = "net.toml"` or `model = "net.onnx"` (relative to the study file).
    File(std::path::PathBuf),
    /// `[model] layers = [...]`.
    Inline {
        /// The layers.
        layers: Vec<qfront_train::models::LayerSpec>,
    },
    /// `[model] file = "net.onnx"` with `vocabulary = "vocab.txt"`: the word vocabulary the
    /// model's embedding was trained with (both relative to the study file).
    WithVocabulary {
        /// The model file.
        file: std::path::PathBuf,
        /// The vocabulary file, one token per line.
        vocabulary: std::path::PathBuf,
    },
}

impl StudyModel {
    /// The model, read (or imported) from the file if need be.
    pub fn model_file(&self) -> Result<qfront_train::models::ModelFile> {
        match self {
            StudyModel::File(path) => Ok(qfront_train::models::read_model_file(path)?),
            StudyModel::Inline { layers } => {
                Ok(qfront_train::models::ModelFile::from_layers(layers.clone()))
            }
            StudyModel::WithVocabulary { file, vocabulary } => {
                let mut model = qfront_train::models::read_model_file(file)?;
                model.use_vocabulary(vocabulary)?;
                Ok(model)
            }
        }
    }
}

/// The study's kind from what it wrote: `kind` if given; else a pipeline when it names a
/// dataset and a family, an external study when it names neither.
pub fn resolve_kind(
    kind: Option<StudyKind>,
    dataset: Option<&DatasetSource>,
    family: Option<&str>,
) -> Result<StudyKind> {
    match (kind, dataset.is_some(), family.is_some()) {
        (Some(StudyKind::External), false, false) | (None, false, false) => {
            Ok(StudyKind::External)
        }
        (Some(StudyKind::External), _, _) => Err(StudyError::config(
            "kind",
            "an external study trains nothing here; drop `dataset` and `family`",
        )),
        (Some(StudyKind::Pipeline) | None, true, true) => Ok(StudyKind::Pipeline),
        (_, false, _) => Err(StudyError::config(
            "dataset",
            "missing: a study that qfront trains names its data (`dataset = \"snips\"` or a [dataset] table); for an outside trainer write `kind = \"external\"` and drop `family`",
        )),
        (_, _, false) => Err(StudyError::config(
            "family",
            "missing: name the model family (mlp, lenet, resnet20, nlu); for an outside trainer write `kind = \"external\"` and drop `dataset`",
        )),
    }
}

/// Checks a free parameter or metric name of an external study: letters, digits, `_`, `.`,
/// `-` (so that it reads unambiguously in constraints like `loss <= 0.3` and in CSV headers).
pub fn check_free_name(key: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StudyError::config(
            key,
            format!(
                "'{name}' is not a usable name: use letters, digits, '_', '.' or '-' (not first)"
            ),
        ))
    }
}
