//! `qfront train`.

use anyhow::Result;
use clap::Args;

/// Options of `qfront train`.
#[derive(Debug, Args)]
pub struct TrainArgs {}

/// Runs `qfront train`.
pub fn run(_args: TrainArgs) -> Result<()> {
    anyhow::bail!("not yet")
}
