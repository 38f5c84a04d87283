//! The exploration point along the observed Pareto set's coordinate lines: of candidates
//! made by moving one coordinate of one Pareto-optimal point to a new value, the one farthest
//! from every point already tried.
//!
//! Why an optimizer needs it beside [`super::maximin_point`]: many problems' Pareto sets lie
//! on a face of the box or on a low-dimensional set through it (DTLZ7's is `x₂.. = 0` with
//! `x₁` free; the ZDT and DTLZ families are alike). A front made of disconnected pieces then
//! has pieces that only that set reaches: DTLZ7's last piece needs `x₁ ≈ 0.85` *and* every
//! other coordinate at 0. Maximin points in the whole box land in its interior, where every
//! such coordinate is large and the objectives are poor, and a GP fitted on a first piece
//! along the face extrapolates the objectives' trend confidently (issue #17's seed 0 of
//! DTLZ7: the second objective predicted 4.2σ worse than it is at `x₁ = 0.86` on the face), so
//! qNEHVI never goes there either. Moving one coordinate of a Pareto-optimal point to the
//! value farthest from the trials explores along the set itself: the coordinates that put
//! the point on the front stay, one coordinate takes its largest unexplored range (a
//! coordinate-wise, one-dimensional form of the maximin criterion of Johnson, Moore &
//! Ylvisaker 1990).

use super::maximin::nearest_squared_distance;
use super::SobolSampler;
use crate::{BoError, Result};

/// The candidate farthest from every point of `existing`: each of `candidates` candidates is
/// one of `anchors` (the Pareto-optimal points, taken in turn) with one of the coordinates
/// `directions` (from [`pareto_set_directions`]) replaced by a new value in `[0, 1]` (a 2-D
/// Sobol draw picks both), then passed through `round` (a mixed space's rounding to a valid
/// point; the identity in a continuous one) before its distance is measured. `None` when
/// every candidate rounds onto a point of `existing`: in a discrete space a moved integer or
/// category often lands on the anchor itself, and a repeat explores nothing (issue #17's
/// mixed problems: 64 of 80 line steps did before candidates were rounded). Fails without
/// anchors or directions.
pub fn pareto_line_point(
    existing: &[Vec<f64>],
    anchors: &[Vec<f64>],
    directions: &[usize],
    candidates: usize,
    seed: u64,
    round: &dyn Fn(&[f64]) -> Vec<f64>,
) -> Result<Option<Vec<f64>>> {
    if anchors.is_empty() || directions.is_empty() {
        return Err(BoError::input(
            "anchors",
            "a Pareto-line exploration step needs Pareto-optimal points and a direction",
        ));
    }
    let draws = SobolSampler::new(2, seed)?.draw(candidates.max(1))?;
    let mut best: Option<(f64, Vec<f64>)> = None;
    for (i, draw) in draws.iter().enumerate() {
        let mut candidate = anchors[i % anchors.len()].clone();
        let pick = ((draw[0] * directions.len() as f64) as usize).min(directions.len() - 1);
        candidate[directions[pick]] = draw[1];
        let candidate = round(&candidate);
        let distance = nearest_squared_distance(existing, &candidate);
        if best.as_ref().is_none_or(|(d, _)| distance > *d) {
            best = Some((distance, candidate));
        }
    }
    let (distance, point) = best.expect("at least one candidate is drawn");
    Ok((distance > 0.0).then_some(point))
}

