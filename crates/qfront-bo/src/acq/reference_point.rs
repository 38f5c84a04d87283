//! The reference point an acquisition measures hypervolume against when the user gives none:
//! BoTorch's rule ([`crate::moo::infer_reference_point`], nadir − 10% of the range) applied
//! to the Pareto front the **models predict** over the observed points and a Sobol sample
//! of the space, rather than to the values observed.
//!
//! Why the predicted front (design notes, "The MOBO engine on problems it has never seen"):
//! * the observed front's nadir is too tight early on: a part of the front not yet sampled
//!   (Viennet's corner near the origin, DTLZ7's second segment) lies beyond it and scores
//!   zero improvement, so it is never proposed;
//! * every observed point's worst value (Optuna's `GPSampler`, BoTorch's optuna
//!   integration) is too loose: it rewards weakly Pareto-optimal extremes (DTLZ2's faces
//!   `x₁ ∈ {0, 1}`, where one objective is 0 whatever the others cost) and noisy values that
//!   are non-dominated by chance, so the search chases them;
//! * the predicted front covers the whole space (where the model believes a trade-off exists
//!   it is on that front, explored or not) and is denoised, and an extreme observed with a
//!   poor trade-off is dominated there by a predicted point that reaches the same extreme at
//!   a better cost. This is Ax's idea (`infer_objective_thresholds` uses the model's
//!   predictions at the observed points) extended to unexplored points.

use super::ModelEnsemble;
use crate::moo::{infer_reference_point, pareto_front};
use crate::sampling::SobolSampler;
use crate::space::SearchSpace;
use crate::Result;
use rayon::prelude::*;

/// Sobol points at which the models' front is predicted (besides the observed points).
pub const REFERENCE_CANDIDATES: usize = 1024;

/// The posterior quantile each objective is predicted at, `μ + β·σ` with β = 2 (maximization):
/// optimistic, so a region the models are unsure of (a disconnected segment not yet seen)
/// can still extend the front. Measured against β = 0 and 1 (design notes).
pub const REFERENCE_QUANTILE: f64 = 2.0;

/// The fraction of the predicted front's range within which an extreme's lead counts as
/// marginal (ε-dominance, see `predicted_front_reference`); 0.1 measured worse (design notes).
pub const MARGINAL_FRACTION: f64 = 0.05;

/// The reference point (maximization): BoTorch's rule (nadir − 10% of the range) on the
/// front of the models' optimistic predictions ([`REFERENCE_QUANTILE`]) over `observed` and
/// [`REFERENCE_CANDIDATES`] Sobol points of `space` (rounded to valid points), after dropping
/// its marginal extremes ([`MARGINAL_FRACTION`]). `models[s][j]` is member `s`'s GP of
/// outcome `j`; predictions are the members' median. Outcomes past the first `objectives`
/// are constraint slacks: a point whose predicted slacks are not all ≥ 0 is left out (all
/// points are kept when none is predicted feasible). The result is never looser than
/// `loosest` (the all-points rule) in any objective, so an extrapolation cannot push it past
/// every observation.
pub fn predicted_front_reference(
    models: &ModelEnsemble,
    observed: &[Vec<f64>],
    observed_values: &[Vec<f64>],
    space: &SearchSpace,
    objectives: usize,
    loosest: &[f64],
    seed: u64,
) -> Result<Vec<f64>> {
    let points = candidate_points(observed, space, seed)?;
    let front = without_marginal_extremes(
        &predicted_front(models, &points, REFERENCE_QUANTILE, objectives),
        MARGINAL_FRACTION,
    );
    let predicted = infer_reference_point(&front, 0.1)?;
    let reference = covering_the_observed_front(predicted, observed_values)?;
    let reference = with_room_to_improve(reference, observed_values, loosest);
    Ok(reference
        .into_iter()
        .zip(loosest)
        .map(|(r, l)| r.max(*l))
        .collect())
}

/// The fraction of an objective's observed range (over every observation) the reference
/// point must lie below the best observed value (maximization) for the objective to leave
/// room to improve; a coordinate closer than that takes `loosest`'s.
pub const MIN_REFERENCE_WIDTH: f64 = 0.01;

