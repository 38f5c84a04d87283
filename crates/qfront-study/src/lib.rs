//! # qfront-study
//!
//! Latency-aware multi-objective search (Eriksson et al. 2021, methods-spec §4) over the
//! compression space of the other three papers: a study ([`config`]) names a dataset, a model
//! family, a search space over architecture, quantization and training settings
//! ([`settings`]), objectives and constraints as strings ([`objectives`]), and an optimizer
//! from `qfront-bo`. Each trial ([`pipeline`]) trains with QAT, exports a `.qfm`, measures
//! its latency with `qfront-rt` and its size with the accountant; the loop ([`search`]) keeps
//! everything in a store ([`store`]: SQLite, or PostgreSQL for many workers) so a killed
//! study resumes where it stopped and several workers can share one study.

#![warn(missing_docs)]

pub mod config;
mod error;
pub mod kind;
pub mod objectives;
pub mod one_bitwidth;
pub mod pipeline;
mod plot_axis;
pub mod presets;
pub mod report;
mod report_page;
pub mod search;
pub mod settings;
pub mod store;

pub use config::{Study, StudyConfig};
pub use error::{Result, StudyError};
