//! The non-dominated filter (BoTorch `is_non_dominated` with `deduplicate = True`).

use super::weakly_dominates;

/// A mask over `points` (maximization): `true` where no other point is at least as good in
/// every objective and different. Of several equal non-dominated points only the first is
/// marked (duplicates are kept once). `O(n² m)`; fronts in BO are small.
pub fn is_non_dominated(points: &[Vec<f64>]) -> Vec<bool> {
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
}