/// `reference` (maximization), except where a coordinate lies within
/// [`MIN_REFERENCE_WIDTH`] of the observed range of the best observed value of its
/// objective: there it is `loosest`'s. A front the models predict as (nearly) one point, best
/// in one objective, gives such a coordinate, and then only points better than every
/// observation in that objective count at all: on ZDT2 with the quadratic trend, one seed's
/// models predicted the observed corner `f₁ = 0` to dominate everything, every reference put
/// `f₁` within 0.0003 of 0, and 18 trials went to `x₁ = 0` (design notes, "A quadratic trend
/// under the GP").
fn with_room_to_improve(
    mut reference: Vec<f64>,
    observed_values: &[Vec<f64>],
    loosest: &[f64],
) -> Vec<f64> {
    for (j, coordinate) in reference.iter_mut().enumerate() {
        let (low, high) = observed_range(observed_values, j);
        if high - *coordinate < MIN_REFERENCE_WIDTH * (high - low) {
            *coordinate = loosest[j];
        }
    }
    reference
}

/// The least and greatest observed value of objective `j` (`(∞, −∞)` for no observation).
fn observed_range(observed_values: &[Vec<f64>], j: usize) -> (f64, f64) {
    observed_values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
            (low.min(v[j]), high.max(v[j]))
        })
}

/// The loose reference point (maximization), taken every third ask: each coordinate the
/// looser of `loosest` (every observation's worst value − 10% of the range, the all-points
/// rule) and BoTorch's rule on the Pareto front of the models' posterior means over
/// `observed` and [`REFERENCE_CANDIDATES`] Sobol points of `space` (no marginal extremes
/// dropped, no optimism), but never more than `LOOSE_WIDENING_LIMIT` observed ranges past
/// the worst of `observed_values` (the observed objective values). Outcomes past
/// `objectives` are constraint slacks, as in [`predicted_front_reference`].
///
/// Why (design notes, "The loose point covers the predicted front"): where no trial has
/// reached an end of the front the all-points rule cannot reward it. On the vehicle-safety
/// problem the lowest-injury designs cost an intrusion beyond every early trial's, and the
/// loose point stopped short of them. The mean front reaches past the observations only
/// where the models predict such trade-offs, so the point is unchanged on most problems.
pub fn loose_reference(
    models: &ModelEnsemble,
    observed: &[Vec<f64>],
    observed_values: &[Vec<f64>],
    space: &SearchSpace,
    objectives: usize,
    loosest: &[f64],
    seed: u64,
) -> Result<Vec<f64>> {
    let points = candidate_points(observed, space, seed)?;
    let front = predicted_front(models, &points, 0.0, objectives);
    let widened: Vec<f64> = infer_reference_point(&front, 0.1)?
        .into_iter()
        .zip(loosest)
        .map(|(r, l)| r.min(*l))
        .collect();
    Ok(within_widening_limit(widened, observed_values, loosest))
}

/// How far past the worst observation the loose point may reach, in observed ranges of its
/// objective: the widening to the mean front is meant for trade-offs a little past what the
/// trials have reached (vehicle safety's low-injury designs: under one range), not for the
/// extrapolations of an output warp's inverse far from the data. Those put the point up to
/// 4e5 ranges out on issue #17's suite (a traced DTLZ4 run; Penicillin's yield, observed in
/// 0–13, at up to −5.3e6), where the loose ask's improvement is one slab that long times the
/// others, so it ignores that objective (design notes, "A loose point bounded to one range").
pub const LOOSE_WIDENING_LIMIT: f64 = 1.0;

/// `reference` (maximization) with each coordinate raised to at most
/// [`LOOSE_WIDENING_LIMIT`] observed ranges below the worst of `observed_values`, and never
/// tighter than `loosest` (the all-points rule, which a single observation or a zero range
/// sets apart from the observations on its own).
fn within_widening_limit(
    reference: Vec<f64>,
    observed_values: &[Vec<f64>],
    loosest: &[f64],
) -> Vec<f64> {
    reference
        .into_iter()
        .enumerate()
        .map(|(j, coordinate)| {
            let (low, high) = observed_range(observed_values, j);
            let limit = low - LOOSE_WIDENING_LIMIT * (high - low);
            coordinate.max(limit).min(loosest[j])
        })
        .collect()
}

