//! `qfront search`: runs a study (a preset or a TOML config) to its budget, resumable, and
//! prints the Pareto front.

use super::listing::print_trials;
use super::storage::StorageArgs;
use crate::output::Format;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use qfront_study::pipeline::{Metrics, TrialRunner};
use qfront_study::presets::{preset, PRESETS};
use qfront_study::search::{
    finished_count, open_study, pareto_trials, release_running_trials, run_study, stored_proposals,
    Observer, WorkerOptions,
};
use qfront_study::store::StorageLocation;
use qfront_study::StudyConfig;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `qfront search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// A preset: snips-nlu (default), digits-cnn, fashion-cnn, one-bitwidth.
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
    /// Where the study is stored.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Continue the stored study, or join it as one more worker (trials left running by a
    /// worker that died are re-queued).
    #[arg(long)]
    pub resume: bool,
    /// Seconds between heartbeats of the running trial.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    pub heartbeat: f64,
    /// Seconds without a heartbeat after which another worker's running trial is failed and
    /// re-queued (trials of exited processes on this host are re-queued at once).
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    pub stale_after: f64,
    /// Directory holding the datasets that do not ship with qfront.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Output format of the front.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// A finite number of seconds above zero.
fn positive_seconds(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e6 => Ok(v),
        _ => Err(format!("'{text}' is not a number of seconds above 0")),
    }
}

/// On Ctrl-C, hands this worker's running trial back to the study (failed as interrupted
/// and re-queued at once, so other workers need not wait out the grace period) and exits 130.
fn hand_back_on_ctrl_c(location: &StorageLocation, study_id: i64) {
    let location = location.clone();
    let installed = ctrlc::set_handler(move || {
        match release_running_trials(&location, study_id) {
            Ok(released) => {
                for (number, retry, _) in released {
                    eprintln!("interrupted: trial {number} handed back as trial {retry}");
                }
            }
            Err(e) => {
                eprintln!("interrupted: the running trial stays running until it goes stale ({e})")
            }
        }
        std::process::exit(130);
    });
    if let Err(e) = installed {
        tracing::warn!(
            "no Ctrl-C handler ({e}); an interrupted trial is re-queued when found stale"
        );
    }
}

/// Loads the study config a command names (preset or file) with its overrides.
pub fn load_config(preset_name: Option<&str>, config: Option<&PathBuf>) -> Result<StudyConfig> {
    Ok(match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut config =
                StudyConfig::from_toml(&text).with_context(|| path.display().to_string())?;
            // Paths in a [dataset] table are relative to the study file; stored absolute.
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
            config.resolve_paths(&base);
            config
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

    fn study_progress(&mut self, finished: usize) {
        self.study.set_position(finished as u64);
    }

    fn trial_requeued(&mut self, number: usize, retry: usize, reason: &str) {
        self.study
            .suspend(|| tracing::warn!("trial {number:>3} failed: {reason} as trial {retry}"));
    }

    fn result_discarded(&mut self, number: usize) {
        self.study.suspend(|| tracing::warn!("trial {number:>3}: its heartbeat went stale while it trained and another worker re-queued it; this result is not stored (raise --stale-after if this machine is slow to write)"));
    }

    fn waiting(&mut self, running: usize) {
        self.study.suspend(|| {
            tracing::info!("every trial is asked; waiting for {running} running on other workers")
        });
    }
}

fn bar(multi: &MultiProgress, template: &str) -> ProgressBar {
    let b = multi.add(ProgressBar::new(0));
    b.set_style(ProgressStyle::with_template(template).expect("valid template"));
    b
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
    if let Some(data_dir) = &args.data_dir {
        warn_if_data_dir_unread(&config, data_dir);
        config.data_dir = Some(data_dir.clone());
    }
    if let Some(name) = &args.storage.study {
        config.name = name.clone();
    }
    let dir = args.storage.dir_for(&config.name);
    if args.heartbeat >= args.stale_after {
        anyhow::bail!(
            "--heartbeat {} must be shorter than --stale-after {}: a live worker would look lost",
            args.heartbeat,
            args.stale_after
        );
    }
    let options = WorkerOptions {
        heartbeat: Duration::from_secs_f64(args.heartbeat),
        stale_after: Duration::from_secs_f64(args.stale_after),
        ..WorkerOptions::default()
    };
    if config.one_bitwidth.is_some() {
        if args.storage.storage.is_some() {
            anyhow::bail!(
                "the one-bitwidth comparison keeps its two sub-studies in --dir; drop --storage"
            );
        }
        return run_one_bitwidth(config, &dir, &args, &options);
    }
    let location = args.storage.location(&dir)?;
    // Read the data (and check the settings against it) before anything is stored.
    let runner = TrialRunner::new(&config.clone().validate()?, &dir)?;
    let (study, mut store) = open_study(config, &location, args.resume)?;
    hand_back_on_ctrl_c(&location, store.study_id()?);
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
    progress
        .study
        .set_position(finished_count(&store.trials()?) as u64);
    let mut progress = progress;
    tracing::info!(study = %study.config.name, dir = %dir.display(), store = %location, budget = study.config.budget, optimizer = %study.config.optimizer, "search");
    let trials = run_study(&study, &mut store, &runner, &mut progress, &options)?;
    progress.study.finish_and_clear();
    progress.trial.finish_and_clear();
    let front = pareto_trials(&study, &trials);
    let failed = trials
        .iter()
        .filter(|t| t.state == qfront_study::store::TrialRowState::Failed)
        .count();
    tracing::info!(trials = trials.len(), failed, front = front.len(), store = %location, "study finished");
    let proposals = stored_proposals(&study, &mut store)?;
    print_trials(&study, &front, &proposals, args.format)?;
    match qfront_study::report::write_report(&study, &trials, &proposals, &dir.join("report")) {
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
fn run_one_bitwidth(
    config: StudyConfig,
    dir: &std::path::Path,
    args: &SearchArgs,
    options: &WorkerOptions,
) -> Result<()> {
    let comparison =
        qfront_study::one_bitwidth::run_one_bitwidth(config, dir, args.resume, &mut Log, options)?;
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

/// Says on stderr that `--data-dir` is not read by this study, and why: its dataset ships
/// with qfront, it names its own files, or it trains nothing itself.
fn warn_if_data_dir_unread(config: &StudyConfig, data_dir: &std::path::Path) {
    use qfront_train::data::DatasetSource;
    let reason = match &config.dataset {
        Some(DatasetSource::Builtin(name)) if name.is_builtin() => {
            "the study's dataset ships with qfront"
        }
        Some(DatasetSource::Builtin(_)) => return,
        Some(DatasetSource::Files(_)) => "the study names its own files",
        None => "the study trains nothing itself",
    };
    super::data_args::warn_data_dir_unread(data_dir, reason);
}
