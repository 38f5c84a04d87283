//! The study definition in TOML (unknown keys rejected), and its validated form.
//!
//! ```toml
//! name = "digits-cnn"
//! dataset = "digits"                 # digits, snips, mnist, fashion-mnist, hwu64, clinc150, banking77,
//!                                    # or your own files as a table (qfront_train::data::FileDataset):
//!                                    # [dataset] path = "train.csv" (relative to this file)
//! family = "lenet"                   # mlp, lenet, resnet20, nlu
//! objectives = ["accuracy", "-latency_ms", "-size_kb"]
//! constraints = ["latency_ms <= 5"]  # optional
//! optimizer = "qnehvi"               # sobol, qnehvi, qnehvi-saas, qparego, qlognehvi
//! surrogate = "adaptive"             # the GPs' recipe: adaptive (default) or plain (BoTorch's)
//! budget = 20
//! seed = 0
//!
//! [fixed]                            # settings every trial uses (names: settings.rs)
//! epochs = 3
//!
//! [latency]                          # how latency is measured
//! mode = "local"                     # local | lut | device
//!
//! [saas]                             # NUTS of the SAAS GP (qnehvi-saas, qlognehvi-saas)
//! warmup = 256                       # defaults: 256 warm-up, 128 draws, every 16th kept,
//! samples = 128                      #   tree depth 6 (BoTorch: 512/256/16/6; studies are
//! thinning = 16                      #   tens of trials, so a lighter chain)
//! max_tree_depth = 6
//!
//! [[parameter]]                      # the search space (qfront-bo parameter kinds)
//! name = "wbits"
//! type = "ordered"
//! values = [2, 3, 4, 8]
//! ```

use crate::kind::{check_free_name, resolve_kind, PipelineSource, StudyKind, StudyModel};
use crate::objectives::{Constraint, Objective};
use crate::settings::{check_name, Settings, FAMILIES};
use crate::{Result, StudyError};
use qfront_bo::space::{ParamValue, Parameter, SearchSpace};
use qfront_bo::{Method, OptimizerConfig, Surrogate};
use qfront_train::data::{DatasetName, DatasetSource};
use std::collections::BTreeMap;
use std::path::PathBuf;

mod sections;

use sections::one;

pub use sections::{LatencyMode, LatencyPlan, LatencySection, OneBitwidthSection, SaasSection};

fn default_optimizer() -> String {
    "qnehvi".into()
}

