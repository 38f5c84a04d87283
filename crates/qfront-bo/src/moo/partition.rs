//! Box decompositions of the region a Pareto front does **not** dominate (above the reference
//! point, maximization), the cells the inclusion–exclusion HVI of methods-spec §4.5 sums over:
//!
//! - m = 2: a direct sweep, `n + 1` cells (BoTorch's 2-D fast path);
//! - any m: slicing along the last objective at the front's distinct values; in each slab the
//!   region is the (m−1)-dimensional non-dominated region of the points that reach above the
//!   slab, decomposed recursively. Exact for every m, with `O(n^(m−1))` cells (BoTorch's
//!   Lacour et al. 2017 partitioning gives fewer cells for m ≥ 3; both are exact). qNEHVI
//!   scores one point at a time: for three objectives against the boxes of the *dominated*
//!   region (`moo::dominated_boxes`, at most `2n`), otherwise by the limited set
//!   (`moo::exclusive`).

use super::improvement::BoxCell;

/// Disjoint cells `[lower, upper]` covering `{y ≥ r : y not dominated by the front}` for
/// m = 2 (maximization; upper bounds are +∞ where open). With the front sorted by the first
/// objective `q_1.x < … < q_n.x` (so `q_1.y > … > q_n.y`), the cells are
/// `[r_x, q_1.x] × [q_1.y, ∞)`, `[q_k.x, q_{k+1}.x] × [q_{k+1}.y, ∞)` and `[q_n.x, ∞) × [r_y, ∞)`:
/// `n + 1` cells. Points of `front` not strictly better than `r` in both objectives, and
/// dominated points, are ignored.
pub fn non_dominated_cells_2d(front: &[Vec<f64>], reference: &[f64]) -> Vec<BoxCell> {
    let mut points: Vec<[f64; 2]> = front
        .iter()
        .filter(|p| p[0] > reference[0] && p[1] > reference[1])
        .map(|p| [p[0], p[1]])
        .collect();
    // x descending (ties: y descending), then keep the strictly rising y: the staircase.
    points.sort_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
    let mut stair: Vec<[f64; 2]> = Vec::with_capacity(points.len());
    for p in points {
        if stair.last().is_none_or(|last| p[1] > last[1]) {
            stair.push(p);
        }
    }
    stair.reverse(); // x ascending, y descending.
    let mut cells = Vec::with_capacity(stair.len() + 1);
    let mut left = reference[0];
    for q in &stair {
        cells.push(BoxCell {
            lower: vec![left, q[1]],
            upper: vec![q[0], f64::INFINITY],
        });
        left = q[0];
    }
    cells.push(BoxCell {
        lower: vec![left, reference[1]],
        upper: vec![f64::INFINITY, f64::INFINITY],
    });
    cells
}

/// Disjoint cells covering `{y ≥ r : y not dominated by front}` for any number of objectives
/// (see the module notes). Points not strictly better than `reference` everywhere are ignored.
pub fn non_dominated_cells(front: &[Vec<f64>], reference: &[f64]) -> Vec<BoxCell> {
    let m = reference.len();
    let useful: Vec<Vec<f64>> = front
        .iter()
        .filter(|p| p.iter().zip(reference).all(|(a, r)| a > r))
        .cloned()
        .collect();
    match m {
        1 => {
            let top = useful.iter().map(|p| p[0]).fold(reference[0], f64::max);
            vec![BoxCell {
                lower: vec![top],
                upper: vec![f64::INFINITY],
            }]
        }
        2 => non_dominated_cells_2d(&useful, reference),
        _ => {
            let mut levels: Vec<f64> = useful.iter().map(|p| p[m - 1]).collect();
            levels.sort_by(f64::total_cmp);
            levels.dedup();
            let mut cells = Vec::new();
            let mut bottom = reference[m - 1];
            for &level in levels.iter().chain(std::iter::once(&f64::INFINITY)) {
                let above: Vec<Vec<f64>> = useful
                    .iter()
                    .filter(|p| p[m - 1] >= level)
                    .map(|p| p[..m - 1].to_vec())
                    .collect();
                for cell in non_dominated_cells(&above, &reference[..m - 1]) {
                    let (mut lower, mut upper) = (cell.lower, cell.upper);
                    lower.push(bottom);
                    upper.push(level);
                    cells.push(BoxCell { lower, upper });
                }
                bottom = level;
            }
            cells
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{hypervolume, hypervolume_improvement};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_vectors_3d() {
        // methods-spec §5.5: P = {(1,2,3), (3,1,2), (2,3,1)}: HVI{(2,2,2)} = 1,
        // HVI{(2,2,2), (3,3,0.5)} = 2.
        let p = vec![
            vec![1.0, 2.0, 3.0],
            vec![3.0, 1.0, 2.0],
            vec![2.0, 3.0, 1.0],
        ];
        let cells = non_dominated_cells(&p, &[0.0; 3]);
        assert_eq!(hypervolume_improvement(&cells, &[vec![2.0; 3]]), 1.0);
        assert_eq!(
            hypervolume_improvement(&cells, &[vec![2.0; 3], vec![3.0, 3.0, 0.5]]),
            2.0
        );
    }

    fn points(m: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
        prop::collection::vec(
            prop::collection::vec((0u8..8).prop_map(|v| v as f64 / 2.0), m),
            0..7,
        )
    }

    proptest! {
        #[test]
        fn cells_give_exact_improvements(p in points(3), q in points(4),
                                         new3 in prop::collection::vec(prop::collection::vec(0.1f64..4.0, 3), 1..3),
                                         new4 in prop::collection::vec(prop::collection::vec(0.1f64..4.0, 4), 1..3)) {
            for (front, new, m) in [(p, new3, 3usize), (q, new4, 4usize)] {
                let r = vec![0.0; m];
                let cells = non_dominated_cells(&front, &r);
                let before = hypervolume(&front, &r).unwrap();
                let after = hypervolume(&[front.clone(), new.clone()].concat(), &r).unwrap();
                let hvi = hypervolume_improvement(&cells, &new);
                prop_assert!((hvi - (after - before)).abs() < 1e-9, "m={m}: {hvi} vs {}", after - before);
            }
        }

        #[test]
        fn cells_are_disjoint_and_undominated(p in points(3)) {
            let r = [0.0; 3];
            let cells = non_dominated_cells(&p, &r);
            // Finite probe box: pairwise intersections have zero volume.
            let clip = |v: f64| v.min(10.0);
            for (i, a) in cells.iter().enumerate() {
                for b in &cells[..i] {
                    let overlap: f64 = (0..3)
                        .map(|k| (clip(a.upper[k]).min(clip(b.upper[k])) - a.lower[k].max(b.lower[k])).max(0.0))
                        .product();
                    prop_assert!(overlap == 0.0);
                }
                // A cell's lower corner is not strictly dominated by any front point.
                let inner: Vec<f64> = (0..3).map(|k| a.lower[k] + 1e-9).collect();
                prop_assert!(!p.iter().any(|q| q.iter().zip(&inner).all(|(x, y)| x >= y)));
            }
        }
    }
}
