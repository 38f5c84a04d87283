//! `qfront quant ...`: quantizer utilities.

use crate::output::Format;
use anyhow::Result;
use clap::{Args, Subcommand};
use qfront_quant::quantizers::sawb::sawb_coefficients;
use qfront_quant::quantizers::sawb_fit::{sawb_fit_table, SawbFitOptions};
use qfront_quant::BitWidth;

/// Quantizer utilities.
#[derive(Debug, Subcommand)]
pub enum QuantCommand {
    /// Fit the SAWB coefficients (c1, c2) for every bit width 2..=8 on both grids
    /// (methods-spec §2.5). The committed table crates/qfront-quant/data/sawb-fit.json is this
    /// command's `--format json` output with the default settings.
    FitSawb(FitSawbArgs),
}

/// Options of `qfront quant fit-sawb`.
#[derive(Debug, Args)]
pub struct FitSawbArgs {
    /// Quadrature points per reference distribution.
    #[arg(long, default_value_t = SawbFitOptions::default().points)]
    points: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs a `quant` subcommand.
pub fn run(cmd: QuantCommand) -> Result<()> {
    match cmd {
        QuantCommand::FitSawb(args) => fit_sawb(args),
    }
}

fn fit_sawb(args: FitSawbArgs) -> Result<()> {
    let options = SawbFitOptions {
        points: args.points,
        ..SawbFitOptions::default()
    };
    tracing::info!(
        points = options.points,
        "fitting SAWB coefficients on 5 distributions × 2 grids × 7 bit widths"
    );
    let fits = sawb_fit_table(&options)?;
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "generator": "qfront quant fit-sawb --format json",
                "method": "methods-spec §2.5: MSE-optimal clip per unit-variance distribution (midpoint-quantile quadrature), least-squares fit of alpha = c1*rms - c2*mean_abs",
                "options": options,
                "fits": fits,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Table => {
            println!(
                "{:<13} {:>4} {:>9} {:>9}   {:>9} {:>9} {:>10}",
                "grid", "bits", "fit c1", "fit c2", "used c1", "used c2", "source"
            );
            for f in &fits {
                let used = sawb_coefficients(f.grid, BitWidth::new(f.bits)?);
                println!(
                    "{:<13} {:>4} {:>9.4} {:>9.4}   {:>9.4} {:>9.4} {:>10}",
                    f.grid.name(),
                    f.bits,
                    f.c1,
                    f.c2,
                    used.c1,
                    used.c2,
                    format!("{:?}", used.source).to_lowercase()
                );
            }
        }
    }
    Ok(())
}
