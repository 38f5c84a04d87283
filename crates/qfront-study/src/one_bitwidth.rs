//! "One weight bitwidth to rule them all" (Chin et al. 2020, methods-spec §3): fix a model
//! size (that of the reference bits and width), give every uniform weight width the largest
//! width multiplier that fits it, train each, and compare with per-layer mixed-precision
//! configurations searched at the same size (each also width-aligned). Two sub-studies,
//! `uniform/` and `mixed/`, hold the trials, so the comparison resumes like any study.

use crate::config::{OneBitwidthSection, StudyConfig};
use crate::pipeline::TrialRunner;
use crate::search::{open_study, run_study, Observer, WorkerOptions};
use crate::settings::build_model;
use crate::store::StorageLocation;
use crate::store::{StoredTrial, TrialRowState};
use crate::{Result, StudyError};
use qfront_bo::space::{ParamValue, Parameter};
use qfront_train::models::model_cost;
use std::path::{Path, PathBuf};

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    /// `uniform` or `mixed`.
    pub kind: String,
    /// Weight bits: one number (uniform) or per layer.
    pub bits: serde_json::Value,
    /// Mean weight bits of the searched layers.
    pub mean_bits: f64,
    /// The aligned width multiplier.
    pub width: f64,
    /// Model size (KiB).
    pub size_kb: f64,
    /// Validation accuracy.
    pub accuracy: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
}

/// The comparison: the size every configuration was aligned to, and the rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Target size (KiB).
    pub target_kb: f64,
    /// Uniform rows, then every complete mixed trial.
    pub rows: Vec<Row>,
}

fn sub_config(
    base: &StudyConfig,
    section: &OneBitwidthSection,
    kind: &str,
    target_kb: f64,
) -> StudyConfig {
    let mut c = base.clone();
    c.name = format!("{}-{kind}", base.name);
    c.one_bitwidth = None;
    c.align_size_kb = Some(target_kb);
    c.objectives = vec!["accuracy".into()];
    c.constraints = Vec::new();
    c.reference_point = None;
    let values: Vec<ParamValue> = section
        .bits
        .iter()
        .map(|&b| ParamValue::Int(b as i64))
        .collect();
    if kind == "uniform" {
        c.parameters = vec![Parameter::ordered("wbits", values)];
        c.optimizer = "sobol".into();
        c.budget = section.bits.len();
        c.initial_points = Some(section.bits.len());
    } else {
        c.parameters = section
            .mixed_layers
            .iter()
            .map(|l| Parameter::ordered(&format!("wbits.{l}"), values.clone()))
            .collect();
        c.budget = section.mixed_budget;
        c.initial_points = Some((section.mixed_budget / 2).max(1));
    }
    c
}

fn rows(kind: &str, trials: &[StoredTrial]) -> Vec<Row> {
    trials
        .iter()
        .filter(|t| t.state == TrialRowState::Complete)
        .map(|t| {
            let bits: Vec<f64> = t.params.values().filter_map(|v| v.as_f64()).collect();
            Row {
                kind: kind.into(),
                bits: if kind == "uniform" {
                    t.params["wbits"].clone()
                } else {
                    serde_json::to_value(&t.params).unwrap_or_default()
                },
                mean_bits: bits.iter().sum::<f64>() / bits.len().max(1) as f64,
                width: t
                    .metrics
                    .get("width_multiplier")
                    .copied()
                    .unwrap_or(f64::NAN),
                size_kb: t.metrics["size_kb"],
                accuracy: t.metrics["accuracy"],
                test_accuracy: t.metrics.get("test_accuracy").copied().unwrap_or(f64::NAN),
            }
        })
        .collect()
}

/// Runs (or resumes) the comparison in `dir` and returns it.
pub fn run_one_bitwidth(
    config: StudyConfig,
    dir: &Path,
    resume: bool,
    observer: &mut dyn Observer,
    options: &WorkerOptions,
) -> Result<Comparison> {
    let section = config
        .one_bitwidth
        .clone()
        .ok_or_else(|| StudyError::config("one_bitwidth", "missing"))?;
    if section.bits.is_empty() || section.mixed_layers.is_empty() {
        return Err(StudyError::config(
            "one_bitwidth",
            "needs bits and mixed_layers",
        ));
    }
    // The size every configuration is aligned to: the reference model's.
    let probe = sub_config(&config, &section, "uniform", 1.0);
    let probe = probe.validate()?;
    let runner = TrialRunner::new(&probe, &dir.join("uniform"))?;
    let mut reference = probe.fixed.clone();
    reference.insert(
        "wbits".into(),
        ParamValue::Int(section.reference_bits as i64),
    );
    reference.insert("width".into(), ParamValue::Float(section.reference_width));
    let (data_input, classes) = runner.input();
    let source = probe.pipeline()?;
    let (spec, _) = build_model(
        &source.family,
        source.layers.as_ref(),
        data_input,
        classes,
        &reference,
        config.seed,
    )?;
    let target_kb = model_cost(&spec).size_bytes() as f64 / 1024.0;
    let mut out = Vec::new();
    for kind in ["uniform", "mixed"] {
        let sub = sub_config(&config, &section, kind, target_kb);
        let sub_dir = dir.join(kind);
        let existing = sub_dir.join("study.db").exists();
        let location = StorageLocation::in_dir(&sub_dir);
        let (study, mut store) = open_study(sub, &location, resume || existing)?;
        let runner = TrialRunner::new(&study, &sub_dir)?;
        let trials = run_study(&study, &mut store, &runner, observer, options)?;
        out.extend(rows(kind, &trials));
    }
    Ok(Comparison {
        target_kb,
        rows: out,
    })
}

/// Draws accuracy against mean weight bits (uniform line, mixed points) as SVG and PNG in
/// `dir`; returns the SVG path.
pub fn plot(comparison: &Comparison, dir: &Path) -> Result<PathBuf> {
    crate::report::plot_one_bitwidth(comparison, dir)
}
