//! Tests of the ask/tell optimizer.

use super::exploration::{ExplorationStep, EXPLORATION_CANDIDATES};
use super::*;
use crate::moo::pareto_front;
use crate::sampling::{maximin_point, pareto_line_point, pareto_set_directions};
use crate::space::SearchSpace;

/// Two floats `a` and `b` on [0, 1].
fn unit_square() -> SearchSpace {
    SearchSpace::new(vec![
        crate::space::Parameter::float("a", 0.0, 1.0),
        crate::space::Parameter::float("b", 0.0, 1.0),
    ])
    .unwrap()
}

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
use crate::problems::{BraninCurrin, Problem};

fn evaluate(p: &dyn Problem, x: &[f64]) -> Vec<f64> {
    p.evaluate_unit(x).into_iter().map(|v| -v).collect()
}

/// Every 10th model-based trial (failed ones not counted) is a box exploration step (the
/// maximin point of the trials before it), and every 10th from the 5th a line step (the
/// farthest point on a coordinate line through a Pareto-optimal one) when the Pareto set
/// lies on a face, as here, unless the previous step of its kind was dominated (backing
/// off); the others come from the acquisition.
#[test]
fn every_tenth_model_based_trial_explores() {
    let space = SearchSpace::unit_cube(2).unwrap();
    let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 5);
    config.initial_points = Some(4);
    config.raw_samples = 32;
    config.restarts = 2;
    let mut opt = Optimizer::new(config).unwrap();
    let (mut in_box, mut on_lines) = (Vec::new(), Vec::new());
    for _ in 0..26 {
        let before: Vec<Vec<f64>> = opt.trials().iter().map(|t| t.x.clone()).collect();
        let anchors: Vec<Vec<f64>> = opt.pareto_trials().iter().map(|t| t.x.clone()).collect();
        let seed = opt.exploration_seed();
        let t = opt.ask(1).unwrap().remove(0);
        let maximin = maximin_point(&before, 2, EXPLORATION_CANDIDATES, seed).unwrap();
        // (With no trials before it, trial 0 is the same Sobol point either way.)
        if t.id >= 4 && t.x == maximin {
            in_box.push(t.id);
        }
        if let Some(directions) = pareto_set_directions(&anchors, &[true; 2]) {
            let line = pareto_line_point(
                &before,
                &anchors,
                &directions,
                EXPLORATION_CANDIDATES,
                seed,
                &|x: &[f64]| x.to_vec(),
            );
            if Some(&t.x) == line.unwrap().as_ref() {
                on_lines.push(t.id);
            }
        }
        // Trial 6 fails: it does not count, so every step moves one trial later.
        let outcome = if t.id == 6 {
            Err("diverged".to_string())
        } else {
            // The Pareto set is the face x₂ = 0 (x₁ trades one objective for the other).
            Ok(vec![-t.x[0] - 4.0 * t.x[1], -(1.0 - t.x[0]) - 4.0 * t.x[1]])
        };
        opt.tell(t.id, outcome).unwrap();
    }
    // The box step at 14 lands off the face, dominated by a trial on it, so the one at 24
    // backs off; the line steps stay on the face and keep their rate.
    assert_eq!((in_box, on_lines), (vec![14], vec![9, 19]));
    let mut off = OptimizerConfig::new(SearchSpace::unit_cube(2).unwrap(), 2, Method::Qnehvi, 5);
    off.exploration_every = 0;
    let opt = Optimizer::new(off).unwrap();
    assert!((0..40).all(|p| opt.exploration_step(p).is_none()));
}

