//! One trial from parameters to measurements: settings → model spec → QAT training →
//! validation accuracy → `.qfm` export → latency (local runtime, latency table, or a device
//! command) → size and BOPs from the accountant. Artifacts go to the trial's directory.

use crate::config::{LatencyPlan, Study};
use crate::kind::PipelineSource;
use crate::settings::{build_model, positive, Settings};
use crate::{Result, StudyError};
use qfront_bo::space::ParamValue;
use qfront_quant::accounting::{largest_width_within, WidthSearch};
use qfront_rt::bench::lut::LatencyTable;
use qfront_rt::bench::{
    expand_template, measure_latency, run_device_command, shell_quote, LatencyOptions,
};
use qfront_rt::{KernelSet, Session};
use qfront_train::burn::tensor::Device;
use qfront_train::data::token_encoder::TextEncoding;
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::data::{DataOptions, Dataset};
use qfront_train::export::{check_exportable, export_model, ExportOptions};
use qfront_train::models::{model_cost, Model};
use qfront_train::training::{accuracy, fit, save_checkpoint};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a trial measured, by metric name (`accuracy` is validation accuracy;
/// `test_accuracy` is kept for reporting the final front, never optimized).
pub type Metrics = BTreeMap<String, f64>;

/// Where a trial's latency comes from (resolved once from the study's `[latency]`).
#[derive(Debug)]
enum LatencySource {
    /// The runtime on this machine.
    Local,
    /// A per-layer latency table.
    Table(Box<LatencyTable>),
    /// A device command template.
    Device(String),
}

/// How the study's text is encoded: as the layer list's embedding says, else hashed words;
/// `fixed.max_tokens` (default 32) words kept, `fixed.buckets` hash buckets.
fn text_encoding(source: &PipelineSource, fixed: &Settings) -> Result<TextEncoding> {
    // A bad value is named as the study wrote it, under [fixed].
    let size = |key: &str, default: usize| {
        positive(fixed, key, default).map_err(|e| match e {
            StudyError::Config { key, reason } => {
                StudyError::config(format!("fixed.{key}"), reason)
            }
            other => other,
        })
    };
    let max_tokens = size("max_tokens", HashingTokenizer::default().max_tokens)?;
    let listed = match &source.layers {
        Some(model) => qfront_train::models::text_encoding(&model.layers, max_tokens)?,
        None => None,
    };
    let mut text = listed.unwrap_or_else(|| {
        TextEncoding::Hashed(HashingTokenizer {
            max_tokens,
            ..HashingTokenizer::default()
        })
    });
    if fixed.contains_key("buckets") {
        let buckets = size("buckets", 1)?;
        match &mut text {
            TextEncoding::Hashed(tokenizer) => tokenizer.buckets = buckets,
            TextEncoding::Vocabulary { .. } => {
                return Err(StudyError::config(
                    "fixed.buckets",
                    "the model's embedding uses a word vocabulary, not hash buckets",
                ))
            }
        }
    }
    Ok(text)
}

/// Everything trials share: the study, its data, the latency table.
#[derive(Debug)]
pub struct TrialRunner {
    study: Study,
    data: Dataset,
    latency: LatencySource,
    dir: PathBuf,
}

impl TrialRunner {
    /// Loads the data (once) and the latency table, if any, and checks the study's settings
    /// against the data's real shape and classes; artifacts go under `dir/trials/`.
    pub fn new(study: &Study, dir: &Path) -> Result<Self> {
        let c = &study.config;
        let source = study.pipeline()?;
        let mut options = DataOptions {
            data_dir: c.data_dir.clone(),
            ..DataOptions::default()
        };
        options.text = text_encoding(source, &study.fixed)?;
        for key in ["buckets", "max_tokens"] {
            if c.parameters.iter().any(|p| p.name == key) {
                return Err(StudyError::config(
                    format!("parameter '{key}'"),
                    format!("the data is tokenized once per study; fix {key} in [fixed]"),
                ));
            }
        }
        let data = Dataset::from_source(&source.dataset, &options)?;
        if data.skipped_rows > 0 {
            tracing::warn!(
                skipped = data.skipped_rows,
                "rows dropped from the data (skip_bad_rows)"
            );
        }
        crate::config::probe_settings(
            &source.family,
            source.layers.as_ref(),
            &data.input,
            data.classes.len(),
            &study.fixed,
            &study.optimizer.space,
            c.seed,
        )?;
        let latency = match &study.latency {
            LatencyPlan::Local => LatencySource::Local,
            LatencyPlan::Table(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| StudyError::Io {
                    path: path.clone(),
                    error: e,
                })?;
                LatencySource::Table(Box::new(serde_json::from_str(&text).map_err(|e| {
                    StudyError::config("latency.table", format!("{}: {e}", path.display()))
                })?))
            }
            LatencyPlan::Device(template) => LatencySource::Device(template.clone()),
        };
        Ok(Self {
            study: study.clone(),
            data,
            latency,
            dir: dir.to_path_buf(),
        })
    }

    /// The input shape and class count of the data.
    pub fn input(&self) -> (&qfront_train::spec::InputShape, usize) {
        (&self.data.input, self.data.classes.len())
    }

    /// The model family (a runner exists only for pipeline studies).
    fn family(&self) -> &str {
        self.study
            .pipeline
            .as_ref()
            .map(|p| p.family.as_str())
            .unwrap_or_default()
    }

    /// The layer list of a `layers` study.
    fn layers(&self) -> Option<&qfront_train::models::ModelFile> {
        self.study.pipeline.as_ref().and_then(|p| p.layers.as_ref())
    }

    /// The study.
    pub fn study(&self) -> &Study {
        &self.study
    }

    /// The trial's artifact directory.
    pub fn trial_dir(&self, number: usize) -> PathBuf {
        self.dir.join("trials").join(number.to_string())
    }

    /// The largest width multiplier whose model (with `settings`) fits in `kb` KiB, by
    /// bisection on the size accountant (the size grows with the width).
    pub fn aligned_width(&self, settings: &Settings, kb: f64, seed: u64) -> Result<f64> {
        let size = |w: f64| -> Result<f64> {
            let mut s = settings.clone();
            s.insert("width".into(), ParamValue::Float(w));
            let (spec, _) = build_model(
                self.family(),
                self.layers(),
                &self.data.input,
                self.data.classes.len(),
                &s,
                seed,
            )?;
            Ok(model_cost(&spec).size_bytes() as f64 / 1024.0)
        };
        let (narrowest, widest) = (0.05, 16.0);
        match largest_width_within(narrowest, widest, kb, size)? {
            WidthSearch::Fits(w) => Ok(w),
            WidthSearch::WidestFits => Ok(widest),
            WidthSearch::NarrowestTooLarge(smallest) => Err(StudyError::config(
                "align_size_kb",
                format!("even width {narrowest} needs {smallest:.2} KiB, more than {kb}"),
            )),
        }
    }

    /// Runs one trial with `params` (on top of the study's fixed settings).
    pub fn run(
        &self,
        number: usize,
        params: &Settings,
        seed: u64,
        mut on_step: impl FnMut(usize, usize),
    ) -> Result<Metrics> {
        let mut settings = self.study.fixed.clone();
        settings.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(kb) = self.study.config.align_size_kb {
            let width = self.aligned_width(&settings, kb, seed)?;
            settings.insert("width".into(), ParamValue::Float(width));
        }
        let (spec, config) = build_model(
            self.family(),
            self.layers(),
            &self.data.input,
            self.data.classes.len(),
            &settings,
            seed,
        )?;
        check_exportable(&spec)?;
        let model = Model::build(&spec, seed, &Device::flex().autodiff())?;
        let (model, report) = fit(model, &self.data, &config, &mut on_step, |_| {})?;
        let val_accuracy = accuracy(&model, &self.data.val, 256);
        let test_accuracy =
            (!self.data.test.is_empty()).then(|| accuracy(&model, &self.data.test, 256));
        let dir = self.trial_dir(number);
        let options = ExportOptions::for_data(&self.data, "qfront-study");
        let file = export_model(&model, &spec, options)?;
        let qfm = dir.join("model.qfm");
        file.write(&qfm)?;
        let onnx_bytes = if self.study.config.onnx {
            let onnx = qfront_train::export::onnx::to_onnx(&file)?;
            let path = dir.join("model.onnx");
            std::fs::write(&path, &onnx.bytes).map_err(|error| StudyError::Io { path, error })?;
            Some(onnx.bytes.len())
        } else {
            None
        };
        save_checkpoint(
            &model,
            &spec,
            &serde_json::json!({"result": {"dataset": self.data.name}, "data": self.data.info(), "trial": number}),
            &dir.join("checkpoint"),
        )?;
        let latency = &self.study.config.latency;
        let latency_ms = match &self.latency {
            LatencySource::Table(table) => table.predict(&file, latency.batch)?,
            LatencySource::Device(template) => {
                let command = expand_template(
                    template,
                    &qfm.to_string_lossy(),
                    latency.batch,
                    latency.threads,
                )
                .replace(
                    "{onnx}",
                    &shell_quote(&dir.join("model.onnx").to_string_lossy()),
                );
                let figures = run_device_command(&command)?;
                *figures
                    .get("median_ms")
                    .or_else(|| figures.get("mean_ms"))
                    .ok_or_else(|| {
                        StudyError::config(
                            "latency.device_cmd",
                            "the command printed no median_ms or mean_ms",
                        )
                    })?
            }
            LatencySource::Local => {
                let mut session =
                    Session::with_threads(&file, KernelSet::detect(), latency.threads)?;
                let options = LatencyOptions {
                    batch: latency.batch,
                    max_time: Duration::from_secs_f64(latency.max_time),
                    ..LatencyOptions::default()
                };
                let median = measure_latency(&mut session, &options)?.median_ms;
                // Where the time goes, node by node (for the report's trial panel), measured
                // for a quarter of the time; kept beside the model.
                let profile = LatencyOptions {
                    max_time: options.max_time / 4,
                    warmup_loops: 3,
                    ..options
                };
                let nodes = qfront_rt::bench::lut::profile_nodes(&file, &mut session, &profile)?;
                let per_node: Vec<serde_json::Value> = file
                    .model
                    .nodes
                    .iter()
                    .zip(nodes)
                    .map(|(node, ms)| serde_json::json!({"node": node.name, "median_ms": ms}))
                    .collect();
                let path = dir.join("latency_nodes.json");
                std::fs::write(&path, serde_json::to_string(&per_node).expect("serialises"))
                    .map_err(|error| StudyError::Io { path, error })?;
                median
            }
        };
        let cost = model_cost(&spec);
        let mut metrics = Metrics::new();
        metrics.insert("accuracy".into(), val_accuracy);
        if let Some(test_accuracy) = test_accuracy {
            metrics.insert("test_accuracy".into(), test_accuracy);
        }
        metrics.insert("latency_ms".into(), latency_ms);
        metrics.insert("size_kb".into(), cost.size_bytes() as f64 / 1024.0);
        metrics.insert("bops".into(), cost.bops as f64);
        metrics.insert("macs".into(), cost.macs as f64);
        metrics.insert("train_seconds".into(), report.train_seconds);
        metrics.insert("qfm_bytes".into(), file.to_bytes().len() as f64);
        if let Some(bytes) = onnx_bytes {
            metrics.insert("onnx_bytes".into(), bytes as f64);
        }
        metrics.insert("width_multiplier".into(), spec.width_multiplier);
        std::fs::write(
            dir.join("metrics.json"),
            serde_json::to_string_pretty(&metrics).expect("serialises"),
        )
        .map_err(|e| StudyError::Io {
            path: dir.join("metrics.json"),
            error: e,
        })?;
        Ok(metrics)
    }
}
