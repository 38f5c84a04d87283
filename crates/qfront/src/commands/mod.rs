//! One module per subcommand.

pub mod quant;
pub mod train;