/// The back-off pattern of box steps (every 10th model-based trial after 4 initial ones:
/// positions 13, 23, 33, 43, 53): a step backs off when the previous position of its kind
/// took its step (its trial's recorded proposal) and came out dominated or infeasible; a
/// backed-off step leaves an acquisition trial, so the next one steps; a step still pending,
/// or a dominated trial chosen elsewhere, never makes the next one back off.
#[test]
fn exploration_steps_back_off_after_a_dominated_step_of_their_kind() {
    let mut config = OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 5);
    config.initial_points = Some(4);
    config.num_constraints = 1;
    // The box steps taken when trial `i` is told `told(i)` (pending when `None`), every
    // trial recorded as this optimizer would have chosen it (`known(i)`: or chosen elsewhere).
    let taken = |told: &dyn Fn(usize) -> Option<Vec<f64>>, known: &dyn Fn(usize) -> bool| {
        let mut opt = Optimizer::new(config.clone()).unwrap();
        let mut steps = Vec::new();
        for i in 0..54 {
            let proposal = if opt.exploration_step(i) == Some(ExplorationStep::Box) {
                steps.push(i);
                ProposalKind::BoxExploration
            } else {
                ProposalKind::Sobol
            };
            let f = i as f64 / 54.0;
            let params = [ParamValue::Float(f), ParamValue::Float(1.0 - f)];
            let id = opt
                .observe_proposed(&params, known(i).then_some(proposal))
                .unwrap();
            if let Some(values) = told(i) {
                opt.tell(id, Ok(values)).unwrap();
            }
        }
        steps
    };
    let always = |_: usize| true;
    // Each trial trades the objectives against the ones before it: none is dominated.
    let trade = |i: usize| vec![i as f64, -(i as f64), 1.0];
    assert_eq!(taken(&|i| Some(trade(i)), &always), [13, 23, 33, 43, 53]);
    // 13 dominated (by trial 0) → 23 backs off → 33 steps; 33 infeasible → 43 backs off.
    let failing = |i: usize| match i {
        13 => Some(vec![-100.0, -100.0, 1.0]),
        33 => Some(vec![i as f64, -(i as f64), -1.0]),
        _ => Some(trade(i)),
    };
    assert_eq!(taken(&failing, &always), [13, 33, 53]);
    // 13 weakly dominated (equal to trial 12); 23's acquisition trial dominated too, but it
    // was no box step, so 33 steps.
    let equal = |i: usize| match i {
        13 => Some(trade(12)),
        23 => Some(vec![-100.0, -100.0, 1.0]),
        _ => Some(trade(i)),
    };
    assert_eq!(taken(&equal, &always), [13, 33, 43, 53]);
    // 13 still pending, or chosen elsewhere: nothing makes 23 back off (and with 33
    // infeasible, 43 still does).
    assert_eq!(
        taken(&|i| (i != 13).then(|| trade(i)), &always),
        [13, 23, 33, 43, 53]
    );
    assert_eq!(taken(&failing, &|i| i != 13), [13, 23, 33, 53]);
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

/// An optimizer on `[0, 1]` told eleven trials spread over `[0, 0.5]` of a linear trade-off
/// (maximized: `y₀ = x`, `y₁ = −x`), with anchor steps every `anchor_every`.
fn half_explored_trade_off(anchor_every: usize, reference: Option<Vec<f64>>) -> Optimizer {
    let space = SearchSpace::new(vec![crate::space::Parameter::float("a", 0.0, 1.0)]).unwrap();
    let mut config = OptimizerConfig::new(space, 2, Method::Qnehvi, 5);
    config.initial_points = Some(6);
    config.anchor_every = anchor_every;
    config.exploration_every = 0;
    config.reference_point = reference;
    let mut opt = Optimizer::new(config).unwrap();
    for i in 0..11 {
        let x = 0.05 * i as f64;
        let id = opt.observe(&[ParamValue::Float(x)]).unwrap();
        opt.tell(id, Ok(vec![x, -x])).unwrap();
    }
    opt
}

#[test]
fn an_anchor_step_reaches_past_every_observation() {
    // Trial 11 = initial (6) + every/2 (5): an anchor position. Objective 0 is best at
    // x = 1, where y₁ is predicted below every observed value: the anchor step goes there.
    let anchored = half_explored_trade_off(10, None).ask(1).unwrap().remove(0);
    // Without anchor steps the trial is qNEHVI's, measured against a reference inferred
    // from the observations (y₁ ≥ −0.55), which values nothing much past x = 0.55.
    let plain = half_explored_trade_off(0, None).ask(1).unwrap().remove(0);
    // A given reference point already values the whole trade-off: no anchor step.
    let given = half_explored_trade_off(10, Some(vec![-0.1, -1.1]))
        .ask(1)
        .unwrap()
        .remove(0);
    let given_plain = half_explored_trade_off(0, Some(vec![-0.1, -1.1]))
        .ask(1)
        .unwrap()
        .remove(0);
    assert!(anchored.x[0] > 0.8, "{:?}", anchored.x);
    assert!(plain.x[0] < 0.7, "{:?}", plain.x);
    assert_eq!(given.x, given_plain.x);
    // Not an anchor position: the same trial with or without anchor steps.
    let mut early = half_explored_trade_off(10, None);
    early.config.anchor_every = 4; // position 11 = 6 + 5: phase 1, not 4/2
    let mut early_plain = half_explored_trade_off(0, None);
    assert_eq!(early.ask(1).unwrap()[0].x, early_plain.ask(1).unwrap()[0].x);
}

