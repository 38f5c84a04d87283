//! Tests of the ask/tell optimizer, by family: its state and initial design (`state`), the
//! exploration and anchor steps (`steps`), the reference rules, proposals and models of an
//! ask (`acquisition`), and the record of each ask's fits where the next fits start
//! (`model_fit`), the GP recipe (`surrogate`), and the same trials from pools of any size
//! (`threads`). The helpers below are shared.

mod acquisition;
mod model_fit;
mod state;
mod steps;
mod surrogate;
mod threads;

use super::exploration::{
    acquisition_ignores_hole, ExplorationPoint, ExplorationStep, EXPLORATION_CANDIDATES,
};
use super::*;
use crate::moo::pareto_front;
use crate::problems::{BraninCurrin, Problem};
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

/// The problem's values at `x`, negated (the optimizer maximizes).
fn evaluate(p: &dyn Problem, x: &[f64]) -> Vec<f64> {
    p.evaluate_unit(x).into_iter().map(|v| -v).collect()
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