/// The posterior quantile `μ + β·σ` of every outcome at each of `points`, in the outcomes'
/// units (`ExactGp::quantile_in_units`; β = 0 is the median), the median over the ensemble's
/// members (one member: its own value): one row per point, one column per outcome.
///
/// The median, not the mean: each member's value is its latent quantile mapped through the
/// output warp's inverse, which can stretch one SAAS sample's extrapolation without bound,
/// and a mean lets that one sample set the whole prediction. On the product's own study
/// (`qfront search`, snips-nlu, qNEHVI-SAAS) the mean put loose reference points at an
/// accuracy of −16,037 and −20,835 (two runs), an objective in [0, 1] (design notes, "A loose
/// point far past every observation"). The inverse is monotone, so the median of the mapped
/// values is the mapped median of the latent ones (for an odd number of members).
pub fn ensemble_quantiles(models: &ModelEnsemble, points: &[Vec<f64>], beta: f64) -> Vec<Vec<f64>> {
    // `columns[s][j][i]`: member s's quantile of outcome j at point i.
    // Every member's outcomes in parallel (rayon's pool); each quantile is computed alone.
    let columns: Vec<Vec<Vec<f64>>> = models
        .par_iter()
        .map(|member| {
            member
                .par_iter()
                .map(|gp| gp.quantile_in_units(points, beta))
                .collect()
        })
        .collect();
    let outcomes = models.first().map_or(0, Vec::len);
    let mut across_members = Vec::with_capacity(models.len());
    (0..points.len())
        .map(|i| {
            (0..outcomes)
                .map(|j| {
                    across_members.clear();
                    across_members.extend(columns.iter().map(|member| member[j][i]));
                    median(&mut across_members)
                })
                .collect()
        })
        .collect()
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none),
/// reordering them.
fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => 0.5 * (values[n / 2 - 1] + values[n / 2]),
    }
}

/// The points the reference rules predict at: `observed`, then [`REFERENCE_CANDIDATES`]
/// Sobol points of `space` (scrambled by `seed`) rounded to valid points.
fn candidate_points(
    observed: &[Vec<f64>],
    space: &SearchSpace,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let sobol = SobolSampler::new(space.dim(), seed)?;
    let mut points: Vec<Vec<f64>> = observed.to_vec();
    points.extend((0..REFERENCE_CANDIDATES).map(|i| space.round(&sobol.point(i))));
    Ok(points)
}

/// The Pareto front (maximization) of the models' posterior quantiles `μ + β·σ` at `points`,
/// the median of the ensemble's members, in the first `objectives` outcomes. Outcomes past
/// them are constraint slacks: a point whose predicted slacks are not all ≥ 0 is left out
/// (all points are kept when none is predicted feasible).
fn predicted_front(
    models: &ModelEnsemble,
    points: &[Vec<f64>],
    beta: f64,
    objectives: usize,
) -> Vec<Vec<f64>> {
    let predictions = ensemble_quantiles(models, points, beta);
    let feasible: Vec<Vec<f64>> = predictions
        .iter()
        .filter(|row| row[objectives..].iter().all(|s| *s >= 0.0))
        .map(|row| row[..objectives].to_vec())
        .collect();
    let values = if feasible.is_empty() {
        predictions
            .iter()
            .map(|row| row[..objectives].to_vec())
            .collect()
    } else {
        feasible
    };
    pareto_front(&values)
}

/// `predicted` unless it lies beyond the whole observed front (maximization: no observation
/// strictly dominates it). That happens where the optimistic predictions dominate every
/// observation (few points, wide posteriors): the observed front would score no hypervolume
/// and the acquisition would have nothing to improve on. Then each coordinate is the looser
/// of `predicted` and BoTorch's rule on the observed front (marginal extremes dropped).
fn covering_the_observed_front(
    predicted: Vec<f64>,
    observed_values: &[Vec<f64>],
) -> Result<Vec<f64>> {
    let scores_something = observed_values
        .iter()
        .any(|v| v.iter().zip(&predicted).all(|(y, r)| y > r));
    if scores_something || observed_values.is_empty() {
        return Ok(predicted);
    }
    let observed_front =
        without_marginal_extremes(&pareto_front(observed_values), MARGINAL_FRACTION);
    Ok(infer_reference_point(&observed_front, 0.1)?
        .into_iter()
        .zip(predicted)
        .map(|(c, p)| c.min(p))
        .collect())
}

