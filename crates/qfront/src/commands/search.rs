//! `qfront search`: runs a study (a preset or a TOML config) to its budget, resumable, and
//! prints the Pareto front.

use crate::output::Format;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use qfront_study::pipeline::{Metrics, TrialRunner};
use qfront_study::presets::{preset, PRESETS};
use qfront_study::search::{open_study, pareto_trials, run_study, Observer};
use qfront_study::store::StoredTrial;
use qfront_study::{Study, StudyConfig};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Options of `qfront search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// A preset: snips-nlu (default), digits-cnn, fashion-cnn.
    pub preset: Option<String>,
    /// A study config (TOML) instead of a preset.
    #[arg(long, conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// Number of trials (overrides the study's budget; may grow on --resume).
    #[arg(long)]
    pub budget: Option<usize>,
    /// Seed (overrides the study's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Optimizer (overrides the study's): sobol, qnehvi, qnehvi-saas, qparego, qlognehvi.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Study directory (default runs/<study name>).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Continue the study stored in the directory.
    #[arg(long)]
    pub resume: bool,
    /// Directory holding the datasets that do not ship with qfront.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Output format of the front.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Loads the study config a command names (preset or file) with its overrides.
pub fn load_config(preset_name: Option<&str>, config: Option<&PathBuf>) -> Result<StudyConfig> {
    Ok(match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            StudyConfig::from_toml(&text).with_context(|| path.display().to_string())?
        }
        None => preset(preset_name.unwrap_or(PRESETS[0].0))?,
    })
}

struct Progress {
    study: ProgressBar,
    trial: ProgressBar,
    objectives: Vec<String>,
}

impl Observer for Progress {
    fn trial_started(&mut self, number: usize, _params: &BTreeMap<String, serde_json::Value>) {
        self.trial.reset();
        self.trial.set_message(format!("trial {number}"));
    }

    fn step(&mut self, done: usize, total: usize) {
        self.trial.set_length(total as u64);
        self.trial.set_position(done as u64);
    }

    fn trial_finished(
        &mut self,
        number: usize,
        outcome: std::result::Result<&Metrics, &str>,
        on_front: bool,
    ) {
        self.study.inc(1);
        self.study.suspend(|| match outcome {
            Ok(m) => {
                let values: Vec<String> = self
                    .objectives
                    .iter()
                    .map(|o| format!("{o} {:.4}", m.get(o).copied().unwrap_or(f64::NAN)))
                    .collect();
                tracing::info!(
                    "trial {number:>3}  {}  {}",
                    values.join("  "),
                    if on_front { "on the front" } else { "" }
                );
            }
            Err(e) => tracing::warn!("trial {number:>3} failed: {e}"),
        });
    }
}

fn bar(multi: &MultiProgress, template: &str) -> ProgressBar {
    let b = multi.add(ProgressBar::new(0));
    b.set_style(ProgressStyle::with_template(template).expect("valid template"));
    b
}

/// A number with four significant digits (latencies span microseconds to seconds).
fn significant(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    format!("{v:.digits$}")
}

/// Output formats of the trial listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ListFormat {
    /// A human-readable table.
    #[default]
    Table,
    /// A JSON list of trials (`trial`, `params`, `values` keyed by objective name, `metrics`).
    Json,
    /// CSV with one column per parameter and metric.
    Csv,
}

impl From<Format> for ListFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Table => ListFormat::Table,
            Format::Json => ListFormat::Json,
        }
    }
}

/// Prints trials as a table, JSON or CSV.
pub fn print_trials(
    study: &Study,
    trials: &[&StoredTrial],
    format: impl Into<ListFormat>,
) -> Result<()> {
    match format.into() {
        ListFormat::Csv => {
            let params: Vec<String> = study
                .optimizer
                .space
                .parameters()
                .iter()
                .map(|p| p.name.clone())
                .collect();
            let metrics: Vec<String> = trials
                .iter()
                .flat_map(|t| t.metrics.keys().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            println!(
                "trial,state,{},{},error",
                params.join(","),
                metrics.join(",")
            );
            for t in trials {
                let p: Vec<String> = params
                    .iter()
                    .map(|n| {
                        t.params
                            .get(n)
                            .map(|v| v.to_string().trim_matches('"').to_string())
                            .unwrap_or_default()
                    })
                    .collect();
                let m: Vec<String> = metrics
                    .iter()
                    .map(|n| t.metrics.get(n).map(|v| v.to_string()).unwrap_or_default())
                    .collect();
                let error = t
                    .error
                    .clone()
                    .unwrap_or_default()
                    .replace(['"', '\n'], " ");
                println!(
                    "{},{},{},{},\"{}\"",
                    t.number,
                    t.state,
                    p.join(","),
                    m.join(","),
                    error
                );
            }
        }
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = trials
                .iter()
                .map(|t| {
                    let values: BTreeMap<&str, Option<f64>> = study.objectives.iter().map(|o| (o.metric.as_str(), t.metrics.get(&o.metric).copied())).collect();
                    serde_json::json!({"trial": t.number, "state": t.state, "params": t.params, "values": values, "metrics": t.metrics, "error": t.error})
                })
                .collect();
            println!("{}", serde_json::to_string(&list)?);
        }
        ListFormat::Table => {
            let mut header = format!("{:>5} {:>8}", "trial", "state");
            for o in &study.objectives {
                header += &format!(" {:>12}", o.metric);
            }
            header += &format!(" {:>13}  params", "test_accuracy");
            println!("{header}");
            for t in trials {
                let mut line = format!("{:>5} {:>8}", t.number, t.state);
                for o in &study.objectives {
                    line += &format!(
                        " {:>12}",
                        t.metrics
                            .get(&o.metric)
                            .map_or("-".into(), |&v| significant(v))
                    );
                }
                line += &format!(
                    " {:>13}  ",
                    t.metrics
                        .get("test_accuracy")
                        .map_or("-".into(), |&v| significant(v))
                );
                line += &t
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// Runs `qfront search`.
pub fn run(args: SearchArgs) -> Result<()> {
    let mut config = load_config(args.preset.as_deref(), args.config.as_ref())?;
    if let Some(b) = args.budget {
        config.budget = b;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    if let Some(o) = &args.optimizer {
        config.optimizer = o.clone();
    }
    if args.data_dir.is_some() {
        config.data_dir = args.data_dir.clone();
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&config.name));
    if config.one_bitwidth.is_some() {
        return run_one_bitwidth(config, &dir, &args);
    }
    let (study, mut store, mut optimizer) = open_study(config, &dir, args.resume)?;
    let runner = TrialRunner::new(&study, &dir)?;
    let multi = MultiProgress::new();
    if !std::io::stderr().is_terminal() {
        multi.set_draw_target(ProgressDrawTarget::hidden());
    }
    let progress = Progress {
        study: bar(&multi, "study {bar:30} {pos}/{len} trials {elapsed}"),
        trial: bar(&multi, "{msg:>10} {bar:30} {pos}/{len} steps"),
        objectives: study.objectives.iter().map(|o| o.metric.clone()).collect(),
    };
    progress.study.set_length(study.config.budget as u64);
    progress.study.set_position(
        store
            .trials()?
            .iter()
            .filter(|t| t.state != "running")
            .count() as u64,
    );
    let mut progress = progress;
    tracing::info!(study = %study.config.name, dir = %dir.display(), budget = study.config.budget, optimizer = %study.config.optimizer, "search");
    let trials = run_study(&study, &mut store, &mut optimizer, &runner, &mut progress)?;
    progress.study.finish_and_clear();
    progress.trial.finish_and_clear();
    let front = pareto_trials(&study, &trials);
    let failed = trials.iter().filter(|t| t.state == "failed").count();
    tracing::info!(trials = trials.len(), failed, front = front.len(), store = %dir.join("study.db").display(), "study finished");
    print_trials(&study, &front, args.format)?;
    match qfront_study::report::write_report(&study, &trials, &dir.join("report")) {
        Ok(page) => {
            tracing::info!(report = %page.display(), "report written");
            // The table is for people: the page's path goes with it. JSON stays parseable.
            if args.format == Format::Table {
                println!("\nreport: {}", page.display());
            } else {
                eprintln!("report: {}", page.display());
            }
        }
        Err(e) => tracing::warn!("no report: {e}"),
    }
    Ok(())
}

/// Options of `qfront report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Study directory (default runs/snips-nlu).
    #[arg(long, default_value = "runs/snips-nlu")]
    pub dir: PathBuf,
    /// Where to write the page (default DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `qfront report`: writes the HTML page and prints its path on stdout.
