//! Training: optimizer and schedule settings, the QAT loop, evaluation and checkpoints.

mod batches;
mod checkpoint;
mod config;
mod evaluate;
mod fit;

pub use batches::batch_input;
pub use checkpoint::{
    load_checkpoint, save_checkpoint, CHECKPOINT_MODEL_FILE, CHECKPOINT_SPEC_FILE,
};
pub use config::{LrSchedule, OptimizerKind, TrainConfig};
pub use evaluate::{accuracy, predict};
pub use fit::{fit, EpochRecord, StepOutcome, TrainReport, TrainStep};
