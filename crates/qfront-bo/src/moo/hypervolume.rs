//! Exact hypervolume (maximization): the Lebesgue measure of `∪_{y ∈ P, y ≻ r} [r, y]`.
//!
//! - m = 2: sort and sweep, `O(n log n)`;
//! - m = 3: the dimension sweep of Beume, Fonseca, López-Ibáñez, Paquete and Vahrenhold
//!   ("On the complexity of computing the hypervolume indicator", IEEE TEC 2009), which keeps
//!   the 2-D front of the points seen so far in order, in the paper's balanced tree
//!   (`O(n log n)`) or, for up to 2,048 points, a sorted array (module `staircase`);
//! - m = 4: slices along the fourth objective (HSO, While, Hingston, Barone and Huband,
//!   IEEE TEC 2006), each slab the 3-D sweep of the points above it, `O(n² log n)`;
//! - m ≥ 5: WFG (While, Bradstreet and Barone, "A fast way of calculating exact
//!   hypervolumes", IEEE TEC 2012), recursing down to the 4-D slicing.
//!
//! Points not strictly better than `r` in every objective add nothing and are dropped first.
//! Written here because no maintained Rust crate computes exact hypervolumes.

use super::staircase::{SortedStaircase, Staircase, TreeStaircase, ARRAY_STAIRCASE_MAX_POINTS};
use super::{check_points, is_non_dominated};
use crate::{BoError, Result};

/// The hypervolume of `points` with respect to `reference` (any number of objectives ≥ 1).
/// Checks shapes and finiteness; see the module notes for the algorithms.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> Result<f64> {
    let m = reference.len();
    if m == 0 {
        return Err(BoError::input(
            "hypervolume",
            "the reference point is empty",
        ));
    }
    if reference.iter().any(|v| !v.is_finite()) {
        return Err(BoError::input(
            "hypervolume",
            format!("the reference point {reference:?} is not finite"),
        ));
    }
    check_points("hypervolume", points, m, "the reference point")?;
    let useful: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| p.iter().zip(reference).all(|(y, r)| y > r))
        .cloned()
        .collect();
    Ok(hypervolume_unchecked(&useful, reference))
}

/// The algorithm for `reference.len()` objectives, on points already checked and strictly
/// better than `reference` (the hot path of the acquisitions).
pub(crate) fn hypervolume_unchecked(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    match reference.len() {
        1 => points
            .iter()
            .map(|p| p[0] - reference[0])
            .fold(0.0, f64::max),
        2 => hypervolume_2d(points, reference),
        3 => hypervolume_3d(points, reference),
        4 => hypervolume_4d(points, reference),
        _ => hypervolume_wfg(points, reference),
    }
}

/// m = 4 by slicing (see the module notes). The 3-D sweep per slab keeps this polynomial;
/// WFG's limited sets stay 4-dimensional at every level of its recursion, which made a
/// 4-objective ask take seconds (issue #17). Assumes every point is strictly better than
/// `reference`.
pub fn hypervolume_4d(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let mut sorted: Vec<&Vec<f64>> = points.iter().collect();
    sorted.sort_by(|a, b| b[3].total_cmp(&a[3]));
    // The points above the current slab, projected on the first three objectives, kept
    // non-dominated: a projection some earlier one dominates adds nothing to any slab below,
    // and the slab's area only changes when the set does.
    let mut above: Vec<Vec<f64>> = Vec::with_capacity(sorted.len());
    let (mut area, mut volume) = (0.0, 0.0);
    for (k, p) in sorted.iter().enumerate() {
        let projection = &p[..3];
        if !above.iter().any(|a| super::weakly_dominates(a, projection)) {
            above.retain(|a| !super::weakly_dominates(projection, a));
            above.push(projection.to_vec());
            area = hypervolume_3d(&above, &reference[..3]);
        }
        let next = sorted.get(k + 1).map_or(reference[3], |q| q[3]);
        volume += area * (p[3] - next);
    }
    volume
}

/// 2-D sweep. Assumes every point is strictly better than `reference` (as [`hypervolume`]
/// ensures). Points may be `Vec<f64>` or fixed arrays (`[f64; 2]`).
pub fn hypervolume_2d<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> f64 {
    let mut sorted: Vec<&[f64]> = points.iter().map(AsRef::as_ref).collect();
    sorted.sort_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
    let (mut volume, mut best_y) = (0.0, reference[1]);
    for p in sorted {
        if p[1] > best_y {
            volume += (p[0] - reference[0]) * (p[1] - best_y);
            best_y = p[1];
        }
    }
    volume
}

