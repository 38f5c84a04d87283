//! One module per subcommand.

pub mod bench;
pub mod bench_ask;
pub mod bench_data;
pub mod bench_latency;
pub mod bench_memory;
pub mod bench_mobo;
pub mod bench_pytorch;
pub mod bench_store;
pub mod data_args;
pub mod eval;
pub mod export;
pub mod listing;
pub mod model_args;
pub mod quant;
pub mod report_server;
pub mod search;
pub mod storage;
pub mod study;
pub mod train;
