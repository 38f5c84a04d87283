//! The QAT training loop.

use super::allocator::keep_freed_memory_for_training;
use super::batches::batch_input;
use super::config::{OptimizerKind, TrainConfig};
use super::evaluate::accuracy;
use crate::data::Dataset;
use crate::layers::clamp_pact_alphas;
use crate::models::{Model, ModelInput};
use crate::{Result, TrainError};
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Int, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// One epoch's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EpochRecord {
    /// Epoch, 1-based.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy (on the fly, with training-mode quantizers).
    pub train_accuracy: f64,
    /// Validation accuracy (inference mode).
    pub val_accuracy: f64,
    /// Learning rate at the end of the epoch.
    pub learning_rate: f64,
    /// Wall seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// The result of [`fit`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// Per-epoch figures.
    pub epochs: Vec<EpochRecord>,
    /// Total training seconds.
    pub train_seconds: f64,
}

/// The figures of one optimisation step.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    /// Mean cross-entropy of the batch (before the update).
    pub loss: f64,
    /// Examples of the batch the model classified correctly (before the update).
    pub correct: usize,
}

/// One QAT optimisation step, reusable by [`fit`] and by the step-time benchmark: forward,
/// cross-entropy, backward, optimizer update, then the PACT α clamp (α ≥ ε, methods-spec §1.2).
pub struct TrainStep {
    optimizer: ModuleOptimizer,
    classes: usize,
}

impl TrainStep {
    /// An optimizer as `config` describes (SGD with momentum or Adam, decoupled from the
    /// schedule, which the caller applies through `lr`), for a `classes`-way classifier.
    ///
    /// The first call tunes the process allocator for training
    /// ([`keep_freed_memory_for_training`]).
    pub fn new(config: &TrainConfig, classes: usize) -> Self {
        static TUNE_ALLOCATOR: std::sync::Once = std::sync::Once::new();
        TUNE_ALLOCATOR.call_once(keep_freed_memory_for_training);
        let decay =
            (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
        let optimizer = match config.optimizer {
            OptimizerKind::Sgd { momentum } => SgdConfig::new()
                .with_momentum((momentum > 0.0).then_some(MomentumConfig {
                    momentum,
                    dampening: 0.0,
                    nesterov: false,
                }))
                .with_weight_decay(decay)
                .init(),
            OptimizerKind::Adam => AdamConfig::new().with_weight_decay(decay).init(),
        };
        Self { optimizer, classes }
    }

    /// Trains `model` on one batch at learning rate `lr`; returns the updated model and the
    /// batch's loss and correct count.
    pub fn step(
        &mut self,
        model: Model,
        input: ModelInput,
        labels: Tensor<1, Int>,
        lr: f64,
    ) -> (Model, StepOutcome) {
        let batch = labels.dims()[0];
        let logits = model.forward(input);
        let pred = logits.clone().argmax(1).reshape([batch]);
        let loss =
            cross_entropy_with_logits(logits, labels.clone().one_hot(self.classes).float()).mean();
        let grads = loss.backward();
        let loss_value = loss.into_scalar::<f32>() as f64;
        let correct = pred.equal(labels).int().sum().into_scalar::<i64>() as usize;
        let grads = GradientsParams::from_grads(grads, &model);
        let model = self.optimizer.step(lr, model, grads);
        let model = clamp_pact_alphas(model).0;
        (
            model,
            StepOutcome {
                loss: loss_value,
                correct,
            },
        )
    }
}

/// Trains `model` on `data.train`, validating after each epoch. `on_step(done, total)` and
/// `on_epoch(record)` report progress.
pub fn fit(
    mut model: Model,
    data: &Dataset,
    config: &TrainConfig,
    mut on_step: impl FnMut(usize, usize),
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<(Model, TrainReport)> {
    config.validate()?;
    let device = model.devices().into_iter().next().unwrap_or_default();
    if !device.is_autodiff() {
        return Err(TrainError::config(
            "device",
            "training needs an autodiff device (Device::flex().autodiff())",
        ));
    }
    device.seed(config.seed);
    let mut stepper = TrainStep::new(config, data.classes.len());
    let n = data.train.len();
    let batches_per_epoch = n.div_ceil(config.batch_size);
    let total_steps = batches_per_epoch * config.epochs;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_5eed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut epochs = Vec::new();
    let started = Instant::now();
    let mut step = 0usize;
    for epoch in 0..config.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        let mut lr = config.learning_rate;
        for rows in order.chunks(config.batch_size) {
            lr = config.learning_rate_at(epoch, step, total_steps);
            let (input, labels) = batch_input(&data.train, rows, &device);
            let outcome;
            (model, outcome) = stepper.step(model, input, labels, lr);
            if !outcome.loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    loss: outcome.loss,
                });
            }
            correct += outcome.correct;
            loss_sum += outcome.loss * rows.len() as f64;
            step += 1;
            on_step(step, total_steps);
        }
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / n as f64,
            train_accuracy: correct as f64 / n as f64,
            val_accuracy: accuracy(&model, &data.val, 256),
            learning_rate: lr,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        on_epoch(&record);
        epochs.push(record);
    }
    Ok((
        model,
        TrainReport {
            epochs,
            train_seconds: started.elapsed().as_secs_f64(),
        },
    ))
}
