//! One module per subcommand.

pub mod bench;
pub mod bench_mobo;
pub mod model_args;
pub mod quant;
pub mod train;
