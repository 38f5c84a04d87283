//! The optimizer's settings: the method, the configuration a study stores, its defaults and
//! their validation.

use crate::gp::SaasOptions;
use crate::space::SearchSpace;
use crate::{BoError, Result};
use serde::{Deserialize, Serialize};

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

    /// Whether the acquisition's value is a logarithm (qLogNEHVI: the log of the expected
    /// hypervolume improvement), so that an improvement of 0 reads as a large negative value.
    pub fn log_acquisition(self) -> bool {
        matches!(self, Method::Qlognehvi | Method::QlognehviSaas)
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
    /// `GPSampler`, widened to BoTorch's rule on the models' mean front where that is looser
    /// (`acq::loose_reference`). Neither is BoTorch's observed-front rule, which cuts off the
    /// parts of the front beyond the current front's nadir so that seeds stall (issue #17;
    /// design notes, "The MOBO engine on problems it has never seen"). When the acquisition
    /// against a given point is 0 at its maximum (no Monte-Carlo sample of any candidate
    /// improves on it), that trial measures against the inferred point instead (design
    /// notes, "A given reference point nothing reaches yet").
    pub reference_point: Option<Vec<f64>>,
    /// Method.
    pub method: Method,
    /// Sobol trials before the model takes over (`None`: `2(d + 1)`).
    pub initial_points: Option<usize>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Seed of the Sobol stream (the initial design and the fallback points) when it must not
    /// move with `seed` (`None`: `seed`). A caller that rebuilds the optimizer at every trial
    /// with a seed that moves with the trial number (`qfront.optuna.QfrontSampler`, so that
    /// concurrent processes do not propose the same point) keeps this one fixed: point k of
    /// one scrambled sequence per study, not point k of a different sequence each time.
    /// Points of different scrambles are independent uniform draws, without the Sobol
    /// design's stratification (design notes, "The Optuna sampler's initial design was not a
    /// Sobol design").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sobol_seed: Option<u64>,
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
    /// step instead: the point farthest from every trial so far and from the box's faces
    /// (`sampling::maximin_point`, faces as mirrors), where the models claim to know it
    /// (posterior variance at most half the prior's); halfway between two of them (for 2 or
    /// more), another takes the point farthest from every trial on a coordinate line through
    /// an observed Pareto-optimal point (`sampling::pareto_line_point`), while the observed
    /// Pareto set lies on a lower-dimensional part of the box in the inputs the models use.
    /// So a narrow feature the model is confidently wrong about, inside the box or along the
    /// Pareto set, cannot stay unseen for a whole study (issue #17; `optimizer::exploration`;
    /// design notes, "The MOBO engine on problems it has never seen"). A step without a
    /// point is the acquisition's trial, and so is one whose previous step of its kind came
    /// out dominated by an earlier trial (backing off: a failing kind runs at half its rate;
    /// design notes, "Exploration steps that back off"). 0 turns the steps off.
    #[serde(default = "default_exploration_every")]
    pub exploration_every: usize,
    /// Every this many model-based trials (at the middle of each cycle, failed ones not
    /// counted), one may be an anchor step: the point where one objective is best (the
    /// others only breaking ties, `acq::AnchorScalarization`), taken when the models predict
    /// it worse than every observation in another objective, a trade-off no inferred
    /// reference point values; otherwise the trial is qNEHVI's (issue #17; design notes,
    /// "Anchor steps"). Ignored when a reference point is given and by qParEGO (which
    /// measures no hypervolume). 0 turns the steps off.
    #[serde(default = "default_anchor_every")]
    pub anchor_every: usize,
    /// Fit each objective's GP on its Yeo–Johnson warp (`gp::YeoJohnson`: standardized, then
    /// the power transform of maximum likelihood), so an objective spanning orders of
    /// magnitude does not crush the front's differences. The GP answers in the objective's
    /// units (every sample goes back through the inverse warp), so the acquisition measures
    /// improvement as the user does (issue #17; design notes, "The MOBO engine on problems
    /// it has never seen").
    #[serde(default = "default_outcome_warp")]
    pub outcome_warp: bool,
    /// From this many dimensions of the encoded search space on, each GP's constant prior
    /// mean is held at the worst observation of its outcome instead of fitted
    /// (`gp::ConstantMean::WorstObserved`; De Ath, Fieldsend & Everson, GECCO 2020, found
    /// that mean the best of eight on their problems of five or more dimensions). Where no
    /// trial has been the models then predict the worst seen, not the average, so an
    /// acquisition values the unexplored box only for its variance and the search exploits
    /// more of what the trials have shown (on a traced DTLZ2 run, distance inputs nearer
    /// their optimum; issue #17, design notes, "A pessimistic prior mean"). Default
    /// [`WORST_OBSERVED_MEAN_MIN_DIM`]; 0 holds it at every dimension, `usize::MAX` never.
    /// Not used by the SAAS methods, whose fully Bayesian fit keeps its own mean.
    #[serde(default = "default_worst_observed_mean_min_dim")]
    pub worst_observed_mean_min_dim: usize,
    /// Fit each exact GP over a quadratic trend in the inputs (`gp::QuadraticTrend`: a ridge
    /// regression on linear and squared terms, chosen by generalized cross-validation), kept
    /// where it at least halves the cross-validated error, each input only once the trials
    /// reach near both ends of its range (`gp::TREND_COVERAGE_MARGIN`); the GP models
    /// the residuals, and far from every trial the models follow the trend instead of
    /// returning to a constant (issue #17; design notes, "A quadratic trend under the GP"). Not used by the SAAS
    /// methods, nor past 128 modelled points (the trend's fit then costs an ask more than
    /// its prior is worth: the GP has the points to learn the shape). Used against a given
    /// `reference_point` too, where the anchor steps probe what a trend is confidently
    /// wrong about and a vanishing gain against the point yields to the inferred one
    /// (design notes, "The trend against a given point").
    #[serde(default = "default_quadratic_trend")]
    pub quadratic_trend: bool,
    /// With a given `reference_point`, every this many trials (those whose count is one past
    /// a multiple of it) the acquisition measures against the models' predicted front
    /// (`acq::predicted_front_reference`, the point the inferred rule uses) instead of the
    /// given point. A given point is usually far behind the front, so its hypervolume values
    /// the front's ends most; where the models are confidently wrong about the front's
    /// middle, every ask against it can stay away from the one region that matters (told
    /// Viennet's scoring point, one seed of ten kept 31 of its 34 asks on a ring around a
    /// dip it never found, 41.7 of 137). The tighter point's asks probe there (that seed:
    /// 136.8). Ignored by qParEGO, which measures no hypervolume; 0 never alternates (issue
    /// #17; design notes, "A given point's asks alternate with the predicted front's").
    #[serde(default = "default_given_reference_alternation")]
    pub given_reference_alternation: usize,
}