/// A study as written in TOML.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// Study name (the default directory is `runs/<name>`).
    pub name: String,
    /// What the study is: `pipeline` (qfront trains every trial) or `external` (an outside
    /// trainer asks and tells). Default: `pipeline` when `dataset` and `family` are given,
    /// `external` when neither is.
    #[serde(default)]
    pub kind: Option<StudyKind>,
    /// The data: a built-in name, or a `[dataset]` table of the user's files (pipeline
    /// studies).
    #[serde(default)]
    pub dataset: Option<DatasetSource>,
    /// Directory of the datasets that do not ship with qfront.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Model family (pipeline studies): `mlp`, `lenet`, `resnet20`, `nlu`, or `layers` with
    /// a `model`.
    #[serde(default)]
    pub family: Option<String>,
    /// The layer list of family `layers`: `model = "net.toml"` or `[model] layers = [...]`.
    #[serde(default)]
    pub model: Option<StudyModel>,
    /// Objectives, e.g. `["accuracy", "-latency_ms", "-size_kb"]`.
    pub objectives: Vec<String>,
    /// Outcome constraints, e.g. `["latency_ms <= 5"]`.
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Reference point in the objectives' own units (e.g. `[0.8, 1.0, 500]` for accuracy 0.8,
    /// latency 1 ms, 500 KB); `None`: inferred at every ask (qfront-bo's
    /// `OptimizerConfig::reference_point`: BoTorch's rule on the models' predicted front, and
    /// every third ask on every observation, widened to the models' mean front). A trial whose
    /// acquisition against the given point is 0 everywhere, or nowhere above 1e-5 of the
    /// observed front's hypervolume against it, measures against the inferred one, and so
    /// does every sixth trial, against the predicted front's point
    /// (`OptimizerConfig::given_reference_alternation`).
    #[serde(default)]
    pub reference_point: Option<Vec<f64>>,
    /// Optimizer.
    #[serde(default = "default_optimizer")]
    pub optimizer: String,
    /// The GPs' recipe (qfront-bo's `Surrogate`): `adaptive` (default: outcome warp, quadratic
    /// trend, mean held at the worst observation from five dimensions on) or `plain`
    /// (BoTorch's: fitted constant mean, no trend, no warp).
    #[serde(default)]
    pub surrogate: Option<String>,
    /// Number of trials.
    pub budget: usize,
    /// Trials asked at once.
    #[serde(default = "one")]
    pub batch_size: usize,
    /// Seed of every random choice.
    #[serde(default)]
    pub seed: u64,
    /// Sobol trials before the model (default `2(d + 1)`, at most half the budget).
    #[serde(default)]
    pub initial_points: Option<usize>,
    /// Size-aligned search (Chin et al. 2020): every trial's width multiplier is the largest
    /// whose model size stays within this many KiB (bisection), so configurations compare at
    /// equal size. `width` must then not be set.
    #[serde(default)]
    pub align_size_kb: Option<f64>,
    /// The one-bitwidth comparison (preset `one-bitwidth`).
    #[serde(default)]
    pub one_bitwidth: Option<OneBitwidthSection>,
    /// NUTS settings of the SAAS GP.
    #[serde(default)]
    pub saas: SaasSection,
    /// Settings every trial uses.
    #[serde(default)]
    pub fixed: BTreeMap<String, toml::Value>,
    /// Latency measurement.
    #[serde(default)]
    pub latency: LatencySection,
    /// Also write every trial's model as ONNX (`trials/<n>/model.onnx`, a QDQ graph for ONNX
    /// Runtime and its converters; see `docs/onnx-export.md`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onnx: bool,
    /// The search space.
    #[serde(default, rename = "parameter")]
    pub parameters: Vec<Parameter>,
}

/// A validated study.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// As written.
    pub config: StudyConfig,
    /// Pipeline or external.
    pub kind: StudyKind,
    /// The data and model family, for a pipeline study.
    pub pipeline: Option<PipelineSource>,
    /// Parsed objectives.
    pub objectives: Vec<Objective>,
    /// Parsed constraints.
    pub constraints: Vec<Constraint>,
    /// Fixed settings.
    pub fixed: Settings,
    /// The optimizer's config.
    pub optimizer: OptimizerConfig,
    /// How latency is measured.
    pub latency: LatencyPlan,
}

impl Study {
    /// The data and family of a pipeline study; an error naming the fix for an external one.
    pub fn pipeline(&self) -> Result<&PipelineSource> {
        self.pipeline.as_ref().ok_or_else(|| {
            StudyError::config(
                "kind",
                format!(
                    "study '{}' is for an outside trainer (kind = \"external\"): qfront trains nothing for it; drive it with `qfront study ask` and `qfront study tell`",
                    self.config.name
                ),
            )
        })
    }

    /// The searched parameters' names, in the space's order.
    pub fn parameter_names(&self) -> Vec<String> {
        self.optimizer
            .space
            .parameters()
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }
}

/// The input shape and class count of a built-in dataset (with the default tokenizer).
fn builtin_shape(name: DatasetName) -> (qfront_train::spec::InputShape, usize) {
    use qfront_train::spec::InputShape;
    let image = |side: usize| InputShape::Image {
        channels: 1,
        height: side,
        width: side,
    };
    // Ids' range unknown (0): the model's own buckets are taken as the data's.
    let tokens = InputShape::Tokens {
        max_tokens: 32,
        vocabulary: 0,
    };
    match name {
        DatasetName::Digits => (image(8), 10),
        DatasetName::Mnist | DatasetName::FashionMnist => (image(28), 10),
        DatasetName::Snips => (tokens, 7),
        DatasetName::Hwu64 => (tokens, 64),
        DatasetName::Clinc150 => (tokens, 150),
        DatasetName::Banking77 => (tokens, 77),
    }
}