/// 3-D dimension sweep (Beume et al. 2009). Assumes every point is strictly better than
/// `reference`. Points may be `Vec<f64>` or `[f64; 3]`.
pub fn hypervolume_3d<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> f64 {
    if points.len() <= ARRAY_STAIRCASE_MAX_POINTS {
        sweep_3d(
            points,
            reference,
            SortedStaircase::with_capacity(points.len()),
        )
    } else {
        sweep_3d(points, reference, TreeStaircase::default())
    }
}

/// The sweep along the third objective, descending, keeping the 2-D front of the points seen
/// so far in `front` and the area it covers.
fn sweep_3d<P: AsRef<[f64]>>(points: &[P], reference: &[f64], mut front: impl Staircase) -> f64 {
    // Sorted as references to the points themselves (thin for `Vec` and arrays alike).
    let mut sorted: Vec<&P> = points.iter().collect();
    sorted.sort_by(|a, b| b.as_ref()[2].total_cmp(&a.as_ref()[2]));
    let (mut area, mut volume) = (0.0, 0.0);
    let mut last_z = sorted.first().map_or(reference[2], |p| p.as_ref()[2]);
    for p in sorted {
        let p = p.as_ref();
        let (a, b, z) = (p[0], p[1], p[2]);
        volume += area * (last_z - z);
        last_z = z;
        let mut added = 0.0;
        front.insert_reporting_strips(a, b, [reference[0], reference[1]], |left, lower, upper| {
            added += (a - left) * (upper - lower)
        });
        area += added;
    }
    volume + area * (last_z - reference[2])
}

