//! The optimizer's state: its initial design, rebuilding and resuming, long histories,
//! failures and retries, discrete spaces, stored configs.

use super::*;

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
fn a_fixed_sobol_seed_keeps_one_stratified_design_when_the_seed_moves() {
    // Rebuilt at every trial with a seed that moves with the trial (as `QfrontSampler`
    // does), the initial design must still be the first points of one scrambled sequence:
    // 16 points of a 2-D Sobol sequence put one point in each cell of the 4 × 4 grid (a
    // (0, 4, 2)-net), which 16 independent uniform points do with probability 16!/16¹⁶ ≈ 1.1e-6.
    let design = |fixed: bool| -> Vec<Vec<f64>> {
        let mut points: Vec<Vec<f64>> = Vec::new();
        for k in 0..16u64 {
            let mut config = OptimizerConfig::new(unit_square(), 1, Method::Qnehvi, 40 + k);
            config.initial_points = Some(16);
            config.sobol_seed = fixed.then_some(40);
            let mut rebuilt = Optimizer::new(config).unwrap();
            for x in &points {
                let params = [ParamValue::Float(x[0]), ParamValue::Float(x[1])];
                let id = rebuilt.observe(&params).unwrap();
                rebuilt.tell(id, Ok(vec![x[0]])).unwrap();
            }
            points.push(rebuilt.ask(1).unwrap().remove(0).x);
        }
        points
    };
    let cells = |points: &[Vec<f64>]| -> usize {
        let mut seen = std::collections::HashSet::new();
        for x in points {
            seen.insert(((x[0] * 4.0) as usize, (x[1] * 4.0) as usize));
        }
        seen.len()
    };
    let fixed = design(true);
    assert_eq!(cells(&fixed), 16);
    // Without it, point k of a different scramble at every trial: no stratification.
    assert!(cells(&design(false)) < 16);
    // The stream is the one an optimizer seeded 40 draws in one go.
    let mut config = OptimizerConfig::new(unit_square(), 1, Method::Sobol, 40);
    config.initial_points = Some(16);
    let whole: Vec<Vec<f64>> = Optimizer::new(config)
        .unwrap()
        .ask(16)
        .unwrap()
        .into_iter()
        .map(|t| t.x)
        .collect();
    assert_eq!(fixed, whole);
}

#[test]
fn a_long_history_is_modelled_on_a_subset() {
    let space = unit_square();
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
    let space = unit_square();
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
    let sobol: Vec<Proposal> = (3..5)
        .map(|trial| Proposal {
            trial,
            kind: ProposalKind::Sobol,
        })
        .collect();
    assert_eq!(opt.last_proposals(), sobol.as_slice());
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

/// A config stored before `worst_observed_mean_min_dim` and `quadratic_trend` existed (a
/// study's saved optimizer) loads with the fields' defaults, and a stored value is kept.
#[test]
fn configs_without_the_mean_setting_load_with_the_default() {
    let config = OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 5);
    assert_eq!(config.worst_observed_mean_min_dim, 5);
    assert!(config.quadratic_trend);
    let mut stored = serde_json::to_value(&config).unwrap();
    for field in ["worst_observed_mean_min_dim", "quadratic_trend"] {
        stored.as_object_mut().unwrap().remove(field).unwrap();
    }
    let loaded: OptimizerConfig = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(loaded.worst_observed_mean_min_dim, 5);
    assert!(loaded.quadratic_trend);
    stored["worst_observed_mean_min_dim"] = serde_json::json!(0);
    let loaded: OptimizerConfig = serde_json::from_value(stored).unwrap();
    assert_eq!(loaded.worst_observed_mean_min_dim, 0);
}
