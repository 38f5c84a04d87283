//! The ask/tell optimizer: a study's whole state (space, settings, trials), serializable so a
//! study can stop and resume.
//!
//! `ask(n)` returns `n` new trials: scrambled Sobol points until `initial_points` trials exist
//! (default `2(d + 1)`, the BoTorch tutorials' design), then qNEHVI batches built
//! sequential-greedily, each new point conditioned on the pending (asked, not yet told) ones.
//! `tell` records objective values (maximized, as in BoTorch; negate what you minimize) or a
//! failure; failed trials are kept but not modelled.

use crate::acq::{
    optimize_acquisition, optimize_acquisition_mixed, prune_baseline, sample_simplex, Acquisition,
    AcquisitionOptimizerOptions, Chebyshev, ModelEnsemble, QLogNehvi, QParEgo, Qnehvi,
    QnehviOptions,
};
use crate::gp::YeoJohnson;
use crate::gp::{fit_saas, ExactGp, GpFitOptions, SaasOptions};
use crate::moo::infer_reference_point;
use crate::sampling::maximin_point;
use crate::sampling::SobolSampler;
use crate::space::{ParamValue, SearchSpace};
use crate::{BoError, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A SAAS coordinate counts as active when its median lengthscale is at most this (inputs on
/// the unit cube).
const SAAS_ACTIVE_LENGTHSCALE: f64 = 2.0;

/// How new trials are chosen after (or instead of) the initial design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Scrambled Sobol points only (the quasi-random baseline).
    Sobol,
    /// qNEHVI on MAP-fitted exact GPs.
    Qnehvi,
    /// qNEHVI averaged over the posterior samples of SAAS GPs (methods-spec §4.1).
    QnehviSaas,
    /// qNParEGO: noisy EI of a random augmented Chebyshev scalarization per point.
    Qparego,
    /// qLogNEHVI on MAP-fitted exact GPs (the smoothed log of qNEHVI).
    Qlognehvi,
    /// qLogNEHVI averaged over SAAS posterior samples.
    QlognehviSaas,
}

impl Method {
    /// Every method's command-line name.
    pub const NAMES: [&'static str; 6] = [
        "sobol",
        "qnehvi",
        "qnehvi-saas",
        "qparego",
        "qlognehvi",
        "qlognehvi-saas",
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Sobol => "sobol",
            Method::Qnehvi => "qnehvi",
            Method::QnehviSaas => "qnehvi-saas",
            Method::Qparego => "qparego",
            Method::Qlognehvi => "qlognehvi",
            Method::QlognehviSaas => "qlognehvi-saas",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "sobol" => Ok(Method::Sobol),
            "qnehvi" => Ok(Method::Qnehvi),
            "qnehvi-saas" => Ok(Method::QnehviSaas),
            "qparego" => Ok(Method::Qparego),
            "qlognehvi" => Ok(Method::Qlognehvi),
            "qlognehvi-saas" => Ok(Method::QlognehviSaas),
            other => Err(BoError::input(
                "method",
                format!("'{other}' is not one of {}", Method::NAMES.join(", ")),
            )),
        }
    }
}

/// Every setting of an optimizer, with BoTorch's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// The search space.
    pub space: SearchSpace,
    /// Number of objectives (all maximized).
    pub num_objectives: usize,
    /// Reference point (maximization frame). `None`: inferred at every ask. Two of every
    /// three asks use the front the models predict over the observed points and a Sobol
    /// sample of the space (optimistic quantiles, marginal extremes dropped; see
    /// `acq::predicted_front_reference`); every third uses every feasible observation's
    /// worst value, `worst − 0.1·(best − worst)` per objective, close to Optuna's
    /// `GPSampler`. Neither is BoTorch's observed-front rule, which cuts off the parts of the
    /// front beyond the current front's nadir so that seeds stall (issue #17; design notes,
    /// "The MOBO engine on problems it has never seen").
    pub reference_point: Option<Vec<f64>>,
    /// Method.
    pub method: Method,
    /// Sobol trials before the model takes over (`None`: `2(d + 1)`).
    pub initial_points: Option<usize>,
    /// Seed of every random choice.
    pub seed: u64,
    /// qNEHVI Monte-Carlo samples (128).
    pub mc_samples: usize,
    /// Acquisition raw samples (512).
    pub raw_samples: usize,
    /// Acquisition local searches (10).
    pub restarts: usize,
    /// GP fit starts (3).
    pub gp_restarts: usize,
    /// Prune the qNEHVI baseline (Ax default: yes).
    pub prune_baseline: bool,
    /// Outcome constraints: each trial also reports this many slacks after its objective
    /// values, feasible when ≥ 0 (a latency budget `latency_ms <= 5` is the slack
    /// `5 − latency_ms`). Each slack gets its own GP; acquisitions weight samples by their
    /// feasibility (BoTorch's sigmoid, η = 1e-3) and only feasible trials form the front.
    #[serde(default)]
    pub num_constraints: usize,
    /// NUTS settings of `qnehvi-saas` (BoTorch: 512 warm-up, 256 draws, thinning 16).
    #[serde(default)]
    pub saas: SaasOptions,
    /// Past this many completed trials the models are fitted on a subset of them (half the
    /// best by non-dominated sorting, half a seeded sample; `moo::model_subset`), which is
    /// also qNEHVI's baseline: an exact GP costs `O(n³)`. The fits then take one start
    /// instead of `gp_restarts`. 256 keeps an ask within about two seconds at any history
    /// length on two cores (`qfront bench ask`).
    #[serde(default = "default_max_model_points")]
    pub max_model_points: usize,
    /// Every this many model-based trials (failed ones not counted), one is an exploration
    /// step instead: the point
    /// farthest from every trial so far (`sampling::maximin_point`), so a narrow feature the
    /// model is confidently wrong about cannot stay unseen for a whole study (issue #17;
    /// design notes, "The MOBO engine on problems it has never seen"). 0 turns the steps off.
    #[serde(default = "default_exploration_every")]
    pub exploration_every: usize,
    /// Fit each objective's GP on its Yeo–Johnson warp (`gp::YeoJohnson`: standardized, then
    /// the power transform of maximum likelihood), so an objective spanning orders of
    /// magnitude does not crush the front's differences. The GP answers in the objective's
    /// units (every sample goes back through the inverse warp), so the acquisition measures
    /// improvement as the user does (issue #17; design notes, "The MOBO engine on problems
    /// it has never seen").
    #[serde(default = "default_outcome_warp")]
    pub outcome_warp: bool,
}

