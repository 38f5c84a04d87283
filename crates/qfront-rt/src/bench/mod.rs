//! Latency benchmarking: local measurement, the device hook, and the per-layer latency
//! look-up table with its predictor.

pub mod device;
pub mod latency;
pub mod lut;
pub mod memory;
pub mod peak;
pub mod random_models;

pub use device::{
    expand_template, parse_device_output, run_device_command, shell_quote, DeviceFigures,
};
pub use latency::{
    measure_latency, synthetic_input, LatencyOptions, LatencyReport, SyntheticInput,
};
