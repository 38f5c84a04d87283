//! Optimizer, weight decay, schedule, epochs, batch size and seed.

use crate::{Result, TrainError};

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// SGD with (PyTorch-style, undampened) momentum.
    Sgd {
        /// Momentum factor.
        momentum: f64,
    },
    /// Adam (ε = 1e-5 as in the PACT SVHN/AlexNet recipes).
    Adam,
}

/// Learning-rate schedule over epochs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Constant.
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Period in epochs.
        every: usize,
        /// Factor.
        gamma: f64,
    },
    /// Cosine annealing from the base rate to 0 over the run (per step).
    Cosine,
}

/// Everything that shapes a training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub learning_rate: f64,
    /// L2 weight decay; also the PACT α decay λ_α (methods-spec §1.3).
    pub weight_decay: f64,
    /// Schedule.
    pub schedule: LrSchedule,
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            schedule: LrSchedule::Cosine,
            epochs: 10,
            batch_size: 64,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(TrainError::config(
                "learning rate",
                format!("{} must be a positive number", self.learning_rate),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::config(
                "weight decay",
                format!("{} must be ≥ 0", self.weight_decay),
            ));
        }
        if self.batch_size == 0 {
            return Err(TrainError::config("batch size", "must be at least 1"));
        }
        if let OptimizerKind::Sgd { momentum } = self.optimizer {
            if !(0.0..1.0).contains(&momentum) {
                return Err(TrainError::config(
                    "momentum",
                    format!("{momentum} must be in [0, 1)"),
                ));
            }
        }
        if let LrSchedule::Step { every, gamma } = self.schedule {
            if every == 0 || !(gamma > 0.0 && gamma <= 1.0) {
                return Err(TrainError::config(
                    "step schedule",
                    "needs every ≥ 1 and gamma in (0, 1]",
                ));
            }
        }
        Ok(())
    }

    /// The learning rate at `step` of `total_steps` in `epoch` (0-based).
    pub fn learning_rate_at(&self, epoch: usize, step: usize, total_steps: usize) -> f64 {
        match self.schedule {
            LrSchedule::Constant => self.learning_rate,
            LrSchedule::Step { every, gamma } => {
                self.learning_rate * gamma.powi((epoch / every) as i32)
            }
            LrSchedule::Cosine => {
                0.5 * self.learning_rate
                    * (1.0 + (std::f64::consts::PI * step as f64 / total_steps.max(1) as f64).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let mut c = TrainConfig {
            learning_rate: 0.1,
            ..TrainConfig::default()
        };
        c.schedule = LrSchedule::Step {
            every: 2,
            gamma: 0.1,
        };
        assert!((c.learning_rate_at(3, 0, 10) - 0.01).abs() < 1e-12);
        c.schedule = LrSchedule::Cosine;
        assert!((c.learning_rate_at(0, 0, 10) - 0.1).abs() < 1e-12);
        assert!((c.learning_rate_at(0, 5, 10) - 0.05).abs() < 1e-12);
        assert!(c.learning_rate_at(0, 10, 10).abs() < 1e-12);
        // Zero epochs is valid: the starting model is evaluated untrained.
        assert!(TrainConfig {
            epochs: 0,
            ..TrainConfig::default()
        }
        .validate()
        .is_ok());
        assert!(TrainConfig {
            batch_size: 0,
            ..TrainConfig::default()
        }
        .validate()
        .is_err());
        assert!(TrainConfig {
            learning_rate: f64::NAN,
            ..TrainConfig::default()
        }
        .validate()
        .is_err());
    }
}