/// Builds the model of the fixed settings and each parameter's first value on data of this
/// shape, so that a bad fixed value fails before any trial, naming its key.
pub(crate) fn probe_settings(
    family: &str,
    layers: Option<&qfront_train::models::ModelFile>,
    input: &qfront_train::spec::InputShape,
    classes: usize,
    fixed: &Settings,
    space: &SearchSpace,
    seed: u64,
) -> Result<()> {
    let mut probe = fixed.clone();
    let first = space.decode(&vec![0.0; space.dim()]);
    for (p, v) in space.parameters().iter().zip(first) {
        probe.insert(p.name.clone(), v);
    }
    crate::settings::build_model(family, layers, input, classes, &probe, seed).map_err(
        |e| match e {
            StudyError::Config { key, reason } if fixed.contains_key(&key) => {
                StudyError::config(format!("fixed.{key}"), reason)
            }
            other => other,
        },
    )?;
    Ok(())
}

fn toml_value(key: &str, v: &toml::Value) -> Result<ParamValue> {
    Ok(match v {
        toml::Value::Integer(i) => ParamValue::Int(*i),
        toml::Value::Float(f) => ParamValue::Float(*f),
        toml::Value::String(s) => ParamValue::Text(s.clone()),
        other => {
            return Err(StudyError::config(
                key,
                format!("{other} is not a number or a name"),
            ))
        }
    })
}

impl StudyConfig {
    /// The dataset's name for reports: the built-in name or the training path.
    pub fn dataset_name(&self) -> String {
        match &self.dataset {
            Some(d) => d.display_name(),
            None => "(outside trainer)".into(),
        }
    }

