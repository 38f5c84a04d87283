//! The non-dominated filter (BoTorch `is_non_dominated` with `deduplicate = True`).

use super::staircase::{SortedStaircase, Staircase, TreeStaircase, ARRAY_STAIRCASE_MAX_POINTS};
use super::weakly_dominates;

/// A mask over `points` (maximization): `true` where no other point is at least as good in
/// every objective and different. Of several equal non-dominated points only the first is
/// marked (duplicates are kept once). Two and three objectives (qNEHVI's baseline pruning
/// and its per-sample fronts ask hundreds of times per ask) take the `O(n log n)` sweeps of
/// `non_dominated_two_objectives` and `non_dominated_three_objectives`; otherwise `O(n² m)`.
pub fn is_non_dominated(points: &[Vec<f64>]) -> Vec<bool> {
    let without_nan = |m: usize| {
        points
            .iter()
            .all(|p| p.len() == m && p.iter().all(|v| !v.is_nan()))
    };
    if without_nan(2) {
        return non_dominated_two_objectives(points);
    }
    if points.len() > THREE_OBJECTIVE_SWEEP_MIN_POINTS && without_nan(3) {
        return non_dominated_three_objectives(points);
    }
    pairwise_non_dominated(points)
}

/// Below this many points the pairwise test is as quick as the three-objective sweep's sort.
const THREE_OBJECTIVE_SWEEP_MIN_POINTS: usize = 8;

/// The definition, pair by pair: `i` is dominated when some other `j` weakly dominates it
/// and differs from it, or equals it and comes first.
fn pairwise_non_dominated(points: &[Vec<f64>]) -> Vec<bool> {
    let n = points.len();
    let mut mask = vec![true; n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            if weakly_dominates(&points[j], &points[i]) && (points[j] != points[i] || j < i) {
                mask[i] = false;
                break;
            }
        }
    }
    mask
}

/// The same mask for two objectives (no NaN) by one sweep (Kung, Luccio & Preparata 1975):
/// visit the points by first objective descending, then second descending, then index
/// ascending. Every point visited before `i` is at least as good as `i` in the first
/// objective, and is either different from `i` or an equal point with a smaller index; so
/// `i` is dominated exactly when one of them is at least as good in the second objective,
/// i.e. when the best second objective seen so far is `≥` its own. No point visited later
/// can dominate `i` under the definition.
fn non_dominated_two_objectives(points: &[Vec<f64>]) -> Vec<bool> {
    let order = sweep_order(points);
    let mut mask = vec![false; points.len()];
    let mut best_second: Option<f64> = None;
    for i in order {
        let second = points[i][1];
        if best_second.is_none_or(|best| second > best) {
            mask[i] = true;
            best_second = Some(second);
        }
    }
    mask
}

/// The same mask for three objectives (no NaN) by one sweep, the 3-D analogue of
/// `non_dominated_two_objectives` (Kung, Luccio & Preparata 1975): visit the points by first
/// objective descending, then second, then third descending, then index ascending. A point
/// visited before `i` is at least as good as `i` in the first objective, and ties come first
/// only when they are as good in the rest too (or equal with a smaller index); so `i` is
/// dominated exactly when some point visited before it is at least as good in the second and
/// third objectives — a query of the staircase of the visited points' (second, third) pairs.
fn non_dominated_three_objectives(points: &[Vec<f64>]) -> Vec<bool> {
    let order = sweep_order(points);
    if points.len() <= ARRAY_STAIRCASE_MAX_POINTS {
        sweep_three(points, &order, SortedStaircase::with_capacity(points.len()))
    } else {
        sweep_three(points, &order, TreeStaircase::default())
    }
}

/// The sweeps' visiting order: lexicographically descending in the objectives, in order,
/// then by index ascending. `partial_cmp`, not `total_cmp`: −0 and 0 are equal to `≥` and
/// `==` (no NaN here).
fn sweep_order(points: &[Vec<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        points[b]
            .iter()
            .zip(&points[a])
            .map(|(x, y)| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    order
}

/// The sweep of [`non_dominated_three_objectives`] over the points in `order`.
fn sweep_three(points: &[Vec<f64>], order: &[usize], mut staircase: impl Staircase) -> Vec<bool> {
    let mut mask = vec![false; points.len()];
    for &i in order {
        // `+ 0.0` turns −0 into 0: the staircase orders by `total_cmp`, `≥` does not tell them apart.
        let (second, third) = (points[i][1] + 0.0, points[i][2] + 0.0);
        mask[i] =
            staircase.insert_reporting_strips(second, third, [f64::NEG_INFINITY; 2], |_, _, _| {});
    }
    mask
}

/// The non-dominated points (each once), in input order.
pub fn pareto_front(points: &[Vec<f64>]) -> Vec<Vec<f64>> {
    is_non_dominated(points)
        .into_iter()
        .zip(points)
        .filter(|(keep, _)| *keep)
        .map(|(_, p)| p.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn spec_vectors() {
        // methods-spec §5.5.
        let y2 = vec![
            vec![1.0, 5.0],
            vec![2.0, 4.0],
            vec![3.0, 2.0],
            vec![4.0, 1.0],
            vec![1.5, 1.5],
        ];
        assert_eq!(is_non_dominated(&y2), [true, true, true, true, false]);
        let y3 = vec![
            vec![1.0, 2.0, 3.0],
            vec![3.0, 1.0, 2.0],
            vec![2.0, 3.0, 1.0],
            vec![1.0, 1.0, 1.0],
            vec![2.5, 2.5, 0.5],
        ];
        assert_eq!(is_non_dominated(&y3), [true, true, true, false, true]);
    }

    #[test]
    fn duplicates_are_kept_once() {
        let y = vec![
            vec![1.0, 2.0],
            vec![1.0, 2.0],
            vec![2.0, 1.0],
            vec![1.0, 1.0],
        ];
        assert_eq!(is_non_dominated(&y), [true, false, true, false]);
    }

    /// The sweeps against the definition on random points drawn from a few values (many
    /// ties, duplicates and signed zeros) and with infinities, as the baseline pruning
    /// produces.
    #[test]
    fn the_two_and_three_objective_sweeps_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut next = || rng.gen_range(0..usize::MAX / 2);
        let values = [
            f64::NEG_INFINITY,
            -1.0,
            0.0,
            -0.0,
            0.5,
            1.0,
            2.0,
            f64::INFINITY,
        ];
        for case in 0..4000 {
            let n = 1 + next() % 40;
            let m = 2 + (case / 2) % 2;
            let points: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    (0..m)
                        .map(|_| {
                            if case % 2 == 0 {
                                values[next() % 8]
                            } else {
                                (next() % 1000) as f64 / 7.0
                            }
                        })
                        .collect()
                })
                .collect();
            let want = pairwise_non_dominated(&points);
            if m == 2 {
                assert_eq!(non_dominated_two_objectives(&points), want, "{points:?}");
            } else {
                assert_eq!(non_dominated_three_objectives(&points), want, "{points:?}");
                // The tree store, which point sets over 2,048 use, alike.
                let order = sweep_order(&points);
                let tree = sweep_three(&points, &order, TreeStaircase::default());
                assert_eq!(tree, want, "{points:?}");
            }
        }
    }
}
