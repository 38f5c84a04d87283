//! Output formats shared by the subcommands.

use clap::ValueEnum;

/// How a command writes its result to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A human-readable table.
    #[default]
    Table,
    /// One JSON document.
    Json,
}
