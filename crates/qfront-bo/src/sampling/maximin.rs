//! The space-filling exploration point: of a batch of Sobol candidates, the one farthest from
//! every point already tried (the maximin criterion of Johnson, Moore & Ylvisaker 1990,
//! applied one point at a time), with the box's faces acting as mirrors: a candidate near a
//! face is also near its own reflection, so the point chosen is the centre of the largest
//! empty ball of the design reflected across the faces. Plain maximin sends the step to the
//! box's corners, which GP acquisitions already over-explore (Siivola et al. 2018,
//! "Correcting boundary over-exploration deficiencies in Bayesian optimization"); the holes
//! that stall a search are inside (Viennet's centre, Fonseca–Fleming's wells).
//!
//! Why an optimizer needs it: a GP fitted to a few dozen points interpolates confidently
//! between them, so a narrow feature that no point has touched (a dip inside a ring of
//! observations, a disconnected piece of the front) gets a small posterior variance and no
//! acquisition value, and qNEHVI never goes there: whole seeds stall (issue #17; design
//! notes, "The MOBO engine on problems it has never seen"). Spending a small, fixed share of the evaluations on the
//! largest hole left in the design bounds how long such a feature can stay unseen, whatever
//! the model believes. This is the ε-greedy remedy of De Ath et al. (2021, "Greed is good:
//! exploration and exploitation trade-offs in Bayesian optimisation"), with the exploratory
//! point chosen by distance instead of uniformly at random.

use super::SobolSampler;
use crate::Result;

/// The candidate (of `candidates` scrambled Sobol points in `[0, 1]^dim`, seeded by `seed`)
/// whose distance to the nearest point of `existing`, or to its own mirror image in the box's
/// faces (twice its distance to the nearest face), is largest. With no existing points,
/// the candidate farthest from the faces.
pub fn maximin_point(
    existing: &[Vec<f64>],
    dim: usize,
    candidates: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let pool = SobolSampler::new(dim, seed)?.draw(candidates.max(1))?;
    let nearest_squared = |c: &[f64]| nearest_squared_distance(existing, c);
    // The box's faces count as mirrors: a candidate `b` from a face is `2b` from its own
    // reflection, so the score is the squared radius of the largest empty ball around it
    // in the design reflected across the faces.
    let mirror_squared = |c: &[f64]| -> f64 {
        let to_face = c.iter().fold(f64::INFINITY, |m, v| m.min(v.min(1.0 - v)));
        4.0 * to_face * to_face
    };
    let mut best = 0;
    let mut best_distance = f64::NEG_INFINITY;
    for (i, c) in pool.iter().enumerate() {
        let distance = nearest_squared(c).min(mirror_squared(c));
        if distance > best_distance {
            best_distance = distance;
            best = i;
        }
    }
    Ok(pool
        .into_iter()
        .nth(best)
        .expect("the pool holds at least one point"))
}

/// The squared Euclidean distance from `c` to the nearest point of `existing` (infinite when
/// there is none).
pub(super) fn nearest_squared_distance(existing: &[Vec<f64>], c: &[f64]) -> f64 {
    existing
        .iter()
        .map(|p| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the obviously correct search: no candidate is farther from the design than
    /// the chosen one, and a hole left in the middle of a ring of points is found.
    #[test]
    fn picks_the_largest_hole() {
        let ring: Vec<Vec<f64>> = (0..12)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / 12.0;
                vec![0.5 + 0.4 * a.cos(), 0.5 + 0.4 * a.sin()]
            })
            .chain([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]].map(|p| p.to_vec()))
            .collect();
        let chosen = maximin_point(&ring, 2, 1024, 3).unwrap();
        assert!(
            (chosen[0] - 0.5).hypot(chosen[1] - 0.5) < 0.1,
            "the centre of the ring is the largest hole, got {chosen:?}"
        );
        let gap = |c: &[f64]| {
            let to_face = c.iter().fold(f64::INFINITY, |m, v| m.min(v.min(1.0 - v)));
            ring.iter()
                .map(|p| (p[0] - c[0]).hypot(p[1] - c[1]))
                .fold(2.0 * to_face, f64::min)
        };
        let pool = SobolSampler::new(2, 3).unwrap().draw(1024).unwrap();
        assert!(pool.iter().all(|c| gap(c) <= gap(&chosen) + 1e-15));
        assert_eq!(maximin_point(&[], 3, 8, 1).unwrap().len(), 3);
    }

    /// The faces are mirrors: with the interior design of a 3 × 3 grid less its centre, the
    /// plain maximin point would be a corner (0.35 from the grid against 0.25 for the
    /// centre), which a GP's acquisition visits anyway; the chosen point is the centre.
    #[test]
    fn an_interior_hole_beats_the_empty_corners() {
        let grid: Vec<Vec<f64>> = [0.25, 0.5, 0.75]
            .iter()
            .flat_map(|&a| [0.25, 0.5, 0.75].map(|b| vec![a, b]))
            .filter(|p| p != &vec![0.5, 0.5])
            .collect();
        let chosen = maximin_point(&grid, 2, 1024, 5).unwrap();
        assert!(
            (chosen[0] - 0.5).hypot(chosen[1] - 0.5) < 0.05,
            "expected the centre, got {chosen:?}"
        );
    }
}
