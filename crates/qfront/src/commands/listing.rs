//! `qfront trials`, `qfront pareto` and `qfront report`: a stored study's trials as a table,
//! JSON or CSV, its front, and its HTML report.

use super::storage::StorageArgs;
use crate::output::Format;
use anyhow::Result;
use clap::Args;
use qfront_study::search::{pareto_trials, stored_proposals};
use qfront_study::store::StoredTrial;
use qfront_study::Study;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// A JSON list of trials (`trial`, `params`, `values` keyed by objective name, `metrics`,
    /// `proposal`: how the optimizer chose it).
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

/// Prints trials as a table, JSON (with how each was chosen, from `proposals`) or CSV.
pub fn print_trials(
    study: &Study,
    trials: &[&StoredTrial],
    proposals: &BTreeMap<usize, serde_json::Value>,
    format: impl Into<ListFormat>,
) -> Result<()> {
    match format.into() {
        ListFormat::Csv => {
            let params = study.parameter_names();
            let metrics: Vec<String> = trials
                .iter()
                .flat_map(|t| t.metrics.keys().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            // RFC 4180 through the csv crate: a field holding a comma, a quote or a line
            // break (a categorical value, a failure's message) is quoted, quotes doubled.
            let mut out = csv::Writer::from_writer(std::io::stdout().lock());
            let header: Vec<&str> = ["trial", "state"]
                .into_iter()
                .chain(params.iter().map(String::as_str))
                .chain(metrics.iter().map(String::as_str))
                .chain(["error"])
                .collect();
            out.write_record(&header)?;
            for t in trials {
                let mut row = vec![t.number.to_string(), t.state.to_string()];
                row.extend(params.iter().map(|n| match t.params.get(n) {
                    Some(serde_json::Value::String(text)) => text.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                }));
                row.extend(
                    metrics
                        .iter()
                        .map(|n| t.metrics.get(n).map(|v| v.to_string()).unwrap_or_default()),
                );
                row.push(t.error.clone().unwrap_or_default());
                out.write_record(&row)?;
            }
            out.flush()?;
        }
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = trials
                .iter()
                .map(|t| {
                    let values: BTreeMap<&str, Option<f64>> = study.objectives.iter().map(|o| (o.metric.as_str(), t.metrics.get(&o.metric).copied())).collect();
                    serde_json::json!({"trial": t.number, "state": t.state, "params": t.params, "values": values, "metrics": t.metrics, "error": t.error, "seed": t.seed, "worker": t.worker, "retried_as": t.retried_as, "note": t.note, "proposal": proposals.get(&t.number)})
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
                // A trial whose worker was lost shows where it re-runs.
                let state = match t.retried_as {
                    Some(retry) => format!("->{retry}"),
                    None => t.state.to_string(),
                };
                let mut line = format!("{:>5} {:>8}", t.number, state);
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

/// Options of `qfront report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where the study is.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Where to write the page (default DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Serve the page over HTTP and keep it current while the study runs (Ctrl-C stops).
    #[arg(long)]
    pub serve: bool,
    /// Port to serve on (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8765, requires = "serve")]
    pub port: u16,
    /// Address to serve on (loopback by default; 0.0.0.0 serves every interface).
    #[arg(long, default_value = "127.0.0.1", requires = "serve")]
    pub host: String,
}

/// Runs `qfront report`: writes the HTML page and prints its path on stdout.
pub fn run_report(args: ReportArgs) -> Result<()> {
    if args.serve {
        return super::report_server::serve(&args.storage, args.out, &args.host, args.port);
    }
    let (study, mut store, dir) = args.storage.open_stored()?;
    let trials = store.trials()?;
    let out = args.out.unwrap_or_else(|| dir.join("report"));
    let proposals = stored_proposals(&study, &mut store)?;
    let page = qfront_study::report::write_report(&study, &trials, &proposals, &out)?;
    println!("{}", page.display());
    Ok(())
}

/// Options of `qfront trials` and `qfront pareto`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where the study is.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Runs `qfront trials`: every trial of a stored study.
pub fn run_trials(args: ListArgs) -> Result<()> {
    let (study, mut store, _) = args.storage.open_stored()?;
    let trials = store.trials()?;
    let proposals = stored_proposals(&study, &mut store)?;
    print_trials(
        &study,
        &trials.iter().collect::<Vec<_>>(),
        &proposals,
        args.format,
    )
}

/// Runs `qfront pareto`: the feasible non-dominated trials of a stored study.
pub fn run_pareto(args: ListArgs) -> Result<()> {
    let (study, mut store, _) = args.storage.open_stored()?;
    let trials = store.trials()?;
    let proposals = stored_proposals(&study, &mut store)?;
    print_trials(
        &study,
        &pareto_trials(&study, &trials),
        &proposals,
        args.format,
    )
}
