//! Acquisition optimization over a mixed space (integers, ordered choices, categories), in
//! the spirit of Optuna's `GPSampler` and BoTorch's `optimize_acqf_mixed`: the acquisition is
//! only ever asked about valid points of the space.
//!
//! The relaxed search of [`optimize_acquisition`](super::optimize_acquisition) moves one-hot
//! blocks and integer cells continuously and rounds at the end; the model is then queried
//! between categories (a block at (0.4, 0.35, 0.25)), where its predictions mean nothing, and
//! the maximum found there need not survive rounding. Here:
//!
//! 1. the raw samples (Sobol and local) are rounded to valid points before they are scored;
//! 2. each start alternates a bounded L-BFGS over the continuous coordinates (the discrete
//!    ones pinned; integers with more than [`RELAXED_INTEGER_VALUES`] values stay relaxed,
//!    as they are nearly continuous) with a discrete step: the best of the rounded point and
//!    its one-step neighbours (another category, the next integer or ordered value up or
//!    down; `SearchSpace::discrete_neighbours`), until a discrete step no longer improves the
//!    acquisition (at most [`MAX_ALTERNATIONS`] rounds);
//! 3. the best point over the starts is returned, already valid.

use super::optimize::{best_search, choose_starts, local_search, raw_points};
use super::{Acquisition, AcquisitionOptimizerOptions};
use crate::space::{ParameterKind, SearchSpace};
use crate::Result;

/// Integers with more values than this are searched relaxed, like floats, and rounded.
pub const RELAXED_INTEGER_VALUES: i64 = 16;

/// Rounds of continuous search and discrete step per start, at most.
pub const MAX_ALTERNATIONS: usize = 4;

/// The encoded coordinates the continuous search may move in `space`: floats, and integers
/// with more than [`RELAXED_INTEGER_VALUES`] values.
pub fn continuous_coordinates(space: &SearchSpace) -> Vec<bool> {
    let mut free = vec![false; space.dim()];
    for (i, parameter) in space.parameters().iter().enumerate() {
        let relaxed = match &parameter.kind {
            ParameterKind::Float { .. } => true,
            ParameterKind::Int { low, high, .. } => high - low + 1 > RELAXED_INTEGER_VALUES,
            ParameterKind::Ordered { .. } | ParameterKind::Categorical { .. } => false,
        };
        for c in space.encoded_range(i) {
            free[c] = relaxed;
        }
    }
    free
}

/// Maximizes `acquisition` over the valid points of `space` (see the module notes), with
/// local raw samples around `anchors`; returns the best point (valid) and its value.
/// `options.free_dimensions`, when given, further restricts the continuous coordinates.
pub fn optimize_acquisition_mixed(
    acquisition: &dyn Acquisition,
    space: &SearchSpace,
    anchors: &[Vec<f64>],
    options: &AcquisitionOptimizerOptions,
) -> Result<(Vec<f64>, f64)> {
    let (raw, sobol_count) = raw_points(space.dim(), anchors, options)?;
    let raw: Vec<Vec<f64>> = raw.iter().map(|x| space.round(x)).collect();
    let values = acquisition.evaluate_many(&raw);
    let starts = choose_starts(&values, sobol_count, options);
    let mut free = continuous_coordinates(space);
    if let Some(allowed) = &options.free_dimensions {
        for (f, a) in free.iter_mut().zip(allowed) {
            *f &= *a;
        }
    }
    // Each start's alternation, in parallel and compared in order (`best_search`).
    Ok(best_search(&starts, &raw, &values, |s| {
        alternate(acquisition, space, &free, options, &raw[s], values[s])
    }))
}

