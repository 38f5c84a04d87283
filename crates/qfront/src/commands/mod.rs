//! One module per subcommand.

pub mod bench;
pub mod bench_latency;
pub mod bench_mobo;
pub mod eval;
pub mod export;
pub mod model_args;
pub mod quant;
pub mod search;
pub mod study;
pub mod train;