/// The points of `front` (maximization) that no other member beats by more than `fraction`
/// of the front's range in some objective while losing at most that much in every other:
/// `q` removes `p` when `q_i ≥ p_i − ε_i` for every `i` and `q_k > p_k + ε_k` for some `k`,
/// `ε_i = fraction·range_i` (ε-dominance, Laumanns et al. 2002, with a strict gain so two
/// points never remove each other). An extreme that is best in one objective by a margin
/// below `ε` but far worse in another is a weakly Pareto-optimal point in all but name, and
/// is removed. So is any point of a dense front where its range-normalised slope is far from
/// 1: on a dense convex front only the knee survives (design notes, "The ε-filter removes
/// more than extremes"; a filter of the extremes alone was measured and not kept).
fn without_marginal_extremes(front: &[Vec<f64>], fraction: f64) -> Vec<Vec<f64>> {
    let Some(first) = front.first() else {
        return Vec::new();
    };
    let m = first.len();
    let eps: Vec<f64> = (0..m)
        .map(|i| {
            let (lo, hi) = front
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p[i]), hi.max(p[i]))
                });
            fraction * (hi - lo)
        })
        .collect();
    let removes = |q: &[f64], p: &[f64]| {
        (0..m).all(|i| q[i] >= p[i] - eps[i]) && (0..m).any(|k| q[k] > p[k] + eps[k])
    };
    let kept: Vec<Vec<f64>> = front
        .iter()
        .filter(|p| !front.iter().any(|q| removes(q, p)))
        .cloned()
        .collect();
    if kept.is_empty() {
        front.to_vec()
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::{ExactGp, GpFitOptions};

    #[test]
    fn marginal_extremes_are_dropped() {
        // Maximization. `a` is best in objective 0 by 0.049 (under 5% of its range, 0.065)
        // but 0.6 worse in objective 1: `b` removes it. The rest trade evenly and stay.
        let a = vec![-0.001, -1.9];
        let b = vec![-0.05, -1.3];
        let c = vec![-0.5, -0.5];
        let d = vec![-1.3, -0.05];
        let kept = without_marginal_extremes(&[a, b.clone(), c.clone(), d.clone()], 0.05);
        assert_eq!(kept, vec![b, c, d]);
        // Two points within ε of each other in every objective never remove each other.
        let close = vec![vec![0.0, -1.0], vec![-0.01, -0.99], vec![-1.0, 0.0]];
        assert_eq!(without_marginal_extremes(&close, 0.05), close);
        assert!(without_marginal_extremes(&[], 0.05).is_empty());
    }

    /// Two objectives of one coordinate, both Pareto-optimal everywhere on [0, 1]
    /// (maximization): `f₀ = −x`, `f₁ = −(1 − x)²`. The front runs from (0, −1) to (−1, 0).
    fn models(x: &[Vec<f64>]) -> ModelEnsemble {
        let values: Vec<Vec<f64>> = x
            .iter()
            .map(|p| vec![-p[0], -(1.0 - p[0]).powi(2)])
            .collect();
        fitted(x, &values)
    }

    /// One member: a default-fitted GP per objective of `values` (one row per point of `x`).
    fn fitted(x: &[Vec<f64>], values: &[Vec<f64>]) -> ModelEnsemble {
        let options = GpFitOptions::default();
        vec![(0..values[0].len())
            .map(|j| {
                let y: Vec<f64> = values.iter().map(|v| v[j]).collect();
                ExactGp::fit(x, &y, &options).unwrap()
            })
            .collect()]
    }

    #[test]
    fn the_predicted_front_reaches_past_the_observed_one() {
        // Observed only on x ∈ [0.3, 0.7]: the observed front's nadir is (−0.7, −0.49) and
        // BoTorch's point (−0.74, −0.53). The models predict the front out to x = 0 and
        // x = 1 (optimistically, so f₁ less bad than −1 at x = 0), and the point covers it.
        let x: Vec<Vec<f64>> = (0..9).map(|i| vec![0.3 + 0.05 * i as f64]).collect();
        let models = models(&x);
        let observed: Vec<Vec<f64>> = x
            .iter()
            .map(|p| vec![-p[0], -(1.0 - p[0]).powi(2)])
            .collect();
        let space = SearchSpace::unit_cube(1).unwrap();
        let loosest = [-5.0, -5.0];
        let reference =
            predicted_front_reference(&models, &x, &observed, &space, 2, &loosest, 3).unwrap();
        assert!(reference[0] < -0.9 && reference[1] < -0.65, "{reference:?}");
        assert!(reference[0] > -1.5 && reference[1] > -1.5, "{reference:?}");
        // Never looser than the all-points point, whatever the models predict.
        let tight = [-0.2, -0.3];
        let clamped =
            predicted_front_reference(&models, &x, &observed, &space, 2, &tight, 3).unwrap();
        assert_eq!(clamped, tight.to_vec());
    }

    #[test]
    fn the_loose_point_reaches_the_mean_front_past_the_observations() {
        let space = SearchSpace::unit_cube(1).unwrap();
        let truth = |p: &Vec<f64>| vec![-p[0], -(1.0 - p[0]).powi(2)];
        // Observed on x ∈ [0.3, 0.7] only: the all-points rule stops at (−0.74, −0.53),
        // while the models' mean front runs on towards x = 0 and x = 1.
        let x: Vec<Vec<f64>> = (0..9).map(|i| vec![0.3 + 0.05 * i as f64]).collect();
        let observed: Vec<Vec<f64>> = x.iter().map(truth).collect();
        let loosest = infer_reference_point(&observed, 0.1).unwrap();
        let loose = loose_reference(&models(&x), &x, &observed, &space, 2, &loosest, 3).unwrap();
        // It reaches (−1.02, −0.90); the true front's BoTorch point is (−1.1, −1.1).
        assert!(
            loose[0] < loosest[0] - 0.2 && loose[1] < loosest[1] - 0.3,
            "{loose:?} against {loosest:?}"
        );
        assert!(loose.iter().all(|r| *r > -1.2), "{loose:?}");
        // Observed over the whole interval: the mean front lies within the observations and
        // the all-points point is kept as it is.
        let x: Vec<Vec<f64>> = (0..11).map(|i| vec![0.1 * i as f64]).collect();
        let observed: Vec<Vec<f64>> = x.iter().map(truth).collect();
        let loosest = infer_reference_point(&observed, 0.1).unwrap();
        let loose = loose_reference(&models(&x), &x, &observed, &space, 2, &loosest, 3).unwrap();
        assert_eq!(loose, loosest);
    }

    /// The loose point stops one observed range past the worst observation; a nearer one is
    /// kept, and none is tighter than the all-points rule (a zero range: one observation).
    #[test]
    fn the_loose_point_stops_one_range_past_the_observations() {
        // Maximization: objective 0 observed in [−2, 0], objective 1 in [−1, −0.5].
        let observed = vec![vec![0.0, -1.0], vec![-2.0, -0.5], vec![-1.0, -0.75]];
        let loosest = infer_reference_point(&observed, 0.1).unwrap();
        assert_eq!(
            within_widening_limit(vec![-3.5e5, -1.2], &observed, &loosest),
            vec![-4.0, -1.2]
        );
        assert_eq!(
            within_widening_limit(vec![-3.0, -40.0], &observed, &loosest),
            vec![-3.0, -1.5]
        );
        let one = vec![vec![-1.0, 2.0]];
        let loosest = infer_reference_point(&one, 0.1).unwrap();
        assert_eq!(
            within_widening_limit(vec![-9.0, -9.0], &one, &loosest),
            loosest
        );
    }

    /// Observed over a tenth of the box, the mean front runs on past the observations: the
    /// loose point follows it past the all-points rule and stays within one observed range
    /// of the worst observation. The GP's mean front here reaches just under one range, so
    /// this guards the other side of the bound: a limit much under one range (0.5 fails it)
    /// would cut off the widening it is meant to allow; that the bound holds against a far
    /// extrapolation is `the_loose_point_stops_one_range_past_the_observations`.
    #[test]
    fn a_mean_front_past_the_observations_widens_the_loose_point_within_one_range() {
        let space = SearchSpace::unit_cube(1).unwrap();
        let x: Vec<Vec<f64>> = (0..6).map(|i| vec![0.45 + 0.02 * i as f64]).collect();
        let observed: Vec<Vec<f64>> = x
            .iter()
            .map(|p| vec![-p[0], -20.0 * (1.0 - p[0])])
            .collect();
        let loosest = infer_reference_point(&observed, 0.1).unwrap();
        let loose = loose_reference(
            &fitted(&x, &observed),
            &x,
            &observed,
            &space,
            2,
            &loosest,
            3,
        )
        .unwrap();
        // Observed: objective 0 in [−0.55, −0.45], objective 1 in [−11, −9]. The point may
        // reach the limit itself (the models' mean front runs past it), up to the rounding of
        // `worst − range`.
        let limit = [-0.55 - 0.1, -11.0 - 2.0];
        for j in 0..2 {
            assert!(
                loose[j] < loosest[j] - 0.5 * (loosest[j] - limit[j])
                    && loose[j] >= limit[j] - 1e-12 * limit[j].abs(),
                "{loose:?} against {loosest:?} and {limit:?}"
            );
        }
    }

    /// Three members of one outcome, two agreeing and one extrapolating far off (as a SAAS
    /// sample through a stretching warp can): the ensemble's prediction is the agreeing
    /// pair's, where a mean would be pulled a third of the way to the outlier.
    #[test]
    fn one_member_far_off_does_not_move_the_ensemble() {
        let x: Vec<Vec<f64>> = (0..6).map(|i| vec![0.2 * i as f64]).collect();
        let fit = |scale: f64| {
            let y: Vec<f64> = x.iter().map(|p| scale * p[0]).collect();
            ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap()
        };
        let models: ModelEnsemble = vec![vec![fit(1.0)], vec![fit(-1e4)], vec![fit(1.0)]];
        let probe = vec![vec![0.5]];
        let single = ensemble_quantiles(&vec![vec![fit(1.0)]], &probe, 0.0);
        let ensemble = ensemble_quantiles(&models, &probe, 0.0);
        assert_eq!(ensemble, single);
        assert!((single[0][0] - 0.5).abs() < 0.05, "{single:?}");
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
    }

    /// A coordinate that leaves no room to improve on the best observation (within 1% of the
    /// observed range) takes the all-points rule's; the others are kept.
    #[test]
    fn a_reference_with_no_room_in_one_objective_is_widened_there() {
        // Maximization: objective 0 observed in [−0.97, 0], objective 1 in [−7.5, −1].
        let observed = vec![vec![0.0, -1.0], vec![-0.97, -7.5], vec![-0.5, -4.0]];
        let loosest = vec![-1.067, -8.15];
        let collapsed = vec![-0.0003, -6.0];
        assert_eq!(
            with_room_to_improve(collapsed, &observed, &loosest),
            vec![-1.067, -6.0]
        );
        // 0.02 below the best (2% of the range) is room enough.
        let tight = vec![-0.02, -1.2];
        assert_eq!(
            with_room_to_improve(tight.clone(), &observed, &loosest),
            tight
        );
    }

    #[test]
    fn a_point_beyond_every_observation_falls_back_to_the_observed_front() {
        let observed = vec![vec![-1.0, -3.0], vec![-2.0, -2.0], vec![-3.0, -1.0]];
        // Inside the observed front: kept as it is.
        let inside = vec![-2.5, -2.5];
        assert_eq!(
            covering_the_observed_front(inside.clone(), &observed).unwrap(),
            inside
        );
        // Beyond it (no observation dominates it): BoTorch's point on the observed front,
        // (−3.2, −3.2), where it is looser than the prediction.
        let beyond = vec![-0.5, -4.0];
        let covered = covering_the_observed_front(beyond, &observed).unwrap();
        assert!(
            (covered[0] + 3.2).abs() < 1e-12 && (covered[1] + 4.0).abs() < 1e-12,
            "{covered:?}"
        );
        assert!(observed
            .iter()
            .any(|v| v[0] > covered[0] && v[1] > covered[1]));
    }
}