/// From `start` (valid, scoring `start_value`): local searches of the `free` coordinates
/// alternated with discrete steps, at most [`MAX_ALTERNATIONS`] times, until neither improves.
fn alternate(
    acquisition: &dyn Acquisition,
    space: &SearchSpace,
    free: &[bool],
    options: &AcquisitionOptimizerOptions,
    start: &[f64],
    start_value: f64,
) -> (Vec<f64>, f64) {
    let any_free = free.iter().any(|&f| f);
    let (mut x, mut value) = (start.to_vec(), start_value);
    for _ in 0..MAX_ALTERNATIONS {
        if any_free {
            let (searched, searched_value) = local_search(acquisition, &x, Some(free), options);
            // Relaxed integers are rounded (and scored again) before the discrete step;
            // a point rounding leaves alone keeps its value.
            let moved = space.round(&searched);
            let moved_value = if moved == searched {
                searched_value
            } else {
                acquisition.evaluate(&moved, false).0
            };
            if moved_value > value {
                (x, value) = (moved, moved_value);
            }
        }
        // The discrete step: the best of `x` and its neighbours (`x` on ties).
        let stepped = space.best_rounding(&x, |p| acquisition.evaluate(p, false).0);
        if stepped == x {
            break;
        }
        let stepped_value = acquisition.evaluate(&stepped, false).0;
        if stepped_value <= value {
            break;
        }
        (x, value) = (stepped, stepped_value);
    }
    (x, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::{ParamValue, Parameter, Scale};

    fn space() -> SearchSpace {
        SearchSpace::new(vec![
            Parameter::float("lr", 0.0, 1.0),
            Parameter::int("units", 1, 4, Scale::Linear),
            Parameter::categorical("activation", &["relu", "tanh", "gelu"]),
        ])
        .unwrap()
    }

    /// A smooth acquisition whose relaxed maximum lies between categories, while every valid
    /// point scores far less there: `f = bump(lr − target(category)) + unit bonus`, with an
    /// extra reward for one-hot blocks split between "tanh" and "gelu".
    struct Toy {
        space: SearchSpace,
    }

    impl Toy {
        fn value(&self, x: &[f64]) -> f64 {
            let block = &x[self.space.encoded_range(2)];
            let (relu, tanh, gelu) = (block[0], block[1], block[2]);
            let units = x[self.space.encoded_range(1)][0];
            let lr = x[0];
            // Valid points: gelu with lr near 0.7 and 3 units is best.
            let valid = relu * (-(lr - 0.2).powi(2) * 20.0).exp() * 0.5
                + tanh * (-(lr - 0.4).powi(2) * 20.0).exp() * 0.6
                + gelu * (-(lr - 0.7).powi(2) * 20.0).exp() * 0.8
                - (units - 0.625).powi(2);
            // A ridge only between categories (zero at every one-hot vector).
            valid + 4.0 * tanh * gelu
        }
    }

    impl Acquisition for Toy {
        fn evaluate(&self, x: &[f64], with_gradient: bool) -> (f64, Vec<f64>) {
            let v = self.value(x);
            if !with_gradient {
                return (v, Vec::new());
            }
            let h = 1e-6;
            let grad = (0..x.len())
                .map(|i| {
                    let mut y = x.to_vec();
                    y[i] += h;
                    (self.value(&y) - v) / h
                })
                .collect();
            (v, grad)
        }
    }

    /// The search returns a valid point, and the best one: enumerating every category and
    /// integer with a fine grid over the float finds nothing better.
    #[test]
    fn finds_the_best_valid_point() {
        let space = space();
        let toy = Toy {
            space: space.clone(),
        };
        let options = AcquisitionOptimizerOptions {
            raw_samples: 64,
            restarts: 4,
            seed: 3,
            ..AcquisitionOptimizerOptions::default()
        };
        let (x, value) = optimize_acquisition_mixed(&toy, &space, &[], &options).unwrap();
        assert_eq!(space.round(&x), x, "the point is valid");
        let mut brute = f64::NEG_INFINITY;
        for units in 1..=4 {
            for activation in ["relu", "tanh", "gelu"] {
                for step in 0..=1000 {
                    let point = space
                        .encode(&[
                            ParamValue::Float(step as f64 / 1000.0),
                            ParamValue::Int(units),
                            ParamValue::Text(activation.into()),
                        ])
                        .unwrap();
                    brute = brute.max(toy.value(&point));
                }
            }
        }
        assert!(value >= brute - 1e-4, "{value} against {brute}");
        let decoded = space.decode(&x);
        assert_eq!(decoded[1], ParamValue::Int(3));
        assert_eq!(decoded[2], ParamValue::Text("gelu".into()));
        // The relaxed search is drawn to the ridge between categories instead.
        let (relaxed, _) =
            super::super::optimize_acquisition(&toy, space.dim(), &[], &options).unwrap();
        let block = &relaxed[space.encoded_range(2)];
        assert!(
            block[1] > 0.2 && block[2] > 0.2,
            "relaxed maximum {relaxed:?}"
        );
    }

    #[test]
    fn only_floats_and_wide_integers_move_continuously() {
        let space = SearchSpace::new(vec![
            Parameter::float("lr", 1e-4, 1e-1),
            Parameter::int("few", 1, 16, Scale::Linear),
            Parameter::int("many", 1, 17, Scale::Linear),
            Parameter::categorical("c", &["a", "b"]),
        ])
        .unwrap();
        assert_eq!(
            continuous_coordinates(&space),
            vec![true, false, true, false, false]
        );
    }
}