fn default_given_reference_alternation() -> usize {
    GIVEN_REFERENCE_ALTERNATION
}

/// The default of [`OptimizerConfig::given_reference_alternation`]: every sixth trial.
pub const GIVEN_REFERENCE_ALTERNATION: usize = 6;

/// The adaptive recipe's setting (`Surrogate::Adaptive`), the default.
pub(super) fn default_quadratic_trend() -> bool {
    true
}

/// The adaptive recipe's setting (`Surrogate::Adaptive`), the default.
pub(super) fn default_outcome_warp() -> bool {
    true
}

/// The adaptive recipe's setting (`Surrogate::Adaptive`), the default.
pub(super) fn default_worst_observed_mean_min_dim() -> usize {
    WORST_OBSERVED_MEAN_MIN_DIM
}

/// The default of [`OptimizerConfig::worst_observed_mean_min_dim`]: De Ath et al.'s five
/// dimensions, not a threshold fitted to issue #17's suite (which gained from the held mean
/// at four dimensions too, but lost at three when told the scoring point: Kursawe 25 ± 10 of
/// 400; design notes, "A pessimistic prior mean").
pub const WORST_OBSERVED_MEAN_MIN_DIM: usize = 5;

fn default_exploration_every() -> usize {
    EXPLORATION_EVERY
}

/// The default of [`OptimizerConfig::exploration_every`].
pub const EXPLORATION_EVERY: usize = 10;

fn default_anchor_every() -> usize {
    ANCHOR_EVERY
}

/// The default of [`OptimizerConfig::anchor_every`].
pub const ANCHOR_EVERY: usize = 10;

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
            sobol_seed: None,
            mc_samples: 128,
            raw_samples: 512,
            restarts: 10,
            gp_restarts: 3,
            prune_baseline: true,
            num_constraints: 0,
            saas: SaasOptions::default(),
            max_model_points: default_max_model_points(),
            exploration_every: default_exploration_every(),
            anchor_every: default_anchor_every(),
            outcome_warp: default_outcome_warp(),
            worst_observed_mean_min_dim: default_worst_observed_mean_min_dim(),
            quadratic_trend: default_quadratic_trend(),
            given_reference_alternation: default_given_reference_alternation(),
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
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