/// The reference rule and point of the single trial an ask of `opt` proposes.
fn acquisition_reference(opt: &mut Optimizer) -> (Option<ReferenceRule>, Option<Vec<f64>>) {
    opt.ask(1).unwrap();
    match &opt.last_proposals()[0].kind {
        ProposalKind::Acquisition {
            rule, reference, ..
        } => (*rule, reference.clone()),
        other => panic!("expected the acquisition's trial, got {other:?}"),
    }
}

#[test]
fn a_given_reference_nothing_reaches_yields_to_the_inferred_one() {
    // The observations reach y₀ = 0.5 and y₁ = −0.5. A point every observation but the
    // first beats is used as given.
    let reachable = vec![-0.1, -1.1];
    let (rule, used) =
        acquisition_reference(&mut half_explored_trade_off(0, Some(reachable.clone())));
    assert_eq!(rule, Some(ReferenceRule::Given));
    assert_eq!(used, Some(reachable));
    // No observation beats (0.6, −1.1) yet, but the models put y₀ past 0.6 at x > 0.6 with
    // some probability: the acquisition is positive there, and the point is kept.
    let within_reach = vec![0.6, -1.1];
    let (rule, used) =
        acquisition_reference(&mut half_explored_trade_off(0, Some(within_reach.clone())));
    assert_eq!(rule, Some(ReferenceRule::Given));
    assert_eq!(used, Some(within_reach));
    // y₀ = 5 is many posterior deviations past anything the models predict on [0, 1]: no
    // sample improves on (5, −1.1) anywhere, so the trial measures against an inferred
    // point, which the observed front beats.
    let (rule, used) =
        acquisition_reference(&mut half_explored_trade_off(0, Some(vec![5.0, -1.1])));
    assert!(
        matches!(
            rule,
            Some(ReferenceRule::PredictedFront | ReferenceRule::Loose)
        ),
        "{rule:?}"
    );
    let used = used.unwrap();
    assert!(used[0] < 0.05 && used[1] < -0.45, "{used:?}");
}

/// A box step is taken where the models claim to know the hole and left to the acquisition
/// where they do not: the same trials and hole, conditioned once with lengthscales that span
/// the box (the hole's variance a few per cent of the prior's) and once with lengthscales of
/// a hundredth of it (Fonseca–Fleming's situation: the prior's variance everywhere but at
/// the trials).
#[test]
fn a_box_step_needs_models_that_claim_to_know_the_hole() {
    use crate::gp::{ExactGp, Hyperparameters};
    let mut config = OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 3);
    config.initial_points = Some(8);
    let mut opt = Optimizer::new(config).unwrap();
    let mut x = Vec::new();
    for t in opt.ask(8).unwrap() {
        x.push(t.x.clone());
        opt.tell(t.id, Ok(vec![-t.x[0], t.x[0] - t.x[1]])).unwrap();
    }
    let models_with = |lengthscale: f64| -> crate::acq::ModelEnsemble {
        let gp = |j: usize| {
            let y: Vec<f64> = x
                .iter()
                .map(|p| if j == 0 { -p[0] } else { p[0] - p[1] })
                .collect();
            let hyper = Hyperparameters {
                lengthscales: vec![lengthscale; 2],
                outputscale: 1.0,
                noise: 1e-4,
                mean: 0.0,
            };
            ExactGp::condition(&x, &y, hyper).unwrap()
        };
        vec![vec![gp(0), gp(1)]]
    };
    let hole = maximin_point(&x, 2, EXPLORATION_CANDIDATES, opt.exploration_seed()).unwrap();
    let step = ExplorationStep::Box;
    let sure = opt.exploration_point(&step, &models_with(1.0)).unwrap();
    assert_eq!(sure, Some(hole));
    let unsure = opt.exploration_point(&step, &models_with(0.01)).unwrap();
    assert_eq!(unsure, None);
}