    /// Makes the relative paths of a `[dataset]` table relative to `base` (the directory of
    /// the study file), so the study reads the same files from any working directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(DatasetSource::Files(files)) = &mut self.dataset {
            files.resolve_relative_to(base);
        }
        let absolute = |path: &mut std::path::PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        match &mut self.model {
            Some(StudyModel::File(path)) => absolute(path),
            Some(StudyModel::WithVocabulary { file, vocabulary }) => {
                absolute(file);
                absolute(vocabulary);
            }
            Some(StudyModel::Inline { layers }) => {
                qfront_train::models::resolve_vocabulary_paths(layers, base)
            }
            None => {}
        }
    }

    /// Parses TOML text; unknown keys and wrong types are errors naming the key.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            let message = e.message();
            // A key left out spans the whole document; name the key instead of the span.
            if let Some(name) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                let example = match name {
                    "budget" => " (the number of trials to run, e.g. `budget = 40`)",
                    _ => "",
                };
                return StudyError::config(
                    name,
                    format!("missing; the config needs `{name} = ...`{example}"),
                );
            }
            let key = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                    let column = before[line_start..].chars().count() + 1;
                    format!("line {line}, column {column}")
                })
                .unwrap_or_default();
            StudyError::config(key, message.to_string())
        })
    }

    /// What an external study may not set: the pipeline's own sections.
    fn check_external(&self) -> Result<()> {
        let refuse = |key: &str, what: &str| -> Result<()> {
            Err(StudyError::config(
                key,
                format!("{what} belongs to studies qfront trains; an external study (kind = \"external\") has only parameters, objectives, constraints and the optimizer"),
            ))
        };
        if !self.fixed.is_empty() {
            return refuse("fixed", "[fixed] (keep constants in your trainer)");
        }
        if self.data_dir.is_some() {
            return refuse("data_dir", "data_dir");
        }
        if self.align_size_kb.is_some() {
            return refuse("align_size_kb", "align_size_kb");
        }
        if self.one_bitwidth.is_some() {
            return refuse("one_bitwidth", "[one_bitwidth]");
        }
        if self.latency != LatencySection::default() {
            return refuse("latency", "[latency]");
        }
        Ok(())
    }

    /// Checks every value and resolves the study.
    pub fn validate(self) -> Result<Study> {
        if self.one_bitwidth.is_some() {
            return Err(StudyError::config(
                "one_bitwidth",
                "this config compares two studies (one bit width everywhere against the mixed search) and runs only as a whole: use `qfront search` with it; `study create`, `ask` and `tell` work on single studies",
            ));
        }
        if self.name.is_empty() || self.name.contains(['/', '\\']) {
            return Err(StudyError::config(
                "name",
                "must be a non-empty name without slashes",
            ));
        }
        let kind = resolve_kind(self.kind, self.dataset.as_ref(), self.family.as_deref())?;
        let external = kind == StudyKind::External;
        if external {
            self.check_external()?;
        }
        if let Some(DatasetSource::Files(files)) = &self.dataset {
            files
                .validate()
                .map_err(|e| StudyError::config("dataset", e.to_string()))?;
            if self.data_dir.is_some() {
                return Err(StudyError::config(
                    "data_dir",
                    "is for the built-in datasets; a [dataset] table names its own paths",
                ));
            }
        }
        if let Some(family) = &self.family {
            if !FAMILIES.contains(&family.as_str()) {
                return Err(StudyError::config(
                    "family",
                    format!("'{family}' is not one of {}", FAMILIES.join(", ")),
                ));
            }
        }
        let layers = match (self.family.as_deref(), &self.model) {
            (Some("layers"), Some(model)) => Some(model.model_file()?),
            (Some("layers"), None) => {
                return Err(StudyError::config(
                    "model",
                    "family 'layers' needs a layer list: model = \"net.toml\" or [model] layers = [...]",
                ))
            }
            (_, Some(_)) => {
                return Err(StudyError::config(
                    "model",
                    "a layer list goes with family = \"layers\"",
                ))
            }
            _ => None,
        };
        if self.objectives.is_empty() {
            return Err(StudyError::config(
                "objectives",
                "give at least one, e.g. [\"accuracy\", \"-latency_ms\"]",
            ));
        }
        let objectives = self
            .objectives
            .iter()
            .map(|o| Objective::parse("objectives", o, external))
            .collect::<Result<Vec<_>>>()?;
        for (i, o) in objectives.iter().enumerate() {
            if objectives[..i].iter().any(|p| p.metric == o.metric) {
                return Err(StudyError::config(
                    "objectives",
                    format!("'{}' is named twice; name each metric once", o.metric),
                ));
            }
        }
        let constraints = self
            .constraints
            .iter()
            .map(|c| Constraint::parse("constraints", c, external))
            .collect::<Result<Vec<_>>>()?;
        if self.budget == 0 {
            return Err(StudyError::config("budget", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(StudyError::config("batch_size", "must be at least 1"));
        }
        let method = Method::from_name(&self.optimizer)
            .map_err(|e| StudyError::config("optimizer", e.to_string()))?;
        let mut fixed = Settings::new();
        for (name, value) in &self.fixed {
            let key = format!("fixed.{name}");
            check_name(&key, name)?;
            fixed.insert(name.clone(), toml_value(&key, value)?);
        }
        for p in &self.parameters {
            let key = format!("parameter '{}'", p.name);
            if external {
                check_free_name(&key, &p.name)?;
            } else {
                check_name(&key, &p.name)?;
            }
            if fixed.contains_key(&p.name) {
                return Err(StudyError::config(
                    format!("parameter '{}'", p.name),
                    "is also in [fixed]; keep one",
                ));
            }
        }
        let latency =
            match (
                self.latency.mode,
                &self.latency.table,
                &self.latency.device_cmd,
            ) {
                (LatencyMode::Local, _, _) => LatencyPlan::Local,
                (LatencyMode::Lut, Some(table), _) => LatencyPlan::Table(table.clone()),
                (LatencyMode::Lut, None, _) => return Err(StudyError::config(
                    "latency.table",
                    "mode 'lut' needs a table (write one with `qfront bench lut --out table.json`)",
                )),
                (LatencyMode::Device, _, Some(template))
                    if template.contains("{onnx}") && !self.onnx =>
                {
                    return Err(StudyError::config(
                        "latency.device_cmd",
                        "the template uses {onnx}: set `onnx = true` so every trial writes one",
                    ))
                }
                (LatencyMode::Device, _, Some(template)) => LatencyPlan::Device(template.clone()),
                (LatencyMode::Device, _, None) => {
                    return Err(StudyError::config(
                        "latency.device_cmd",
                        "mode 'device' needs a command template",
                    ))
                }
            };
        // Measurement time becomes a Duration: finite, positive, and at most an hour.
        let max_time = self.latency.max_time;
        if self.latency.batch == 0 || !(max_time > 0.0 && max_time <= 3600.0) {
            return Err(StudyError::config(
                "latency",
                format!("batch must be ≥ 1 and max_time in (0, 3600] seconds (got {max_time})"),
            ));
        }
        if !(1..=256).contains(&self.latency.threads) {
            return Err(StudyError::config(
                "latency.threads",
                format!("{} is not in 1..=256", self.latency.threads),
            ));
        }
        if let Some(kb) = self.align_size_kb {
            if !(kb.is_finite() && kb > 0.0) {
                return Err(StudyError::config(
                    "align_size_kb",
                    format!("{kb} must be a positive size"),
                ));
            }
            if fixed.contains_key("width") || self.parameters.iter().any(|p| p.name == "width") {
                return Err(StudyError::config(
                    "align_size_kb",
                    "the width multiplier is aligned to the size; do not also set `width`",
                ));
            }
        }
        let space = SearchSpace::new(self.parameters.clone())
            .map_err(|e| StudyError::config("parameter", e.to_string()))?;
        // Built-in datasets have known shapes: build one model from the fixed settings and the
        // first value of each parameter, so bad fixed values fail now, naming their key,
        // rather than in every trial. The user's files are read (and the same check made) when
        // the study's trial runner loads them, as it does for a vocabulary embedding (whose
        // size depends on the data).
        let vocabulary = layers.as_ref().is_some_and(|m| {
            m.layers.iter().any(|l| {
                matches!(
                    l,
                    qfront_train::models::LayerSpec::Embedding {
                        vocabulary: Some(_),
                        ..
                    }
                )
            })
        });
        if let (Some(DatasetSource::Builtin(name)), Some(family), false) =
            (&self.dataset, &self.family, vocabulary)
        {
            let (input, classes) = builtin_shape(*name);
            probe_settings(
                family,
                layers.as_ref(),
                &input,
                classes,
                &fixed,
                &space,
                self.seed,
            )?;
        }
        let mut optimizer = OptimizerConfig::new(space, objectives.len(), method, self.seed);
        if let Some(name) = &self.surrogate {
            // The key names the input already: keep qfront-bo's reason without its own.
            let surrogate = Surrogate::from_name(name).map_err(|e| match e {
                qfront_bo::BoError::InvalidInput { reason, .. } => {
                    StudyError::config("surrogate", reason)
                }
                other => StudyError::config("surrogate", other.to_string()),
            })?;
            surrogate.apply(&mut optimizer);
        }
        optimizer.num_constraints = constraints.len();
        let initial = self.initial_points.unwrap_or_else(|| {
            optimizer
                .initial_design()
                .min(self.budget.div_ceil(2))
                .max(1)
        });
        optimizer.initial_points = Some(initial);
        if let Some(r) = &self.reference_point {
            if r.len() != objectives.len() || r.iter().any(|v| !v.is_finite()) {
                return Err(StudyError::config(
                    "reference_point",
                    if r.len() != objectives.len() {
                        format!(
                            "needs one value per objective ({} here), got {}",
                            objectives.len(),
                            r.len()
                        )
                    } else {
                        "every value must be finite".to_string()
                    },
                ));
            }
            optimizer.reference_point = Some(
                objectives
                    .iter()
                    .zip(r)
                    .map(|(o, &v)| o.signed(v))
                    .collect(),
            );
        }
        let saas = self.saas;
        if saas.samples == 0
            || saas.thinning == 0
            || saas.samples < saas.thinning
            || !(1..=12).contains(&saas.max_tree_depth)
            || saas.warmup > 100_000
            || saas.samples > 100_000
        {
            return Err(StudyError::config(
                "saas",
                format!(
                    "samples ({}) must be at least thinning ({}) and both positive, max_tree_depth ({}) in 1..=12, warmup and samples at most 100000",
                    saas.samples, saas.thinning, saas.max_tree_depth
                ),
            ));
        }
        optimizer.saas.warmup = saas.warmup;
        optimizer.saas.samples = saas.samples;
        optimizer.saas.thinning = saas.thinning;
        optimizer.saas.max_tree_depth = saas.max_tree_depth;
        let pipeline = match (&self.dataset, &self.family) {
            (Some(dataset), Some(family)) if !external => Some(PipelineSource {
                dataset: dataset.clone(),
                family: family.clone(),
                layers,
            }),
            _ => None,
        };
        Ok(Study {
            config: self,
            kind,
            pipeline,
            objectives,
            constraints,
            fixed,
            optimizer,
            latency,
        })
    }
}
