//! Helpers shared by the CLI tests.

use std::process::{Command, Output};

/// Runs the `qfront` binary built for these tests, with logs at `warn`.
pub fn qfront(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qfront"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the qfront binary runs")
}
