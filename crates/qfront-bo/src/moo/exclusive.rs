//! The hypervolume improvement of one new point and its gradient, without a box
//! decomposition: `HVI(y | P) = Π_i (y_i − r_i) − HV({min(p, y) : p ∈ P})`, the volume of the
//! box `[r, y]` minus the part of it `P` already dominates ("limited set", While et al. 2012).
//!
//! Its partial derivative in `y_i` is the (m−1)-volume of the slice `z_i = y_i` of the box
//! that `P` does not dominate: `Π_{j≠i}(y_j − r_j) − HV_{m−1}({min(p, y)_{−i} : p_i ≥ y_i})`.
//! The sequential-greedy acquisitions score one point at a time, so this is all they need.

use super::hypervolume::hypervolume_unchecked;

/// The 2-D case without allocation, for a front sorted by the first objective, descending
/// (as [`sort_front_2d`] leaves it): one sweep gives the value and both face lengths.
pub fn hypervolume_improvement_2d_sorted(
    front: &[Vec<f64>],
    y: &[f64],
    reference: &[f64],
) -> (f64, [f64; 2]) {
    let (y0, y1, r0, r1) = (y[0], y[1], reference[0], reference[1]);
    if y0 <= r0 || y1 <= r1 {
        return (0.0, [0.0; 2]);
    }
    let (mut covered, mut best_b) = (0.0, r1);
    // Longest exposed-face cover along each axis.
    let (mut cover_top, mut cover_right) = (0.0f64, 0.0f64);
    for p in front {
        let (a, b) = (p[0].min(y0), p[1].min(y1));
        if a <= r0 || b <= r1 {
            continue;
        }
        if b > best_b {
            covered += (a - r0) * (b - best_b);
            best_b = b;
        }
        if p[0] >= y0 {
            cover_right = cover_right.max(b - r1);
        }
        if p[1] >= y1 {
            cover_top = cover_top.max(a - r0);
        }
    }
    let value = (y0 - r0) * (y1 - r1) - covered;
    if value <= 0.0 {
        return (0.0, [0.0; 2]);
    }
    (value, [(y1 - r1) - cover_right, (y0 - r0) - cover_top])
}

/// Sorts a 2-D front by the first objective, descending (ties: second descending).
pub fn sort_front_2d(front: &mut [Vec<f64>]) {
    front.sort_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
}

/// `(HVI(y | front), ∂HVI/∂y)` for maximization with reference `reference`, any number of
/// objectives: the limited set's hypervolume, and each gradient component's slice as an
/// (m−1)-objective hypervolume. `front` should hold only points strictly better than
/// `reference` in every objective (others add nothing and are skipped anyway). For many
/// points against one 3-objective front, `moo::DominatedBoxes3` is the faster path.
pub fn hypervolume_improvement_single(
    front: &[Vec<f64>],
    y: &[f64],
    reference: &[f64],
    with_gradient: bool,
) -> (f64, Vec<f64>) {
    let m = y.len();
    if y.iter().zip(reference).any(|(a, r)| a <= r) {
        return (0.0, vec![0.0; m]);
    }
    let mut grad = vec![0.0; m];
    let limited: Vec<Vec<f64>> = front
        .iter()
        .map(|p| {
            p.iter()
                .zip(y)
                .map(|(a, b)| a.min(*b))
                .collect::<Vec<f64>>()
        })
        .filter(|p| p.iter().zip(reference).all(|(a, r)| a > r))
        .collect();
    let box_volume: f64 = y.iter().zip(reference).map(|(a, r)| a - r).product();
    let value = box_volume - hypervolume_unchecked(&limited, reference);
    if with_gradient && value > 0.0 {
        for i in 0..m {
            let face: f64 = (0..m)
                .filter(|&j| j != i)
                .map(|j| y[j] - reference[j])
                .product();
            let sub_reference: Vec<f64> =
                (0..m).filter(|&j| j != i).map(|j| reference[j]).collect();
            let slice: Vec<Vec<f64>> = limited
                .iter()
                .filter(|p| p[i] >= y[i])
                .map(|p| (0..m).filter(|&j| j != i).map(|j| p[j]).collect())
                .collect();
            grad[i] = face - hypervolume_unchecked(&slice, &sub_reference);
        }
    }
    (value.max(0.0), grad)
}

