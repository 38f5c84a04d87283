//! The record of each ask's GP hyperparameters on its trials (`Trial::model_fit`) and the
//! fits of one start that begin from it.

use super::*;

/// An optimizer on the unit square told `n` trials of a two-objective trade-off, modelled on
/// a subset of 16 (so every fit takes one start).
fn long_history(n: usize) -> Optimizer {
    let mut config = OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 3);
    config.max_model_points = 16;
    config.raw_samples = 64;
    config.restarts = 2;
    config.mc_samples = 32;
    let mut opt = Optimizer::new(config).unwrap();
    for t in opt.ask(n).unwrap() {
        let values = vec![t.x[0], 1.0 - t.x[0] * t.x[1]];
        opt.tell(t.id, Ok(values)).unwrap();
    }
    opt
}

fn hyperparameters(lengthscales: Vec<f64>, noise: f64) -> Hyperparameters {
    Hyperparameters {
        lengthscales,
        outputscale: 1.5,
        noise,
        mean: 0.25,
    }
}

#[test]
fn a_model_based_ask_records_each_outcomes_fit_on_its_trials() {
    let mut opt = long_history(30);
    assert!(
        opt.trials().iter().all(|t| t.model_fit.is_none()),
        "Sobol trials record no fit"
    );
    let asked = opt.ask(2).unwrap();
    for trial in &asked {
        let fit = trial
            .model_fit
            .as_ref()
            .expect("a model-based trial records its fit");
        assert_eq!(fit.len(), 2, "one entry per objective");
        assert!(fit.iter().all(|h| h.lengthscales.len() == 2));
        assert_eq!(opt.trials()[trial.id].model_fit.as_ref(), Some(fit));
    }
    // The next ask's fits start from it.
    assert_eq!(opt.fit_starts(2), asked[1].model_fit);
}

/// The newest record that fits the space and the outcomes is the start; one with another
/// count of outcomes or lengthscales, or a value that is no positive finite number, is
/// passed over; without any, the fits start from the prior medians.
#[test]
fn the_start_is_the_newest_record_that_fits() {
    let mut opt = long_history(30);
    assert_eq!(opt.fit_starts(2), None);
    let good = vec![
        hyperparameters(vec![0.3, 0.4], 0.01),
        hyperparameters(vec![0.5, 0.6], 0.02),
    ];
    let newer_good = vec![
        hyperparameters(vec![0.2, 0.4], 0.01),
        hyperparameters(vec![0.5, 0.7], 0.02),
    ];
    let bad = [
        vec![hyperparameters(vec![0.3, 0.4], 0.01)],
        vec![
            hyperparameters(vec![0.3], 0.01),
            hyperparameters(vec![0.5, 0.6], 0.02),
        ],
        vec![
            hyperparameters(vec![0.3, f64::NAN], 0.01),
            hyperparameters(vec![0.5, 0.6], 0.02),
        ],
        vec![
            hyperparameters(vec![0.3, 0.4], -1.0),
            hyperparameters(vec![0.5, 0.6], 0.02),
        ],
    ];
    opt.trials[3].model_fit = Some(good.clone());
    assert_eq!(opt.fit_starts(2), Some(good.clone()));
    opt.trials[5].model_fit = Some(newer_good.clone());
    assert_eq!(opt.fit_starts(2), Some(newer_good.clone()));
    for (k, record) in bad.iter().enumerate() {
        opt.trials[10 + k].model_fit = Some(record.clone());
        assert_eq!(opt.fit_starts(2), Some(newer_good.clone()), "record {k}");
    }
}

/// An optimizer rebuilt from its trials with their records (`observe_chosen`, as the Optuna
/// sampler does at every trial) asks exactly what the original asks; one rebuilt without
/// them starts its fits from the prior medians, and asks a point of its own.
#[test]
fn a_rebuilt_optimizer_with_the_records_asks_the_same() {
    let mut opt = long_history(30);
    for t in opt.ask(1).unwrap() {
        opt.tell(t.id, Ok(vec![t.x[0], 1.0 - t.x[0] * t.x[1]]))
            .unwrap();
    }
    let rebuild = |records: bool| {
        let mut copy = Optimizer::new(opt.config().clone()).unwrap();
        for t in opt.trials() {
            let fit = if records { t.model_fit.clone() } else { None };
            let id = copy
                .observe_chosen(&t.params, t.proposal.clone(), fit)
                .unwrap();
            if let TrialState::Complete { values } = &t.state {
                copy.tell(id, Ok(values.clone())).unwrap();
            }
        }
        copy
    };
    let asked = opt.clone().ask(1).unwrap();
    assert_eq!(rebuild(true).ask(1).unwrap()[0].x, asked[0].x);
    let cold = rebuild(false).ask(1).unwrap();
    assert_ne!(
        cold[0].model_fit, asked[0].model_fit,
        "the fits started elsewhere"
    );
}

/// A trial stored before the record existed loads without one, and a record round-trips.
#[test]
fn trials_without_the_record_load_and_records_round_trip() {
    let mut opt = long_history(30);
    let asked = opt.ask(1).unwrap().remove(0);
    let json = serde_json::to_value(&asked).unwrap();
    let back: Trial = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, asked);
    let mut old = json;
    old.as_object_mut().unwrap().remove("model_fit").unwrap();
    let back: Trial = serde_json::from_value(old).unwrap();
    assert_eq!(back.model_fit, None);
    assert_eq!(back.x, asked.x);
}