fn default_outcome_warp() -> bool {
    true
}

fn default_exploration_every() -> usize {
    EXPLORATION_EVERY
}

/// Past this many modelled points each GP fit takes one start instead of `gp_restarts`.
const ONE_START_POINTS: usize = 128;

/// Sobol candidates an exploration step chooses among.
const EXPLORATION_CANDIDATES: usize = 2048;

/// Every this-many-th ask (by trial count) measures against the loose all-points reference
/// point instead of the predicted front's; the loose point is what finds a disconnected
/// front's far segments (DTLZ7, ZDT3), the predicted one what keeps the search off weakly
/// Pareto-optimal extremes (DTLZ2's faces) and noisy ones.
const LOOSE_REFERENCE_EVERY: usize = 3;

/// The default of [`OptimizerConfig::exploration_every`].
pub const EXPLORATION_EVERY: usize = 10;

fn default_max_model_points() -> usize {
    256
}

impl OptimizerConfig {
    /// A config with the defaults above.
    pub fn new(space: SearchSpace, num_objectives: usize, method: Method, seed: u64) -> Self {
        Self {
            space,
            num_objectives,
            reference_point: None,
            method,
            initial_points: None,
            seed,
            mc_samples: 128,
            raw_samples: 512,
            restarts: 10,
            gp_restarts: 3,
            prune_baseline: true,
            num_constraints: 0,
            saas: SaasOptions::default(),
            max_model_points: default_max_model_points(),
            exploration_every: default_exploration_every(),
            outcome_warp: default_outcome_warp(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.num_objectives == 0 {
            return Err(BoError::input(
                "optimizer",
                "num_objectives must be at least 1",
            ));
        }
        if let Some(r) = &self.reference_point {
            if r.len() != self.num_objectives || r.iter().any(|v| !v.is_finite()) {
                return Err(BoError::input(
                    "optimizer",
                    format!(
                        "reference_point {r:?} must hold {} finite values",
                        self.num_objectives
                    ),
                ));
            }
        }
        if self.max_model_points < 2 {
            return Err(BoError::input(
                "optimizer",
                "max_model_points must be at least 2",
            ));
        }
        if self.mc_samples == 0
            || self.raw_samples == 0
            || self.restarts == 0
            || self.gp_restarts == 0
        {
            return Err(BoError::input(
                "optimizer",
                "mc_samples, raw_samples, restarts and gp_restarts must be positive",
            ));
        }
        Ok(())
    }

    /// The initial design size.
    pub fn initial_design(&self) -> usize {
        self.initial_points.unwrap_or(2 * (self.space.dim() + 1))
    }
}

/// What is known about a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TrialState {
    /// Asked, not yet told.
    Pending,
    /// Told with objective values (maximized).
    Complete {
        /// One value per objective.
        values: Vec<f64>,
    },
    /// Told as failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One trial: its parameters, encoded point and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Number, from 0 in ask order.
    pub id: usize,
    /// One value per parameter of the space.
    pub params: Vec<ParamValue>,
    /// The encoded point in the unit cube.
    pub x: Vec<f64>,
    /// State.
    #[serde(flatten)]
    pub state: TrialState,
}

/// Seconds spent in the last model-based `ask`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AskTiming {
    /// Fitting the surrogates.
    pub fit_seconds: f64,
    /// Building and optimizing the acquisitions.
    pub acquisition_seconds: f64,
}