pub fn run_report(args: ReportArgs) -> Result<()> {
    let (study, trials) = qfront_study::search::load_stored(&args.dir)?;
    let out = args.out.unwrap_or_else(|| args.dir.join("report"));
    let page = qfront_study::report::write_report(&study, &trials, &out)?;
    println!("{}", page.display());
    Ok(())
}

/// Options of `qfront trials` and `qfront pareto`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Study directory (default runs/snips-nlu).
    #[arg(long, default_value = "runs/snips-nlu")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Runs `qfront trials`: every trial of a stored study.
pub fn run_trials(args: ListArgs) -> Result<()> {
    let (study, trials) = qfront_study::search::load_stored(&args.dir)?;
    print_trials(&study, &trials.iter().collect::<Vec<_>>(), args.format)
}

/// Runs `qfront pareto`: the feasible non-dominated trials of a stored study.
pub fn run_pareto(args: ListArgs) -> Result<()> {
    let (study, trials) = qfront_study::search::load_stored(&args.dir)?;
    print_trials(&study, &pareto_trials(&study, &trials), args.format)
}

/// An observer that logs finished trials (no progress bars: the comparison is short).
struct Log;

impl Observer for Log {
    fn trial_finished(
        &mut self,
        number: usize,
        outcome: std::result::Result<&Metrics, &str>,
        _on_front: bool,
    ) {
        match outcome {
            Ok(m) => tracing::info!(
                "trial {number:>3}  accuracy {:.4}  size_kb {:.2}  width {:.3}",
                m["accuracy"],
                m["size_kb"],
                m.get("width_multiplier").copied().unwrap_or(f64::NAN)
            ),
            Err(e) => tracing::warn!("trial {number:>3} failed: {e}"),
        }
    }
}

/// `qfront search one-bitwidth`: the uniform-vs-mixed comparison at one size; prints the
/// table (or JSON) and writes the figure.
fn run_one_bitwidth(config: StudyConfig, dir: &std::path::Path, args: &SearchArgs) -> Result<()> {
    let comparison =
        qfront_study::one_bitwidth::run_one_bitwidth(config, dir, args.resume, &mut Log)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&comparison)?),
        Format::Table => {
            println!("all models aligned to {:.2} KiB", comparison.target_kb);
            println!(
                "{:>8} {:>10} {:>8} {:>9} {:>9} {:>9}  bits",
                "kind", "mean_bits", "width", "size_kb", "accuracy", "test_acc"
            );
            for r in &comparison.rows {
                println!(
                    "{:>8} {:>10.2} {:>8.3} {:>9.2} {:>9.4} {:>9.4}  {}",
                    r.kind, r.mean_bits, r.width, r.size_kb, r.accuracy, r.test_accuracy, r.bits
                );
            }
        }
    }
    let figure = qfront_study::one_bitwidth::plot(&comparison, &dir.join("report"))?;
    eprintln!("figure: {}", figure.display());
    Ok(())
}
