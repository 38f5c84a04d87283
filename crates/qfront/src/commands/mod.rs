//! One module per subcommand.

pub mod bench;
pub mod model_args;
pub mod quant;
pub mod train;
