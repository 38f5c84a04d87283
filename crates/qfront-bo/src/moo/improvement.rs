//! Hypervolume improvement of a batch of new points from a box decomposition of the
//! non-dominated region (methods-spec §4.5; BoTorch `_compute_qehvi`).

/// One axis-aligned box `[lower, upper]` of a decomposition (upper bounds may be +∞).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxCell {
    /// Lower corner.
    pub lower: Vec<f64>,
    /// Upper corner.
    pub upper: Vec<f64>,
}

/// `HVI(Y_new | P)` from the cells of the region `P` does not dominate, by inclusion–exclusion
/// over the subsets of the new points:
/// `Σ_k Σ_{j=1..q} (−1)^{j+1} Σ_{|S|=j} Π_i max(0, min(u_ki, min_{s∈S} y_si) − l_ki)`.
/// Exponential in `q = new.len()`, exact for any q (the sequential-greedy acquisitions use
/// q = 1 per step).
pub fn hypervolume_improvement(cells: &[BoxCell], new: &[Vec<f64>]) -> f64 {
    let q = new.len();
    if q == 0 {
        return 0.0;
    }
    let m = new[0].len();
    let mut total = 0.0;
    let mut corner = vec![0.0; m];
    for subset in 1u32..(1u32 << q) {
        corner.iter_mut().for_each(|c| *c = f64::INFINITY);
        for (s, y) in new.iter().enumerate() {
            if subset & (1 << s) != 0 {
                for (c, v) in corner.iter_mut().zip(y) {
                    *c = c.min(*v);
                }
            }
        }
        let sign = if subset.count_ones() % 2 == 1 {
            1.0
        } else {
            -1.0
        };
        for cell in cells {
            let mut volume = 1.0;
            for i in 0..m {
                let side = corner[i].min(cell.upper[i]) - cell.lower[i];
                if side <= 0.0 {
                    volume = 0.0;
                    break;
                }
                volume *= side;
            }
            total += sign * volume;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::super::{hypervolume, non_dominated_cells_2d};
    use super::*;
    use proptest::prelude::*;

    fn front() -> Vec<Vec<f64>> {
        vec![
            vec![1.0, 5.0],
            vec![2.0, 4.0],
            vec![3.0, 2.0],
            vec![4.0, 1.0],
        ]
    }

    #[test]
    fn spec_vectors_2d() {
        // methods-spec §5.5: K = 5 cells; HVI {(2.5,3)} = 0.5, {(2.5,3),(5,0.5)} = 1.0,
        // {(0.5,0.5)} = 0.
        let cells = non_dominated_cells_2d(&front(), &[0.0, 0.0]);
        assert_eq!(cells.len(), 5);
        assert_eq!(hypervolume_improvement(&cells, &[vec![2.5, 3.0]]), 0.5);
        assert_eq!(
            hypervolume_improvement(&cells, &[vec![2.5, 3.0], vec![5.0, 0.5]]),
            1.0
        );
        assert_eq!(hypervolume_improvement(&cells, &[vec![0.5, 0.5]]), 0.0);
    }

    proptest! {
        #[test]
        fn improvement_equals_the_hypervolume_difference(
            p in prop::collection::vec(prop::collection::vec(-1.0f64..5.0, 2), 0..8),
            new in prop::collection::vec(prop::collection::vec(-1.0f64..5.0, 2), 1..4),
        ) {
            let r = [0.0, 0.0];
            let cells = non_dominated_cells_2d(&p, &r);
            let before = hypervolume(&p, &r).unwrap();
            let after = hypervolume(&[p.clone(), new.clone()].concat(), &r).unwrap();
            let hvi = hypervolume_improvement(&cells, &new);
            prop_assert!((hvi - (after - before)).abs() < 1e-9, "{hvi} vs {}", after - before);
        }
    }
}
