//! Which completed trials a model is fitted on when a study has many: an exact GP costs
//! `O(n³)` per fit, so past `max_points` trials the optimizer fits on a subset (a "subset of
//! data" GP, Rasmussen & Williams 2006, §8.3.1) and uses the same subset as qNEHVI's
//! baseline. Half of the subset is the best trials by non-dominated sorting (Deb et al.
//! 2002: successive Pareto layers of the feasible trials, where the next trial will be
//! judged), the rest a seeded uniform sample of the others (so the model still sees the whole
//! space). The choice depends only on the history and the seed, so every process choosing it
//! for the same study chooses the same.

use crate::moo::weakly_dominates;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Indices (ascending) of at most `max_points` of the `values` (one row per completed trial:
/// `objectives` maximized values, then constraint slacks, feasible when all ≥ 0) to fit on.
/// All of them when there are no more than `max_points`.
pub fn model_subset(
    values: &[Vec<f64>],
    objectives: usize,
    max_points: usize,
    seed: u64,
) -> Vec<usize> {
    let n = values.len();
    if n <= max_points {
        return (0..n).collect();
    }
    let feasible: Vec<usize> = (0..n)
        .filter(|&i| values[i][objectives..].iter().all(|&s| s >= 0.0))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005a_b5e7 ^ n as u64);
    let mut chosen = vec![false; n];
    let mut taken = 0;
    let best_share = max_points / 2;
    // Successive non-dominated layers of the feasible trials; the layer that does not fit is
    // sampled.
    let mut remaining = feasible;
    while taken < best_share && !remaining.is_empty() {
        let layer: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| {
                !remaining.iter().any(|&j| {
                    j != i
                        && weakly_dominates(&values[j][..objectives], &values[i][..objectives])
                        && values[j][..objectives] != values[i][..objectives]
                })
            })
            .collect();
        let mut layer = layer;
        if taken + layer.len() > best_share {
            layer.shuffle(&mut rng);
            layer.truncate(best_share - taken);
        }
        for &i in &layer {
            chosen[i] = true;
        }
        taken += layer.len();
        remaining.retain(|i| !chosen[*i]);
        if layer.is_empty() {
            break;
        }
    }
    let mut rest: Vec<usize> = (0..n).filter(|&i| !chosen[i]).collect();
    rest.shuffle(&mut rng);
    for &i in rest.iter().take(max_points - taken) {
        chosen[i] = true;
    }
    (0..n).filter(|&i| chosen[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_histories_are_kept_whole() {
        let values = vec![vec![1.0, 2.0]; 10];
        assert_eq!(model_subset(&values, 2, 10, 0), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn the_front_is_kept_and_the_rest_sampled() {
        // 50 points on a front (x + y = 1) and 450 dominated ones below it.
        let mut values = Vec::new();
        for i in 0..50 {
            let t = i as f64 / 49.0;
            values.push(vec![t, 1.0 - t]);
        }
        for i in 0..450 {
            let t = (i % 45) as f64 / 45.0;
            let depth = 0.1 + (i / 45) as f64 * 0.05;
            values.push(vec![t - depth, 1.0 - t - depth]);
        }
        let subset = model_subset(&values, 2, 120, 7);
        assert_eq!(subset.len(), 120);
        assert!(
            subset.windows(2).all(|w| w[0] < w[1]),
            "ascending, no repeats"
        );
        assert!(
            (0..50).all(|i| subset.contains(&i)),
            "the whole front is kept"
        );
        // Deterministic for a seed, different for another.
        assert_eq!(subset, model_subset(&values, 2, 120, 7));
        assert_ne!(subset, model_subset(&values, 2, 120, 8));
    }

    #[test]
    fn infeasible_trials_only_fill_the_random_half() {
        // Objectives then one slack; the best-looking trials are infeasible.
        let mut values: Vec<Vec<f64>> = (0..100)
            .map(|i| vec![10.0 + i as f64, 10.0, -1.0])
            .collect();
        values.extend((0..100).map(|i| vec![i as f64 / 100.0, 1.0 - i as f64 / 100.0, 1.0]));
        let subset = model_subset(&values, 2, 40, 0);
        let feasible_front = subset.iter().filter(|&&i| i >= 100).count();
        assert!(feasible_front >= 20, "{feasible_front}");
    }
}