/// Every trial of an ask says which rule chose it: Sobol points for the initial design, an
/// anchor step where one is taken, and otherwise the acquisition with its reference rule
/// (the loose one when the trial's number is a multiple of three, the user's when given).
#[test]
fn every_trial_of_an_ask_says_how_it_was_chosen() {
    let mut fresh =
        Optimizer::new(OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 1)).unwrap();
    let asked = fresh.ask(3).unwrap();
    let sobol: Vec<Proposal> = asked
        .iter()
        .map(|t| Proposal {
            trial: t.id,
            kind: ProposalKind::Sobol,
        })
        .collect();
    assert_eq!(fresh.last_proposals(), sobol.as_slice());

    let mut anchored = half_explored_trade_off(10, None);
    let trial = anchored.ask(1).unwrap().remove(0);
    assert_eq!(
        anchored.last_proposals(),
        [Proposal {
            trial: 11,
            kind: ProposalKind::Anchor { objective: 0 }
        }]
        .as_slice()
    );
    assert_eq!(trial.id, 11);

    let mut plain = half_explored_trade_off(0, None);
    let rules: Vec<Option<ReferenceRule>> = (11..14)
        .map(|id| {
            let trial = plain.ask(1).unwrap().remove(0);
            assert_eq!(trial.id, id);
            let [proposal] = plain.last_proposals() else {
                panic!("one proposal per trial: {:?}", plain.last_proposals());
            };
            assert_eq!(proposal.trial, id);
            let ProposalKind::Acquisition {
                rule,
                reference,
                value,
            } = &proposal.kind
            else {
                panic!("trial {id} is the acquisition's: {proposal:?}");
            };
            assert!(value.is_some_and(|v| v >= 0.0), "qNEHVI {value:?}");
            assert_eq!(reference.as_ref().map(Vec::len), Some(2));
            let rule = *rule;
            let x = trial.x[0];
            plain.tell(id, Ok(vec![x, -x])).unwrap();
            rule
        })
        .collect();
    assert_eq!(
        rules,
        [
            Some(ReferenceRule::PredictedFront),
            Some(ReferenceRule::Loose),
            Some(ReferenceRule::PredictedFront)
        ]
    );
    // The record survives a round trip through the optimizer's JSON, as its timing does.
    let restored: Optimizer =
        serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
    assert_eq!(restored.last_proposals(), plain.last_proposals());

    let mut given = half_explored_trade_off(10, Some(vec![-0.1, -1.1]));
    given.ask(1).unwrap();
    match &given.last_proposals()[0].kind {
        ProposalKind::Acquisition {
            rule, reference, ..
        } => {
            assert_eq!(*rule, Some(ReferenceRule::Given));
            assert_eq!(reference.as_deref(), Some([-0.1, -1.1].as_slice()));
        }
        other => panic!("a given reference point takes no anchor step: {other:?}"),
    }
    // qParEGO scalarizes instead of measuring hypervolume: told a point, it uses it only to
    // prune the baseline, and its trials record no rule.
    let mut parego = half_explored_trade_off(10, Some(vec![-0.1, -1.1]));
    parego.config.method = Method::Qparego;
    parego.ask(1).unwrap();
    assert!(
        matches!(
            &parego.last_proposals()[0].kind,
            ProposalKind::Acquisition {
                rule: None,
                reference: None,
                ..
            }
        ),
        "{:?}",
        parego.last_proposals()
    );
}

