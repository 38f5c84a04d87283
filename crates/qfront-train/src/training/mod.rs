//! Training: optimizer and schedule settings, the QAT loop, evaluation and checkpoints.

mod allocator;
mod batches;
mod checkpoint;
mod config;
mod evaluate;
mod fit;

pub use allocator::keep_freed_memory_for_training;
pub use batches::batch_input;
pub use checkpoint::{
    load_checkpoint, save_checkpoint, CHECKPOINT_MODEL_FILE, CHECKPOINT_SPEC_FILE,
};
pub use config::{LrSchedule, OptimizerKind, TrainConfig};
pub use evaluate::{accuracy, predict};
pub use fit::{fit, EpochRecord, StepOutcome, TrainReport, TrainStep};
