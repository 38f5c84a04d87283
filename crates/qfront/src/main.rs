//! The `qfront` command-line tool.
//!
//! stdout carries data only (tables, JSON); logs and progress go to stderr.
//! Exit codes: 0 ok, 1 failed, 2 usage error, 130 interrupted.

mod commands;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// qfront: train low-bit networks with quantization-aware training and map their
/// accuracy / latency / size trade-off.
#[derive(Debug, Parser)]
#[command(name = "qfront", version, about, long_about = None,
          after_help = "Exit codes: 0 ok, 1 failed, 2 usage error, 130 interrupted.\nLogs go to stderr (set RUST_LOG=debug for more); data goes to stdout.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model with quantization-aware training (PACT activations, SAWB weights).
    Train(Box<commands::train::TrainArgs>),
    /// Search the accuracy / latency / size trade-off: a study (preset or TOML) to its budget,
    /// resumable; prints the Pareto front.
    Search(Box<commands::search::SearchArgs>),
    /// The optimizer for an external trainer: create a study, ask for trials, tell results.
    #[command(subcommand)]
    Study(commands::study::StudyCommand),
    /// Write a study's HTML report (Pareto fronts, hypervolume, parallel coordinates, SAAS
    /// importance; PNG and SVG plots).
    Report(commands::listing::ReportArgs),
    /// List the trials of a stored study (table, JSON or CSV).
    Trials(commands::listing::ListArgs),
    /// The Pareto front of a stored study (table, JSON or CSV).
    Pareto(commands::listing::ListArgs),
    /// Write a trained checkpoint as a packed low-bit `.qfm` model for the runtime.
    Export(commands::export::ExportArgs),
    /// Run a dataset's test split through a `.qfm` model with the integer runtime.
    Eval(commands::eval::EvalArgs),
    /// Quantizer utilities (coefficient fits, width alignment).
    #[command(subcommand)]
    Quant(commands::quant::QuantCommand),
    /// Benchmarks against the peers: training step time, multi-objective optimization,
    /// runtime latency, the latency look-up table, integer kernels.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`qfront … | head`), as command-line tools do, instead of
    // panicking in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,onnx_ir=warn")),
        )
        .with_target(false)
        .without_time()
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Err(message) = qfront_rt::KernelSet::check_environment() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Search(args) => commands::search::run(*args),
        Command::Study(cmd) => commands::study::run(cmd),
        Command::Report(args) => commands::listing::run_report(args),
        Command::Trials(args) => commands::listing::run_trials(args),
        Command::Pareto(args) => commands::listing::run_pareto(args),
        Command::Export(args) => commands::export::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Quant(cmd) => commands::quant::run(cmd),
        Command::Bench(cmd) => commands::bench::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