/// Loose asks stop once the latest trial a loose ask chose came back with objective values
/// exactly equal to an earlier trial's (`Optimizer::loose_asks_stopped`). Six trials told,
/// trial 3 recorded as a loose ask: the ask at trial 6 (a loose position, every third) keeps
/// the loose rule unless trial 3 repeated an earlier outcome exactly.
#[test]
fn loose_asks_stop_after_re_measuring_a_known_outcome() {
    let loose = ProposalKind::Acquisition {
        rule: Some(ReferenceRule::Loose),
        reference: None,
        value: None,
    };
    let predicted = ProposalKind::Acquisition {
        rule: Some(ReferenceRule::PredictedFront),
        reference: None,
        value: None,
    };
    // The rule of the ask after six trials, trial 3 told `third` and recorded as `kind`.
    let rule_after = |third: Vec<f64>, kind: &ProposalKind| {
        let mut config = OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 5);
        config.initial_points = Some(3);
        config.exploration_every = 0;
        config.anchor_every = 0;
        let mut opt = Optimizer::new(config).unwrap();
        for i in 0..6 {
            let f = 0.1 + 0.15 * i as f64;
            let params = [ParamValue::Float(f), ParamValue::Float(0.3)];
            let proposal = if i == 3 {
                kind.clone()
            } else {
                ProposalKind::Sobol
            };
            let id = opt.observe_proposed(&params, Some(proposal)).unwrap();
            let values = if i == 3 {
                third.clone()
            } else {
                vec![f, -f * f]
            };
            opt.tell(id, Ok(values)).unwrap();
        }
        assert_eq!(
            opt.trials.len() % super::reference::LOOSE_REFERENCE_EVERY,
            0
        );
        acquisition_reference(&mut opt).0
    };
    let trial_1 = vec![0.25, -0.0625];
    // A new outcome: the loose asks go on.
    assert_eq!(
        rule_after(vec![0.55, -0.2], &loose),
        Some(ReferenceRule::Loose)
    );
    // Trial 1's outcome measured again by a loose ask: they stop.
    assert_eq!(
        rule_after(trial_1.clone(), &loose),
        Some(ReferenceRule::PredictedFront)
    );
    // The same repeat chosen by another rule, or a value that differs in the last digits
    // (as a noisy objective's would): the loose asks go on.
    assert_eq!(
        rule_after(trial_1.clone(), &predicted),
        Some(ReferenceRule::Loose)
    );
    assert_eq!(
        rule_after(vec![0.25 + 1e-12, -0.0625], &loose),
        Some(ReferenceRule::Loose)
    );
}

/// A config stored before `worst_observed_mean_min_dim` existed (a study's saved optimizer)
/// loads with the field's default, and a stored value is kept.
#[test]
fn configs_without_the_mean_setting_load_with_the_default() {
    let config = OptimizerConfig::new(unit_square(), 2, Method::Qnehvi, 5);
    assert_eq!(config.worst_observed_mean_min_dim, 5);
    let mut stored = serde_json::to_value(&config).unwrap();
    stored
        .as_object_mut()
        .unwrap()
        .remove("worst_observed_mean_min_dim")
        .unwrap();
    let loaded: OptimizerConfig = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(loaded.worst_observed_mean_min_dim, 5);
    stored["worst_observed_mean_min_dim"] = serde_json::json!(0);
    let loaded: OptimizerConfig = serde_json::from_value(stored).unwrap();
    assert_eq!(loaded.worst_observed_mean_min_dim, 0);
}

/// The next model-based trial of DTLZ2 after 14 design points, with the mean held from
/// `min_dim` dimensions on (0: always; `usize::MAX`: never).
fn dtlz2_next_trial(dim: usize, min_dim: usize) -> Vec<f64> {
    let problem = crate::problems::Dtlz::new(crate::problems::DtlzVariant::Dtlz2, dim, 2).unwrap();
    let mut config =
        OptimizerConfig::new(SearchSpace::unit_cube(dim).unwrap(), 2, Method::Qnehvi, 3);
    config.initial_points = Some(14);
    config.worst_observed_mean_min_dim = min_dim;
    let mut opt = Optimizer::new(config).unwrap();
    for _ in 0..14 {
        let t = opt.ask(1).unwrap().remove(0);
        opt.tell(t.id, Ok(evaluate(&problem, &t.x))).unwrap();
    }
    opt.ask(1).unwrap().remove(0).x
}

/// The pessimistic mean is used from `worst_observed_mean_min_dim` encoded dimensions on:
/// below the default five (three here) an ask is the fitted mean's to the last digit, at five
/// it is not (the two fits differ, so does the acquisition's maximum), and a threshold of 0
/// turns it on in three dimensions too.
#[test]
fn the_pessimistic_mean_starts_at_its_dimension_threshold() {
    let fitted_in_three = dtlz2_next_trial(3, usize::MAX);
    assert_eq!(dtlz2_next_trial(3, 5), fitted_in_three);
    assert_ne!(dtlz2_next_trial(3, 0), fitted_in_three);
    assert_ne!(dtlz2_next_trial(5, 5), dtlz2_next_trial(5, usize::MAX));
}