/// The ask/tell optimizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    config: OptimizerConfig,
    trials: Vec<Trial>,
    sobol_drawn: usize,
    #[serde(default)]
    last_timing: AskTiming,
}

impl Optimizer {
    /// A fresh optimizer; checks the config.
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            trials: Vec::new(),
            sobol_drawn: 0,
            last_timing: AskTiming::default(),
        })
    }

    /// The optimizer without its trials: what a store keeps in one place while each trial
    /// lives in a row of its own (see [`Optimizer::with_trials`]).
    pub fn without_trials(&self) -> Self {
        Self {
            config: self.config.clone(),
            trials: Vec::new(),
            sobol_drawn: self.sobol_drawn,
            last_timing: self.last_timing,
        }
    }

    /// Takes the head of `other` (config, Sobol position, timings: what
    /// [`Optimizer::without_trials`] keeps) and keeps this optimizer's trials: a process that
    /// holds the trials brings them up to date with a stored head.
    pub fn adopt_head(&mut self, other: Self) {
        self.config = other.config;
        self.sobol_drawn = other.sobol_drawn;
        self.last_timing = other.last_timing;
    }

    /// This optimizer with `trials` (by id, from 0, each of the space's dimension) in place of
    /// its own: the inverse of [`Optimizer::without_trials`] plus the stored rows.
    pub fn with_trials(mut self, trials: Vec<Trial>) -> Result<Self> {
        self.trials = Vec::with_capacity(trials.len());
        for trial in trials {
            self.put_trial(trial)?;
        }
        Ok(self)
    }

    /// Puts `trial` in place: it replaces the trial with its id, or comes next when its id is
    /// the number of trials. A stored row read back uses it.
    pub fn put_trial(&mut self, trial: Trial) -> Result<()> {
        let dimension = self.config.space.dim();
        let parameters = self.config.space.parameters().len();
        if trial.x.len() != dimension || trial.params.len() != parameters {
            return Err(BoError::input(
                "trial",
                format!(
                    "trial {} has {} coordinates and {} values for a space of {dimension} coordinates and {parameters} parameters",
                    trial.id,
                    trial.x.len(),
                    trial.params.len()
                ),
            ));
        }
        match trial.id.cmp(&self.trials.len()) {
            std::cmp::Ordering::Less => {
                let id = trial.id;
                self.trials[id] = trial;
            }
            std::cmp::Ordering::Equal => self.trials.push(trial),
            std::cmp::Ordering::Greater => {
                return Err(BoError::input(
                    "trial",
                    format!(
                        "trial {} comes after only {} trials",
                        trial.id,
                        self.trials.len()
                    ),
                ))
            }
        }
        Ok(())
    }

    /// The config.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Every trial, in ask order.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// Timing of the last model-based ask.
    pub fn last_timing(&self) -> AskTiming {
        self.last_timing
    }

    /// Completed trials as `(x, values)`.
    fn completed(&self) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        self.trials
            .iter()
            .filter_map(|t| match &t.state {
                TrialState::Complete { values } => Some((t.x.clone(), values.clone())),
                _ => None,
            })
            .unzip()
    }

    /// The objective part of `values` when its slacks are all feasible.
    fn feasible_objectives<'v>(&self, values: &'v [f64]) -> Option<&'v [f64]> {
        let m = self.config.num_objectives;
        values[m..]
            .iter()
            .all(|s| *s >= 0.0)
            .then_some(&values[..m])
    }

    /// The feasible completed trials on the observed Pareto front.
    pub fn pareto_trials(&self) -> Vec<&Trial> {
        let (complete, values): (Vec<&Trial>, Vec<Vec<f64>>) = self
            .trials
            .iter()
            .filter_map(|t| match &t.state {
                TrialState::Complete { values } => {
                    self.feasible_objectives(values).map(|v| (t, v.to_vec()))
                }
                _ => None,
            })
            .unzip();
        crate::moo::is_non_dominated(&values)
            .into_iter()
            .zip(complete)
            .filter_map(|(keep, t)| keep.then_some(t))
            .collect()
    }

    /// Records a new pending trial at `x` (rounded onto the space). In a space with discrete
    /// parameters the rounded point may repeat an earlier trial; then the next Sobol points
    /// are tried instead (up to 256), so a study never re-runs a configuration while unseen
    /// ones remain.
    fn push_trial(&mut self, x: Vec<f64>) -> Trial {
        let mut x = self.config.space.round(&x);
        if !self.config.space.is_continuous() {
            let mut tries = 0;
            while tries < 256 && self.trials.iter().any(|t| t.x == x) {
                let fresh = self.next_sobol_point(0x0064_7570);
                x = self.config.space.round(&fresh);
                tries += 1;
            }
        }
        let trial = Trial {
            id: self.trials.len(),
            params: self.config.space.decode(&x),
            x,
            state: TrialState::Pending,
        };
        self.trials.push(trial.clone());
        trial
    }

    /// The next point of the study's Sobol stream. Each block of 2^16 points (the most one
    /// scrambled sequence holds) uses its own derived seed, so the stream never runs out.
    fn next_sobol_point(&mut self, salt: u64) -> Vec<f64> {
        let k = self.sobol_drawn;
        self.sobol_drawn += 1;
        let block = (k / crate::sampling::MAX_POINTS) as u64;
        let seed = self.config.seed ^ salt ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        SobolSampler::new(self.config.space.dim(), seed)
            .map(|s| s.point(k % crate::sampling::MAX_POINTS))
            .unwrap_or_else(|_| vec![0.5; self.config.space.dim()])
    }

    /// Whether the trial that is the `position`-th non-failed one (0-based) is an exploration
    /// step ([`OptimizerConfig::exploration_every`]). Failed trials taught the model nothing,
    /// so they do not advance the count.
    fn is_exploration_step(&self, position: usize) -> bool {
        let (every, initial) = (self.config.exploration_every, self.config.initial_design());
        every > 0 && position >= initial && (position - initial) % every == every - 1
    }

    /// Pushes the exploration step: the point farthest from every trial so far.
    fn exploration_trial(&mut self) -> Result<Trial> {
        let tried: Vec<Vec<f64>> = self.trials.iter().map(|t| t.x.clone()).collect();
        let x = maximin_point(
            &tried,
            self.config.space.dim(),
            EXPLORATION_CANDIDATES,
            self.config.seed ^ (tried.len() as u64).wrapping_mul(0x6578_706c),
        )?;
        Ok(self.push_trial(x))
    }

    /// `n` new trials (see the module notes).
    pub fn ask(&mut self, n: usize) -> Result<Vec<Trial>> {
        let mut out = Vec::with_capacity(n);
        let usable = self
            .trials
            .iter()
            .filter(|t| !matches!(t.state, TrialState::Failed { .. }))
            .count();
        let complete = self
            .trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete { .. }))
            .count();
        let model_ready = self.config.method != Method::Sobol
            && usable >= self.config.initial_design()
            && complete >= 2;
        if !model_ready {
            for _ in 0..n {
                let x = self.next_sobol_point(0);
                out.push(self.push_trial(x));
            }
            return Ok(out);
        }
        // Trial i of this ask is the (usable + i)-th non-failed trial; an ask made only of
        // exploration steps needs no model.
        let explores: Vec<bool> = (0..n)
            .map(|i| self.is_exploration_step(usable + i))
            .collect();
        if explores.iter().all(|&e| e) {
            for _ in 0..n {
                out.push(self.exploration_trial()?);
            }
            return Ok(out);
        }
        let (mut x_done, mut y_done) = self.completed();
        let subsampled = x_done.len() > self.config.max_model_points;
        if subsampled {
            let keep = crate::moo::model_subset(
                &y_done,
                self.config.num_objectives,
                self.config.max_model_points,
                self.config.seed,
            );
            x_done = keep.iter().map(|&i| x_done[i].clone()).collect();
            y_done = keep.iter().map(|&i| y_done[i].clone()).collect();
        }
        let started = Instant::now();
        let m = self.config.num_objectives;
        let outcomes = m + self.config.num_constraints;
        // Each objective's GP is fitted on its Yeo–Johnson warp and answers in the objective's
        // own units (the warp undone on every sample), so the acquisition measures
        // hypervolume as the user does. Constraint slacks are not warped.
        let warps: Option<Vec<YeoJohnson>> = self.config.outcome_warp.then(|| {
            (0..m)
                .map(|j| YeoJohnson::fit(&y_done.iter().map(|v| v[j]).collect::<Vec<_>>()))
                .collect()
        });
        // Feasible objective values (all of them when none is feasible yet).
        let mut y_front: Vec<Vec<f64>> = y_done
            .iter()
            .filter_map(|v| self.feasible_objectives(v).map(<[f64]>::to_vec))
            .collect();
        let x_front: Vec<Vec<f64>> = x_done
            .iter()
            .zip(&y_done)
            .filter(|(_, v)| self.feasible_objectives(v).is_some())
            .map(|(x, _)| x.clone())
            .collect();
        let (x_front, y_front) = if y_front.is_empty() {
            y_front = y_done.iter().map(|v| v[..m].to_vec()).collect();
            (x_done.clone(), y_front)
        } else {
            (x_front, y_front)
        };
        let fit_options = GpFitOptions {
            // With more than ONE_START_POINTS points (or a subset of a long history) the
            // likelihood is sharply peaked: one start (from the prior medians) is enough, and
            // the fit is most of an ask's time.
            restarts: if subsampled || x_done.len() > ONE_START_POINTS {
                1
            } else {
                self.config.gp_restarts
            },
            seed: self.config.seed ^ self.trials.len() as u64,
            ..GpFitOptions::default()
        };
        // Objective j's warp (constraints, j ≥ m, have none).
        let warp_of = |j: usize| warps.as_ref().and_then(|w| w.get(j)).copied();
        let column = |j: usize| -> Vec<f64> {
            match warp_of(j) {
                Some(warp) => y_done.iter().map(|v| warp.apply(v[j])).collect(),
                None => y_done.iter().map(|v| v[j]).collect(),
            }
        };
        let answering_in_units = |j: usize, gp: ExactGp| match warp_of(j) {
            Some(warp) => gp.with_output_warp(warp),
            None => gp,
        };
        let mut saas_free: Option<Vec<bool>> = None;
        let saas = matches!(
            self.config.method,
            Method::QnehviSaas | Method::QlognehviSaas
        );
        let models: ModelEnsemble = if saas {
            // One chain per objective, in parallel; member s holds every objective's s-th sample.
            let fits: Vec<Result<crate::gp::SaasGp>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..outcomes)
                    .map(|j| {
                        let (x, y) = (&x_done, column(j));
                        let options = SaasOptions {
                            seed: self.config.seed ^ ((self.trials.len() * outcomes + j) as u64),
                            ..self.config.saas
                        };
                        scope.spawn(move || fit_saas(x, &y, &options))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(BoError::input("SAAS", "a sampler thread panicked"))
                        })
                    })
                    .collect()
            });
            let fits = fits.into_iter().collect::<Result<Vec<_>>>()?;
            // Coordinates some objective's SAAS model finds active (median ℓ_d ≤ 2 on the unit
            // cube); the acquisition search moves only those.
            let d = self.config.space.dim();
            let mut active = vec![false; d];
            for f in &fits {
                for (a, l) in active.iter_mut().zip(f.median_lengthscales()) {
                    *a |= l <= SAAS_ACTIVE_LENGTHSCALE;
                }
            }
            saas_free = Some(active);
            let kept = fits.iter().map(|f| f.samples.len()).min().unwrap_or(0);
            (0..kept)
                .map(|s| {
                    fits.iter()
                        .enumerate()
                        .map(|(j, f)| answering_in_units(j, f.samples[s].clone()))
                        .collect()
                })
                .collect()
        } else {
            vec![(0..outcomes)
                .map(|j| {
                    Ok(answering_in_units(
                        j,
                        ExactGp::fit(&x_done, &column(j), &fit_options)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?]
        };
        let fit_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let reference = match &self.config.reference_point {
            Some(r) => r.clone(),
            None => {
                // Every point's worst value (the loose rule); every third ask measures
                // against it, the others against the models' predicted front
                // (`acq::predicted_front_reference`; design notes, "The reference point").
                // qParEGO measures no hypervolume, and prunes no baseline, so it needs none.
                let loosest = infer_reference_point(&y_front, 0.1)?;
                if self.config.method == Method::Qparego
                    || self.trials.len().is_multiple_of(LOOSE_REFERENCE_EVERY)
                {
                    loosest
                } else {
                    crate::acq::predicted_front_reference(
                        &models,
                        &x_done,
                        &y_front,
                        &self.config.space,
                        m,
                        &loosest,
                        self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x7265_6672),
                    )?
                }
            }
        };
        let prune = self.config.prune_baseline && self.config.method != Method::Qparego;
        let mut baseline: Vec<Vec<f64>> = if prune {
            prune_baseline(
                &models,
                &x_done,
                &reference,
                // BoTorch's 2048 joint samples cost O(n²) each; past ONE_START_POINTS
                // points 512 (a rarely optimal point may then be pruned).
                if x_done.len() > ONE_START_POINTS {
                    512
                } else {
                    2048
                },
                self.config.seed,
            )?
            .into_iter()
            .map(|i| x_done[i].clone())
            .collect()
        } else {
            x_done.clone()
        };
        baseline.extend(
            self.trials
                .iter()
                .filter(|t| t.state == TrialState::Pending)
                .map(|t| t.x.clone()),
        );
        // Anchors for local starts: the observed Pareto-optimal points.
        let anchors: Vec<Vec<f64>> = crate::moo::is_non_dominated(&y_front)
            .into_iter()
            .zip(&x_front)
            .filter(|(keep, _)| *keep)
            .map(|(_, x)| x.clone())
            .collect();
        let mut weight_rng = ChaCha8Rng::seed_from_u64(
            self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x7765_6967),
        );
        for i in 0..n {
            if explores[i] {
                let trial = self.exploration_trial()?;
                baseline.push(trial.x.clone());
                out.push(trial);
                continue;
            }
            let mc_seed = self.config.seed ^ (self.trials.len() as u64).wrapping_mul(0x9e37);
            let log = matches!(
                self.config.method,
                Method::Qlognehvi | Method::QlognehviSaas
            );
            let acquisition: Box<dyn Acquisition> = if log {
                Box::new(QLogNehvi::new(
                    &models,
                    &baseline,
                    &reference,
                    self.config.num_constraints,
                    self.config.mc_samples,
                    mc_seed,
                )?)
            } else if self.config.method == Method::Qparego {
                let weights = sample_simplex(m, &mut weight_rng);
                Box::new(QParEgo::new(
                    &models,
                    &baseline,
                    Chebyshev::new(weights, &y_front)?,
                    self.config.num_constraints,
                    self.config.mc_samples,
                    mc_seed,
                )?)
            } else {
                Box::new(Qnehvi::new(
                    &models,
                    &baseline,
                    &reference,
                    &QnehviOptions {
                        mc_samples: self.config.mc_samples,
                        seed: mc_seed,
                        constraints: self.config.num_constraints,
                    },
                )?)
            };
            let options = AcquisitionOptimizerOptions {
                raw_samples: self.config.raw_samples,
                restarts: self.config.restarts,
                seed: self.config.seed ^ (self.trials.len() + i) as u64,
                free_dimensions: saas_free.clone(),
                ..AcquisitionOptimizerOptions::default()
            };
            let (x, _) = if self.config.space.is_continuous() {
                optimize_acquisition(
                    acquisition.as_ref(),
                    self.config.space.dim(),
                    &anchors,
                    &options,
                )?
            } else {
                optimize_acquisition_mixed(
                    acquisition.as_ref(),
                    &self.config.space,
                    &anchors,
                    &options,
                )?
            };
            // In a mixed space, the acquisition also chooses how the maximum is rounded.
            let x = self
                .config
                .space
                .best_rounding(&x, |p| acquisition.evaluate(p, false).0);
            let trial = self.push_trial(x);
            baseline.push(trial.x.clone());
            out.push(trial);
        }
        self.last_timing = AskTiming {
            fit_seconds,
            acquisition_seconds: started.elapsed().as_secs_f64(),
        };
        Ok(out)
    }

    /// Like [`Optimizer::ask`], but a failing model (a GP or NUTS fit, the acquisition) does
    /// not fail the call: the trials still missing are drawn from the Sobol stream, and the
    /// error is returned beside them so the caller can log and record it. The next ask fits
    /// again with a seed that moves with the trial count, so a numerical failure is not
    /// simply repeated. This is what a long-running study uses: one bad fit must not stop it.
    pub fn ask_or_sobol(&mut self, n: usize) -> (Vec<Trial>, Option<BoError>) {
        let before = self.trials.len();
        match self.ask(n) {
            Ok(trials) => (trials, None),
            Err(error) => {
                // Trials a failing ask already pushed stay; the rest come from Sobol.
                let mut out: Vec<Trial> = self.trials[before..].to_vec();
                while out.len() < n {
                    let x = self.next_sobol_point(0x0fa1_1bac);
                    out.push(self.push_trial(x));
                }
                (out, Some(error))
            }
        }
    }

    /// Fails pending trial `id` with `reason` and asks it again: a new pending trial at the
    /// same point (no de-duplication), returned. This is how a study re-queues a trial whose
    /// worker died: the lost run counts as failed, and the configuration is not lost.
    pub fn retry(&mut self, id: usize, reason: String) -> Result<Trial> {
        let trial = self
            .trials
            .get_mut(id)
            .ok_or_else(|| BoError::input("retry", format!("there is no trial {id}")))?;
        if trial.state != TrialState::Pending {
            return Err(BoError::input(
                "retry",
                format!("trial {id} was already told"),
            ));
        }
        trial.state = TrialState::Failed { reason };
        let (params, x) = (trial.params.clone(), trial.x.clone());
        let retry = Trial {
            id: self.trials.len(),
            params,
            x,
            state: TrialState::Pending,
        };
        self.trials.push(retry.clone());
        Ok(retry)
    }

    /// Records a trial chosen elsewhere (another sampler, an earlier process): its parameter
    /// values, pending until told. It takes the next trial number and the next point of the
    /// Sobol stream, so an optimizer rebuilt from its history (as an Optuna sampler is, at
    /// every trial) continues the initial design rather than repeating its first point.
    pub fn observe(&mut self, params: &[ParamValue]) -> Result<usize> {
        let x = self.config.space.encode(params)?;
        let id = self.trials.len();
        self.sobol_drawn += 1;
        self.trials.push(Trial {
            id,
            params: self.config.space.decode(&x),
            x,
            state: TrialState::Pending,
        });
        Ok(id)
    }

    /// Skips `n` points of the Sobol stream: trials that other processes are choosing at the
    /// same time and that this optimizer cannot observe yet, so that two processes rebuilding
    /// the same history do not draw the same initial-design point.
    pub fn skip_sobol_points(&mut self, n: usize) {
        self.sobol_drawn += n;
    }

    /// Records the outcome of trial `id`: `Ok(values)` (one finite value per objective) or
    /// `Err(reason)` for a failure. Telling a trial twice is an error.
    pub fn tell(
        &mut self,
        id: usize,
        outcome: std::result::Result<Vec<f64>, String>,
    ) -> Result<()> {
        let m = self.config.num_objectives + self.config.num_constraints;
        let trial = self
            .trials
            .get_mut(id)
            .ok_or_else(|| BoError::input("tell", format!("there is no trial {id}")))?;
        if trial.state != TrialState::Pending {
            return Err(BoError::input(
                "tell",
                format!("trial {id} was already told"),
            ));
        }
        trial.state = match outcome {
            Ok(values) => {
                if values.len() != m {
                    return Err(BoError::input(
                        "tell",
                        format!(
                            "trial {id}: {} values, expected {m} ({} objectives, then {} constraint slacks)",
                            values.len(),
                            self.config.num_objectives,
                            self.config.num_constraints
                        ),
                    ));
                }
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(BoError::input(
                        "tell",
                        format!("trial {id}: values {values:?} are not all finite; tell a failure instead"),
                    ));
                }
                TrialState::Complete { values }
            }
            Err(reason) => TrialState::Failed { reason },
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moo::pareto_front;

    #[test]
    fn an_optimizer_rebuilt_from_observed_trials_continues_its_design() {
        let space = SearchSpace::new(vec![
            crate::space::Parameter::float("a", 0.0, 1.0),
            crate::space::Parameter::int("b", 1, 9, crate::space::Scale::Linear),
        ])
        .unwrap();
        let config = OptimizerConfig::new(space, 1, Method::Sobol, 11);
        let mut whole = Optimizer::new(config.clone()).unwrap();
        let asked = whole.ask(4).unwrap();
        // Rebuilt at every trial from what was asked before, as an Optuna sampler is.
        for k in 0..4 {
            let mut rebuilt = Optimizer::new(config.clone()).unwrap();
            for t in &asked[..k] {
                let id = rebuilt.observe(&t.params).unwrap();
                rebuilt.tell(id, Ok(vec![t.x[0]])).unwrap();
            }
            let next = rebuilt.ask(1).unwrap().remove(0);
            assert_eq!(next.params, asked[k].params, "trial {k}");
            assert_eq!(next.id, k);
        }
        let mut bad = Optimizer::new(config).unwrap();
        assert!(bad.observe(&[ParamValue::Float(0.5)]).is_err());
    }

    #[test]
    fn a_long_history_is_modelled_on_a_subset() {
        let space = SearchSpace::new(vec![
            crate::space::Parameter::float("a", 0.0, 1.0),
            crate::space::Parameter::float("b", 0.0, 1.0),
        ])
        .unwrap();
        let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 3);
        config.max_model_points = 1;
        assert!(
            Optimizer::new(config.clone()).is_err(),
            "a cap below 2 is refused"
        );
        config.max_model_points = 16;
        config.raw_samples = 64;
        config.restarts = 2;
        config.mc_samples = 32;
        let mut opt = Optimizer::new(config).unwrap();
        for t in opt.ask(40).unwrap() {
            let values = vec![t.x[0], 1.0 - t.x[0] * t.x[1]];
            opt.tell(t.id, Ok(values)).unwrap();
        }
        // 40 completed trials, modelled on 16: the ask works and is reproducible.
        let first = opt.clone().ask(1).unwrap();
        let second = opt.clone().ask(1).unwrap();
        assert_eq!(first[0].x, second[0].x);
        assert!(first[0].x.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn a_failing_model_falls_back_to_sobol_points() {
        let space = SearchSpace::new(vec![
            crate::space::Parameter::float("a", 0.0, 1.0),
            crate::space::Parameter::float("b", 0.0, 1.0),
        ])
        .unwrap();
        let mut config = OptimizerConfig::new(space, 1, Method::QnehviSaas, 5);
        config.initial_points = Some(3);
        // No NUTS draw can be kept: every SAAS fit fails.
        config.saas.samples = 2;
        config.saas.thinning = 8;
        config.saas.warmup = 2;
        let mut opt = Optimizer::new(config).unwrap();
        for t in opt.ask(3).unwrap() {
            let y = t.x[0] - t.x[1];
            opt.tell(t.id, Ok(vec![y])).unwrap();
        }
        assert!(
            opt.clone().ask(2).is_err(),
            "the strict ask reports the failure"
        );
        let (trials, error) = opt.ask_or_sobol(2);
        assert_eq!(trials.len(), 2);
        assert_eq!(trials[0].id, 3);
        assert!(error.unwrap().to_string().contains("thinning"));
        assert!(trials.iter().all(|t| t.state == TrialState::Pending));
        assert_eq!(opt.trials().len(), 5);
    }
    use crate::problems::{BraninCurrin, Problem};

    fn evaluate(p: &dyn Problem, x: &[f64]) -> Vec<f64> {
        p.evaluate_unit(x).into_iter().map(|v| -v).collect()
    }

    /// Every 10th model-based trial (failed ones not counted) is the maximin point of the
    /// trials before it; the others come from the acquisition.
    #[test]
    fn every_tenth_model_based_trial_explores() {
        let space = SearchSpace::unit_cube(2).unwrap();
        let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 5);
        config.initial_points = Some(4);
        config.raw_samples = 32;
        config.restarts = 2;
        let mut opt = Optimizer::new(config).unwrap();
        let mut explored = Vec::new();
        for _ in 0..16 {
            let before: Vec<Vec<f64>> = opt.trials().iter().map(|t| t.x.clone()).collect();
            let t = opt.ask(1).unwrap().remove(0);
            let maximin = maximin_point(
                &before,
                2,
                EXPLORATION_CANDIDATES,
                5 ^ (before.len() as u64).wrapping_mul(0x6578_706c),
            )
            .unwrap();
            // (With no trials before it, trial 0 is the same Sobol point either way.)
            if t.id >= 4 && t.x == maximin {
                explored.push(t.id);
            }
            // Trial 6 fails: it does not count, so the step moves from 13 to 14.
            let outcome = if t.id == 6 {
                Err("diverged".to_string())
            } else {
                Ok(vec![-(t.x[0] - 0.3).powi(2), -(t.x[1] - 0.7).powi(2)])
            };
            opt.tell(t.id, outcome).unwrap();
        }
        assert_eq!(explored, vec![14]);
        let mut off =
            OptimizerConfig::new(SearchSpace::unit_cube(2).unwrap(), 2, Method::Qnehvi, 5);
        off.exploration_every = 0;
        let opt = Optimizer::new(off).unwrap();
        assert!((0..40).all(|p| !opt.is_exploration_step(p)));
    }

    #[test]
    fn a_small_discrete_space_is_covered_without_repeats() {
        use crate::space::{Parameter, Scale};
        let space = SearchSpace::new(vec![
            Parameter::int("a", 0, 2, Scale::Linear),
            Parameter::categorical("b", &["x", "y", "z"]),
        ])
        .unwrap();
        let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 1);
        config.initial_points = Some(3);
        config.raw_samples = 32;
        config.restarts = 2;
        let mut opt = Optimizer::new(config).unwrap();
        let mut seen = Vec::new();
        for _ in 0..9 {
            let t = opt.ask(1).unwrap().remove(0);
            assert!(!seen.contains(&t.params), "{:?} repeated", t.params);
            seen.push(t.params.clone());
            let a = t.params[0].as_f64().unwrap();
            let b = match &t.params[1] {
                ParamValue::Text(s) => s.len() as f64 + (s == "y") as u8 as f64,
                _ => unreachable!(),
            };
            opt.tell(t.id, Ok(vec![a - b, b - a * a])).unwrap();
        }
        assert_eq!(seen.len(), 9);
    }

    #[test]
    fn a_retried_trial_fails_and_comes_back_pending_at_the_same_point() {
        let space = SearchSpace::new(vec![crate::space::Parameter::float("a", 0.0, 1.0)]).unwrap();
        let mut opt = Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 3)).unwrap();
        let asked = opt.ask(2).unwrap();
        let retry = opt.retry(0, "worker lost".into()).unwrap();
        assert_eq!(retry.id, 2);
        assert_eq!((&retry.x, &retry.params), (&asked[0].x, &asked[0].params));
        assert_eq!(retry.state, TrialState::Pending);
        assert_eq!(
            opt.trials()[0].state,
            TrialState::Failed {
                reason: "worker lost".into()
            }
        );
        assert!(
            opt.retry(0, "again".into()).is_err(),
            "a told trial cannot be retried"
        );
        assert!(opt.retry(9, "none".into()).is_err());
        opt.tell(2, Ok(vec![0.5])).unwrap();
        assert_eq!(opt.trials()[1].state, TrialState::Pending);
    }

    #[test]
    fn ask_tell_round_trips_and_resumes_identically() {
        let space = SearchSpace::unit_cube(2).unwrap();
        let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 5);
        config.raw_samples = 64;
        config.restarts = 2;
        config.mc_samples = 32;
        config.reference_point = Some(vec![-18.0, -6.0]);
        let mut opt = Optimizer::new(config).unwrap();
        let p = BraninCurrin;
        for _ in 0..4 {
            for t in opt.ask(2).unwrap() {
                opt.tell(t.id, Ok(evaluate(&p, &t.x))).unwrap();
            }
        }
        // Serialize mid-study; the copy asks exactly what the original asks.
        let json = serde_json::to_string(&opt).unwrap();
        let mut copy: Optimizer = serde_json::from_str(&json).unwrap();
        let a = opt.ask(1).unwrap();
        let b = copy.ask(1).unwrap();
        assert_eq!(a, b);
        assert!(opt.last_timing().fit_seconds > 0.0);
        // Bad tells.
        assert!(opt.tell(a[0].id, Ok(vec![f64::NAN, 1.0])).is_err());
        assert!(opt.tell(a[0].id, Ok(vec![1.0])).is_err());
        assert!(opt.tell(99, Ok(vec![1.0, 1.0])).is_err());
        opt.tell(a[0].id, Err("diverged".into())).unwrap();
        assert!(opt.tell(a[0].id, Ok(vec![1.0, 1.0])).is_err());
        assert_eq!(opt.pareto_trials().len(), {
            let vals: Vec<Vec<f64>> = opt
                .trials()
                .iter()
                .filter_map(|t| match &t.state {
                    TrialState::Complete { values } => Some(values.clone()),
                    _ => None,
                })
                .collect();
            pareto_front(&vals).len()
        });
    }
}
