//! The optimization benchmark behind `qfront bench mobo`: run a method on a test problem for
//! a budget of evaluations and report the hypervolume after every evaluation and the time of
//! every iteration, as the peers' scripts (`shared/bench/peers/bench.py`) do for BoTorch.

use crate::moo::hypervolume;
use crate::problems::Problem;
use crate::space::SearchSpace;
use crate::{BoError, Method, Optimizer, OptimizerConfig, Result};
use serde::Serialize;
use std::time::Instant;

/// Settings of one benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkSettings {
    /// Method.
    pub method: Method,
    /// Total evaluations, the initial design included.
    pub budget: usize,
    /// Seed.
    pub seed: u64,
    /// Points per iteration after the initial design.
    pub batch_size: usize,
    /// Initial Sobol points (`None`: `2(d + 1)`).
    pub initial_points: Option<usize>,
    /// qNEHVI Monte-Carlo samples.
    pub mc_samples: usize,
    /// Acquisition raw samples.
    pub raw_samples: usize,
    /// Acquisition restarts.
    pub restarts: usize,
    /// NUTS settings of `qnehvi-saas`.
    pub saas: crate::gp::SaasOptions,
}

/// One event of a run, as a JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum BenchmarkEvent {
    /// After each evaluation.
    Evaluation {
        /// Evaluations so far.
        evaluation: usize,
        /// Hypervolume of the observed points.
        hypervolume: f64,
        /// `log10(max_hv − hv)`, when the maximal hypervolume is known.
        log10_hv_regret: Option<f64>,
    },
    /// After each model-based iteration.
    Iteration {
        /// Iteration (1-based, counting initial design as iteration 0).
        iteration: usize,
        /// Evaluations after it.
        evaluations: usize,
        /// Seconds fitting the models.
        fit_seconds: f64,
        /// Seconds building and optimizing the acquisition.
        acquisition_seconds: f64,
        /// Wall seconds of the whole iteration (ask, evaluate, tell).
        seconds: f64,
    },
}

/// The last record of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkSummary {
    /// Problem name.
    pub problem: String,
    /// Method name.
    pub method: String,
    /// Seed.
    pub seed: u64,
    /// Evaluations made.
    pub evaluations: usize,
    /// Final hypervolume.
    pub final_hv: f64,
    /// Final `log10(max_hv − hv)`.
    pub log10_hv_regret: Option<f64>,
    /// Median seconds per model-based iteration (0 for Sobol, which has none).
    pub median_iter_seconds: f64,
    /// Median fit seconds per iteration.
    pub median_fit_seconds: f64,
    /// Median acquisition seconds per iteration.
    pub median_acquisition_seconds: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Runs `settings.method` on `problem`, calling `on_event` as it goes.