/// The coordinates along which the Pareto set spreads, when it lies on a lower-dimensional
/// part of the box: of the coordinates marked in `relevant` (those the models use), the ones
/// whose range over `anchors` is at least half the largest such range. `None` when there
/// are fewer than two anchors, when they coincide in every relevant coordinate, or when
/// every relevant coordinate spreads: then no coordinate is held by the whole set (a Pareto
/// set through the box's interior, Fonseca–Fleming's diagonal, BraninCurrin's curve), a line
/// step would leave the set in every direction, and the box steps and the acquisition
/// serve better. Moving a coordinate that every Pareto-optimal point holds at one value
/// (DTLZ's and ZDT's distance variables, held at their optimum) only leaves the set too,
/// so only spreading coordinates are moved. A coordinate the models do not use spreads
/// over the Pareto set *because* nothing holds it, and moving it repeats a Pareto-optimal
/// point's values exactly (issue #17's BraninCurrin in 8-D), so it is never a direction.
pub fn pareto_set_directions(anchors: &[Vec<f64>], relevant: &[bool]) -> Option<Vec<usize>> {
    if anchors.len() < 2 {
        return None;
    }
    let candidates: Vec<usize> = (0..anchors[0].len())
        .filter(|&j| relevant.get(j).copied().unwrap_or(true))
        .collect();
    let ranges: Vec<f64> = candidates
        .iter()
        .map(|&j| {
            let (low, high) = anchors
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), a| {
                    (l.min(a[j]), h.max(a[j]))
                });
            high - low
        })
        .collect();
    let widest = ranges.iter().cloned().fold(0.0, f64::max);
    if widest <= 0.0 {
        return None;
    }
    let spreading: Vec<usize> = candidates
        .iter()
        .zip(&ranges)
        .filter(|(_, range)| **range >= 0.5 * widest)
        .map(|(j, _)| *j)
        .collect();
    (spreading.len() < candidates.len()).then_some(spreading)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(x: &[f64]) -> Vec<f64> {
        x.to_vec()
    }

    /// In a discrete space the candidates are measured once rounded: a line whose every
    /// rounded point was tried gives no point, and otherwise the point chosen is an untried
    /// valid one. Here the moved coordinate has three levels (0, ½, 1).
    #[test]
    fn a_rounded_line_step_never_repeats_a_trial() {
        let levels =
            |x: &[f64]| -> Vec<f64> { x.iter().map(|v| (v * 2.0).round() / 2.0).collect() };
        let anchors = vec![vec![0.0, 0.0], vec![1.0, 0.0]];
        let directions = [0];
        let mut existing = anchors.clone();
        let chosen = pareto_line_point(&existing, &anchors, &directions, 64, 3, &levels)
            .unwrap()
            .unwrap();
        assert_eq!(chosen, vec![0.5, 0.0]);
        existing.push(chosen);
        assert_eq!(
            pareto_line_point(&existing, &anchors, &directions, 64, 3, &levels).unwrap(),
            None
        );
    }

    /// Against the obviously correct search: the chosen point differs from an anchor in one
    /// coordinate only, and it is the far end of the one line no trial has covered.
    #[test]
    fn extends_the_front_along_its_unexplored_line() {
        // DTLZ7's situation: the trials cover x₁ ∈ [0, 0.45] on the face x₂ = x₃ = 0, and
        // the box's interior; the anchors are on the face.
        let mut existing: Vec<Vec<f64>> =
            (0..10).map(|k| vec![0.045 * k as f64, 0.0, 0.0]).collect();
        existing.extend([
            vec![0.9, 0.6, 0.5],
            vec![0.6, 0.9, 0.8],
            vec![0.2, 0.7, 0.6],
            vec![0.1, 1.0, 0.0],
            vec![0.1, 0.0, 1.0],
        ]);
        let anchors: Vec<Vec<f64>> = existing[..6].to_vec();
        let directions = pareto_set_directions(&anchors, &[true; 3]).unwrap();
        let chosen = pareto_line_point(&existing, &anchors, &directions, 1024, 11, &identity)
            .unwrap()
            .unwrap();
        assert!(
            anchors.iter().any(|a| a
                .iter()
                .zip(&chosen)
                .filter(|(u, v)| (*u - *v).abs() > 0.0)
                .count()
                <= 1),
            "{chosen:?} is not on a coordinate line through an anchor"
        );
        assert!(
            chosen[0] > 0.9 && chosen[1] == 0.0 && chosen[2] == 0.0,
            "{chosen:?}"
        );
        assert!(pareto_line_point(&existing, &[], &directions, 16, 1, &identity).is_err());
        assert!(pareto_line_point(&existing, &anchors, &[], 16, 1, &identity).is_err());
    }

    /// Only the coordinates the anchors spread along are moved: DTLZ's and ZDT's distance
    /// variables, held at 0 by every Pareto-optimal point, are not; and a coordinate whose
    /// spread is a tenth of the widest is not either. A set spreading along every coordinate,
    /// a single anchor, or coinciding anchors give no direction.
    #[test]
    fn moves_only_the_directions_the_set_spreads_along() {
        let anchors = vec![
            vec![0.1, 0.0, 0.5],
            vec![0.6, 0.0, 0.55],
            vec![0.3, 0.0, 0.52],
        ];
        let all = [true; 3];
        assert_eq!(pareto_set_directions(&anchors, &all), Some(vec![0]));
        let diagonal: Vec<Vec<f64>> = (0..4).map(|k| vec![0.4 + 0.05 * k as f64; 3]).collect();
        assert_eq!(pareto_set_directions(&diagonal, &all), None);
        assert_eq!(pareto_set_directions(&anchors[..1], &all), None);
        assert_eq!(
            pareto_set_directions(&[vec![0.2; 3], vec![0.2; 3]], &all),
            None
        );
        let existing = anchors.clone();
        let directions = pareto_set_directions(&anchors, &all).unwrap();
        for seed in 0..8 {
            let chosen = pareto_line_point(&existing, &anchors, &directions, 256, seed, &identity)
                .unwrap()
                .unwrap();
            assert!(
                anchors.iter().any(|a| a[1..] == chosen[1..]),
                "{chosen:?} moved a coordinate the set does not spread along"
            );
        }
    }

    /// A coordinate the models do not use is never moved, however far it spreads over the
    /// Pareto set (BraninCurrin embedded in 8-D: the set holds `x₁, x₂` on a curve and
    /// scatters the six unused inputs across the box). Among the used ones the rule is as
    /// before: here the second spreads and the first is held, and with both spreading there
    /// is no direction.
    #[test]
    fn an_input_the_models_do_not_use_is_never_a_direction() {
        let anchors = vec![
            vec![0.1, 0.20, 0.0, 0.9],
            vec![0.1, 0.80, 1.0, 0.1],
            vec![0.1, 0.50, 0.4, 0.6],
        ];
        let used = [true, true, false, false];
        assert_eq!(
            pareto_set_directions(&anchors, &[true; 4]),
            Some(vec![1, 2, 3])
        );
        assert_eq!(pareto_set_directions(&anchors, &used), Some(vec![1]));
        let curve = vec![
            vec![0.0, 1.0, 0.0, 0.9],
            vec![0.12, 0.81, 1.0, 0.1],
            vec![0.06, 0.9, 0.4, 0.6],
        ];
        assert_eq!(pareto_set_directions(&curve, &used), None);
        assert_eq!(pareto_set_directions(&curve, &[false; 4]), None);
    }
}
