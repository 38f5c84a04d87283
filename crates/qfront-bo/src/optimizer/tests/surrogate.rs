//! The GP recipe of an ask (`Surrogate`): the names, what each recipe sets, and that the
//! plain recipe fits the constant mean the adaptive one holds at the worst observation.

use super::*;

#[test]
fn the_surrogate_names_parse_and_a_wrong_one_lists_the_choices() {
    for name in Surrogate::NAMES {
        assert_eq!(Surrogate::from_name(name).unwrap().name(), name);
    }
    let message = Surrogate::from_name("botorch").unwrap_err().to_string();
    assert!(
        message.contains("'botorch'") && message.contains("adaptive, plain"),
        "{message}"
    );
}

#[test]
fn the_default_configuration_is_the_adaptive_recipe_and_plain_turns_its_rules_off() {
    let fresh = OptimizerConfig::new(SearchSpace::unit_cube(5).unwrap(), 2, Method::Qnehvi, 1);
    let mut config = fresh.clone();
    Surrogate::Adaptive.apply(&mut config);
    assert_eq!(config, fresh, "the defaults are the adaptive recipe");
    Surrogate::Plain.apply(&mut config);
    assert!(!config.outcome_warp && !config.quadratic_trend);
    assert_eq!(config.worst_observed_mean_min_dim, usize::MAX);
    Surrogate::Adaptive.apply(&mut config);
    assert_eq!(config, fresh, "and adaptive restores them");
}

/// The recorded constant mean of each objective's GP after twelve Sobol trials of two bowls
/// in five dimensions (maximized), and each objective's worst value standardized as the GP
/// standardizes it (mean 0, sample standard deviation 1).
fn recorded_means(surrogate: Surrogate, hold_mean: bool) -> (Vec<f64>, Vec<f64>) {
    let mut config = OptimizerConfig::new(SearchSpace::unit_cube(5).unwrap(), 2, Method::Qnehvi, 7);
    config.raw_samples = 64;
    config.restarts = 2;
    config.mc_samples = 32;
    surrogate.apply(&mut config);
    if hold_mean {
        config.worst_observed_mean_min_dim = WORST_OBSERVED_MEAN_MIN_DIM;
    }
    let mut opt = Optimizer::new(config).unwrap();
    let bowl = |x: &[f64], centre: f64| -x.iter().map(|v| (v - centre).powi(2)).sum::<f64>();
    let mut values: Vec<Vec<f64>> = vec![];
    for t in opt.ask(12).unwrap() {
        let y = vec![bowl(&t.x, 0.3), bowl(&t.x, 0.7)];
        values.push(y.clone());
        opt.tell(t.id, Ok(y)).unwrap();
    }
    let asked = opt.ask(1).unwrap();
    let fit = asked[0]
        .model_fit
        .clone()
        .expect("a model-based trial records its fit");
    let worst_standardized = (0..2)
        .map(|j| {
            let column: Vec<f64> = values.iter().map(|v| v[j]).collect();
            let n = column.len() as f64;
            let mean = column.iter().sum::<f64>() / n;
            let sd = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            (column.iter().copied().fold(f64::INFINITY, f64::min) - mean) / sd
        })
        .collect();
    (fit.iter().map(|h| h.mean).collect(), worst_standardized)
}

#[test]
fn the_plain_recipe_fits_the_mean_that_the_adaptive_one_holds_at_the_worst() {
    // Plain, but with the held mean put back: the trend and the warp stay off, so the
    // recorded mean is in the standardized frame and sits exactly at the worst value.
    let (held, worst) = recorded_means(Surrogate::Plain, true);
    for (mu, w) in held.iter().zip(&worst) {
        assert!((mu - w).abs() < 1e-9, "held mean {mu} vs worst {w}");
    }
    // Plain: fitted, well above the worst (the bowls' values crowd near their mean).
    let (fitted, worst) = recorded_means(Surrogate::Plain, false);
    for (mu, w) in fitted.iter().zip(&worst) {
        assert!(*mu > w + 0.3, "fitted mean {mu} vs worst {w}");
    }
}