/// WFG for any m ≥ 2 (While et al. 2012): `HV(P) = Σ_k exclusive(p_k | p_{k+1..})`, where the
/// exclusive part is the box of `p_k` minus the hypervolume of the remaining points limited
/// to it (component-wise minimum), computed recursively on their non-dominated subset.
/// Assumes every point is strictly better than `reference`.
pub fn hypervolume_wfg(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let m = reference.len();
    match m {
        2 => return hypervolume_2d(points, reference),
        3 => return hypervolume_3d(points, reference),
        4 => return hypervolume_4d(points, reference),
        _ => {}
    }
    let mut sorted: Vec<Vec<f64>> = points.to_vec();
    // Sorting by the last objective (descending) keeps the limited sets small.
    sorted.sort_by(|a, b| b[m - 1].total_cmp(&a[m - 1]));
    let mut volume = 0.0;
    for k in 0..sorted.len() {
        let own: f64 = sorted[k]
            .iter()
            .zip(reference)
            .map(|(y, r)| y - r)
            .product();
        let limited: Vec<Vec<f64>> = sorted[k + 1..]
            .iter()
            .map(|q| q.iter().zip(&sorted[k]).map(|(a, b)| a.min(*b)).collect())
            .filter(|q: &Vec<f64>| q.iter().zip(reference).all(|(y, r)| y > r))
            .collect();
        let mask = is_non_dominated(&limited);
        let limited: Vec<Vec<f64>> = limited
            .into_iter()
            .zip(mask)
            .filter_map(|(q, keep)| keep.then_some(q))
            .collect();
        volume += own - hypervolume_wfg(&limited, reference);
    }
    volume
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The obviously correct reference: inclusion–exclusion over all subsets (the volume of
    /// an intersection of boxes [r, y] is the box of the component-wise minimum).
    fn inclusion_exclusion(points: &[Vec<f64>], reference: &[f64]) -> f64 {
        let n = points.len();
        let mut total = 0.0;
        for mask in 1u32..(1 << n) {
            let mut corner = vec![f64::INFINITY; reference.len()];
            for (i, p) in points.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    for (c, y) in corner.iter_mut().zip(p) {
                        *c = c.min(*y);
                    }
                }
            }
            let vol: f64 = corner
                .iter()
                .zip(reference)
                .map(|(c, r)| (c - r).max(0.0))
                .product();
            total += if mask.count_ones() % 2 == 1 {
                vol
            } else {
                -vol
            };
        }
        total
    }

    #[test]
    fn spec_vectors() {
        // methods-spec §5.5: 2-D HV 12.0, 3-D HV 13.375 (reference 0).
        let y2 = vec![
            vec![1.0, 5.0],
            vec![2.0, 4.0],
            vec![3.0, 2.0],
            vec![4.0, 1.0],
            vec![1.5, 1.5],
        ];
        assert_eq!(hypervolume(&y2, &[0.0, 0.0]).unwrap(), 12.0);
        let y3 = vec![
            vec![1.0, 2.0, 3.0],
            vec![3.0, 1.0, 2.0],
            vec![2.0, 3.0, 1.0],
            vec![1.0, 1.0, 1.0],
            vec![2.5, 2.5, 0.5],
        ];
        assert_eq!(hypervolume(&y3, &[0.0; 3]).unwrap(), 13.375);
        let mut y4: Vec<Vec<f64>> = y3.iter().map(|p| [p.clone(), vec![1.0]].concat()).collect();
        y4.push(vec![0.5, 0.5, 0.5, 2.0]);
        let expected = inclusion_exclusion(&y4, &[0.0; 4]);
        assert!((hypervolume(&y4, &[0.0; 4]).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_named() {
        assert!(hypervolume(&[vec![1.0, f64::NAN]], &[0.0, 0.0]).is_err());
        assert!(hypervolume(&[vec![1.0]], &[0.0, 0.0]).is_err());
        // A length that differs from the reference point's: both lengths are named, the
        // reference point among them.
        let message = hypervolume(&[vec![1.0, 2.0], vec![2.0, 1.0]], &[0.0])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("point 0 has 2 objectives but the reference point has 1 value"),
            "{message}"
        );
        // Ragged points: the one that differs is named.
        let message = hypervolume(&[vec![1.0, 2.0], vec![2.0]], &[0.0, 0.0])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("point 1 has 1 objective but the reference point has 2 values"),
            "{message}"
        );
        assert_eq!(hypervolume(&[], &[0.0, 0.0]).unwrap(), 0.0);
        assert_eq!(hypervolume(&[vec![-1.0, 5.0]], &[0.0, 0.0]).unwrap(), 0.0);
    }

    fn points(m: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
        // Coarse grid values make ties (equal coordinates) common.
        prop::collection::vec(
            prop::collection::vec((0u8..8).prop_map(|v| v as f64 / 2.0 - 0.5), m),
            0..9,
        )
    }

    proptest! {
        #[test]
        fn two_d_matches_inclusion_exclusion(p in points(2)) {
            let want = inclusion_exclusion(&p, &[0.0; 2]);
            prop_assert!((hypervolume(&p, &[0.0; 2]).unwrap() - want).abs() < 1e-9);
        }

        #[test]
        fn three_d_matches_inclusion_exclusion(p in points(3)) {
            let want = inclusion_exclusion(&p, &[0.0; 3]);
            prop_assert!((hypervolume(&p, &[0.0; 3]).unwrap() - want).abs() < 1e-9);
        }

        #[test]
        fn wfg_matches_inclusion_exclusion(p in points(4), q in points(5)) {
            let want = inclusion_exclusion(&p, &[0.0; 4]);
            prop_assert!((hypervolume(&p, &[0.0; 4]).unwrap() - want).abs() < 1e-9);
            let want = inclusion_exclusion(&q, &[0.0; 5]);
            prop_assert!((hypervolume(&q, &[0.0; 5]).unwrap() - want).abs() < 1e-9);
        }

        #[test]
        fn slicing_agrees_with_inclusion_exclusion(p in points(4)) {
            let useful: Vec<Vec<f64>> = p.into_iter().filter(|q| q.iter().all(|&v| v > 0.0)).collect();
            let want = inclusion_exclusion(&useful, &[0.0; 4]);
            prop_assert!((hypervolume_4d(&useful, &[0.0; 4]) - want).abs() < 1e-9);
        }

        /// The two staircase stores give the same volume to the bit (the same arithmetic in
        /// the same order), on sets with many ties (some of
        /// values whose sums round) and on larger random ones.
        #[test]
        fn the_array_and_the_tree_sweep_alike(
            p in points(3),
            ties in prop::collection::vec(
                prop::collection::vec((1u8..6).prop_map(|v| f64::from(v) / 3.7), 3),
                0..40,
            ),
            q in prop::collection::vec(prop::collection::vec(0.01f64..1.0, 3), 0..300),
        ) {
            for set in [p, ties, q] {
                let useful: Vec<Vec<f64>> = set.into_iter().filter(|v| v.iter().all(|&c| c > 0.0)).collect();
                let array = sweep_3d(&useful, &[0.0; 3], SortedStaircase::default());
                let tree = sweep_3d(&useful, &[0.0; 3], TreeStaircase::default());
                prop_assert_eq!(array.to_bits(), tree.to_bits());
            }
        }

        #[test]
        fn wfg_agrees_with_the_sweeps(p in points(3)) {
            let useful: Vec<Vec<f64>> = p.into_iter().filter(|q| q.iter().all(|&v| v > 0.0)).collect();
            let sweep = hypervolume_3d(&useful, &[0.0; 3]);
            // Force the generic recursion by adding a constant fourth objective.
            let lifted: Vec<Vec<f64>> = useful.iter().map(|q| [q.clone(), vec![1.0]].concat()).collect();
            prop_assert!((hypervolume_wfg(&lifted, &[0.0; 4]) - sweep).abs() < 1e-9);
        }
    }
}