#[cfg(test)]
mod tests {
    use super::super::{hypervolume, hypervolume_improvement, non_dominated_cells_2d};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_vectors() {
        // methods-spec §5.5: 2-D HVI {(2.5, 3)} = 0.5; 3-D HVI {(2,2,2)} = 1.0.
        let p2 = vec![
            vec![1.0, 5.0],
            vec![2.0, 4.0],
            vec![3.0, 2.0],
            vec![4.0, 1.0],
        ];
        assert_eq!(
            hypervolume_improvement_single(&p2, &[2.5, 3.0], &[0.0; 2], false).0,
            0.5
        );
        let p3 = vec![
            vec![1.0, 2.0, 3.0],
            vec![3.0, 1.0, 2.0],
            vec![2.0, 3.0, 1.0],
        ];
        assert_eq!(
            hypervolume_improvement_single(&p3, &[2.0; 3], &[0.0; 3], false).0,
            1.0
        );
        // Gradient of a lone box: the face areas.
        let (v, g) = hypervolume_improvement_single(&[], &[2.0, 3.0, 4.0], &[0.0; 3], true);
        assert_eq!((v, g), (24.0, vec![12.0, 8.0, 6.0]));
    }

    fn front(m: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
        prop::collection::vec(prop::collection::vec(0.05f64..4.0, m), 0..7)
    }

    proptest! {
        #[test]
        fn value_matches_the_hypervolume_difference(p in front(3), y in prop::collection::vec(0.05f64..4.0, 3)) {
            let r = [0.0; 3];
            let want = hypervolume(&[p.clone(), vec![y.clone()]].concat(), &r).unwrap()
                - hypervolume(&p, &r).unwrap();
            let got = hypervolume_improvement_single(&p, &y, &r, false).0;
            prop_assert!((got - want).abs() < 1e-9);
        }

        #[test]
        fn the_2d_sweep_matches_the_general_path(mut p in front(2), y in prop::collection::vec(0.05f64..4.0, 2)) {
            let r = [0.0; 2];
            let (v, g) = hypervolume_improvement_single(&p, &y, &r, true);
            sort_front_2d(&mut p);
            let (v2, g2) = hypervolume_improvement_2d_sorted(&p, &y, &r);
            prop_assert!((v - v2).abs() < 1e-9);
            prop_assert!((g[0] - g2[0]).abs() < 1e-9 && (g[1] - g2[1]).abs() < 1e-9, "{g:?} vs {g2:?}");
        }

        #[test]
        fn value_matches_the_2d_cells(p in front(2), y in prop::collection::vec(0.05f64..4.0, 2)) {
            let r = [0.0; 2];
            let cells = non_dominated_cells_2d(&p, &r);
            let want = hypervolume_improvement(&cells, std::slice::from_ref(&y));
            prop_assert!((hypervolume_improvement_single(&p, &y, &r, false).0 - want).abs() < 1e-9);
        }

        #[test]
        fn gradient_matches_finite_differences(p in front(3), y in prop::collection::vec(0.05f64..4.0, 3)) {
            let r = [0.0; 3];
            let (_, g) = hypervolume_improvement_single(&p, &y, &r, true);
            // Piecewise polynomial: check a one-sided difference away from kinks.
            let h = 1e-7;
            for i in 0..3 {
                let kink = p.iter().any(|q| (q[i] - y[i]).abs() < 1e-4);
                if kink { continue; }
                let mut up = y.clone();
                up[i] += h;
                let numeric = (hypervolume_improvement_single(&p, &up, &r, false).0
                    - hypervolume_improvement_single(&p, &y, &r, false).0) / h;
                prop_assert!((numeric - g[i]).abs() < 1e-4 * numeric.abs().max(1.0), "{i}: {numeric} vs {}", g[i]);
            }
        }
    }
}