pub fn run_benchmark(
    problem: &dyn Problem,
    settings: &BenchmarkSettings,
    mut on_event: impl FnMut(&BenchmarkEvent),
) -> Result<BenchmarkSummary> {
    if settings.budget == 0 || settings.batch_size == 0 {
        return Err(BoError::input(
            "benchmark",
            "budget and batch size must be positive",
        ));
    }
    let reference: Vec<f64> = problem.reference_point().iter().map(|v| -v).collect();
    let mut config = OptimizerConfig::new(
        SearchSpace::unit_cube(problem.dim())?,
        problem.num_objectives(),
        settings.method,
        settings.seed,
    );
    config.reference_point = Some(reference.clone());
    config.num_constraints = problem.num_constraints();
    config.initial_points = settings.initial_points;
    config.mc_samples = settings.mc_samples;
    config.raw_samples = settings.raw_samples;
    config.restarts = settings.restarts;
    config.saas = settings.saas;
    let initial = config.initial_design().min(settings.budget);
    let mut optimizer = Optimizer::new(config)?;
    let mut observed: Vec<Vec<f64>> = Vec::new();
    let max_hv = problem.max_hypervolume();
    let regret = |hv: f64| max_hv.map(|m| (m - hv).max(1e-12).log10());
    let (mut iter_seconds, mut fit_seconds, mut acq_seconds) = (Vec::new(), Vec::new(), Vec::new());
    let mut iteration = 0;
    let mut hv = 0.0;
    let mut evaluations = 0;
    while evaluations < settings.budget {
        let n = if evaluations < initial {
            initial - evaluations
        } else {
            settings.batch_size.min(settings.budget - evaluations)
        };
        let model_based = evaluations >= initial && settings.method != Method::Sobol;
        let started = Instant::now();
        let trials = optimizer.ask(n)?;
        for t in &trials {
            let objectives: Vec<f64> = problem.evaluate_unit(&t.x).iter().map(|v| -v).collect();
            let slacks = problem.constraint_slacks(&problem.unit_to_bounds(&t.x));
            let feasible = slacks.iter().all(|s| *s >= 0.0);
            optimizer.tell(t.id, Ok([objectives.clone(), slacks].concat()))?;
            evaluations += 1;
            // Only feasible points count towards the hypervolume.
            if feasible {
                observed.push(objectives);
            }
            hv = hypervolume(&observed, &reference)?;
            on_event(&BenchmarkEvent::Evaluation {
                evaluation: evaluations,
                hypervolume: hv,
                log10_hv_regret: regret(hv),
            });
        }
        if model_based {
            iteration += 1;
            let timing = optimizer.last_timing();
            let seconds = started.elapsed().as_secs_f64();
            iter_seconds.push(seconds);
            fit_seconds.push(timing.fit_seconds);
            acq_seconds.push(timing.acquisition_seconds);
            on_event(&BenchmarkEvent::Iteration {
                iteration,
                evaluations,
                fit_seconds: timing.fit_seconds,
                acquisition_seconds: timing.acquisition_seconds,
                seconds,
            });
        }
    }
    Ok(BenchmarkSummary {
        problem: problem.name(),
        method: settings.method.name().to_string(),
        seed: settings.seed,
        evaluations,
        final_hv: hv,
        log10_hv_regret: regret(hv),
        median_iter_seconds: median(iter_seconds),
        median_fit_seconds: median(fit_seconds),
        median_acquisition_seconds: median(acq_seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::BraninCurrin;

    #[test]
    fn qnehvi_beats_sobol_on_branin_currin() {
        let settings = |method| BenchmarkSettings {
            method,
            budget: 20,
            seed: 1,
            batch_size: 1,
            initial_points: None,
            mc_samples: 64,
            raw_samples: 128,
            restarts: 4,
            saas: Default::default(),
        };
        let mut hvs = Vec::new();
        let sobol = run_benchmark(&BraninCurrin, &settings(Method::Sobol), |_| {}).unwrap();
        let qnehvi = run_benchmark(&BraninCurrin, &settings(Method::Qnehvi), |e| {
            if let BenchmarkEvent::Evaluation { hypervolume, .. } = e {
                hvs.push(*hypervolume);
            }
        })
        .unwrap();
        assert_eq!(qnehvi.evaluations, 20);
        // Hypervolume never decreases.
        assert!(hvs.windows(2).all(|w| w[1] >= w[0]));
        assert!(
            qnehvi.final_hv > sobol.final_hv + 5.0,
            "{qnehvi:?} vs {sobol:?}"
        );
        assert!(qnehvi.median_iter_seconds > 0.0);
    }

    #[test]
    fn saas_qnehvi_runs_end_to_end_and_beats_sobol() {
        let settings = |method| BenchmarkSettings {
            method,
            budget: 14,
            seed: 3,
            batch_size: 2,
            initial_points: None,
            mc_samples: 32,
            raw_samples: 64,
            restarts: 2,
            saas: crate::gp::SaasOptions {
                warmup: 64,
                samples: 32,
                thinning: 8,
                ..Default::default()
            },
        };
        let sobol = run_benchmark(&BraninCurrin, &settings(Method::Sobol), |_| {}).unwrap();
        let saas = run_benchmark(&BraninCurrin, &settings(Method::QnehviSaas), |_| {}).unwrap();
        assert_eq!(saas.evaluations, 14);
        assert!(saas.median_fit_seconds > 0.0);
        assert!(saas.final_hv > sobol.final_hv, "{saas:?} vs {sobol:?}");
    }

    #[test]
    fn constrained_qnehvi_and_qparego_beat_sobol() {
        use crate::problems::ConstrainedBraninCurrin;
        let settings = |method| BenchmarkSettings {
            method,
            budget: 20,
            seed: 2,
            batch_size: 2,
            initial_points: None,
            mc_samples: 64,
            raw_samples: 128,
            restarts: 4,
            saas: Default::default(),
        };
        let sobol =
            run_benchmark(&ConstrainedBraninCurrin, &settings(Method::Sobol), |_| {}).unwrap();
        for method in [Method::Qnehvi, Method::Qparego] {
            let run = run_benchmark(&ConstrainedBraninCurrin, &settings(method), |_| {}).unwrap();
            assert_eq!(run.evaluations, 20);
            assert!(
                run.final_hv > sobol.final_hv,
                "{method:?}: {run:?} vs {sobol:?}"
            );
        }
    }
}
