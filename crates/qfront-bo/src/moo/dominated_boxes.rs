//! The region a 3-objective front dominates (above the reference point, maximization) as
//! disjoint boxes, built once, so that the hypervolume improvement of many single points
//! costs one pass over the boxes each, with no sorting and no allocation.
//!
//! The boxes come from the dimension sweep of Beume et al. (2009) that [`super::hypervolume_3d`]
//! runs: the points are taken by the third objective, descending, and each one newly covers
//! some strips of the first two objectives' plane (`Staircase::insert_reporting_strips`).
//! Such a strip stays covered for every lower third coordinate, so it is dominated exactly on
//! `strip × [r₃, z]` with `z` the point's third objective. Those boxes are disjoint, cover the
//! dominated region, and number at most `2n` for `n` points (an entry of the staircase is
//! removed at most once) — the linear count of the local upper bounds for m = 3 (Lacour,
//! Klamroth and Fonseca 2017), without their update rules.
//!
//! For a point `y > r`: `HVI(y) = Π_j (y_j − r_j) − Σ_b Π_j (min(y_j, u_j) − l_j)⁺`, and
//! `∂HVI/∂y_i = Π_{j≠i} (y_j − r_j) − Σ_{b : l_i < y_i ≤ u_i} Π_{j≠i} (min(y_j, u_j) − l_j)⁺`,
//! the face of `[r, y]` at `y_i` less the part of it the front dominates (the slice
//! `moo::exclusive` computes as a 2-D hypervolume).

use super::staircase::{SortedStaircase, Staircase, TreeStaircase, ARRAY_STAIRCASE_MAX_POINTS};

/// The dominated region of a 3-objective front as disjoint boxes `[lower, upper]`.
#[derive(Debug, Clone, Default)]
pub struct DominatedBoxes3 {
    reference: [f64; 3],
    lower: Vec<[f64; 3]>,
    upper: Vec<[f64; 3]>,
}

impl DominatedBoxes3 {
    /// The boxes of `front` against `reference` (three objectives each; points not strictly
    /// better than `reference` in every objective, and dominated points, add no box).
    pub fn new<P: AsRef<[f64]>>(front: &[P], reference: &[f64]) -> Self {
        let reference = [reference[0], reference[1], reference[2]];
        let mut points: Vec<[f64; 3]> = front
            .iter()
            .map(|p| {
                let p = p.as_ref();
                [p[0], p[1], p[2]]
            })
            .filter(|p| p.iter().zip(&reference).all(|(a, r)| a > r))
            .collect();
        points.sort_by(|a, b| b[2].total_cmp(&a[2]));
        let mut boxes = Self {
            reference,
            lower: Vec::with_capacity(2 * points.len()),
            upper: Vec::with_capacity(2 * points.len()),
        };
        if points.len() <= ARRAY_STAIRCASE_MAX_POINTS {
            boxes.sweep(&points, SortedStaircase::with_capacity(points.len()));
        } else {
            boxes.sweep(&points, TreeStaircase::default());
        }
        boxes
    }

    fn sweep(&mut self, points: &[[f64; 3]], mut staircase: impl Staircase) {
        let plane = [self.reference[0], self.reference[1]];
        let bottom = self.reference[2];
        for &[a, b, z] in points {
            staircase.insert_reporting_strips(a, b, plane, |left, lower, upper| {
                // Strips of zero width or height (ties) cover nothing.
                if left < a && lower < upper {
                    self.lower.push([left, lower, bottom]);
                    self.upper.push([a, upper, z]);
                }
            });
        }
    }

    /// The number of boxes.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// Whether the front dominates nothing above the reference point.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The dominated volume: the front's hypervolume.
    pub fn volume(&self) -> f64 {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| (u[0] - l[0]) * (u[1] - l[1]) * (u[2] - l[2]))
            .sum()
    }

    /// `(HVI(y), ∂HVI/∂y)` of one point `y` (see the module notes); the gradient is left at
    /// zero unless `with_gradient`. Both are zero when `y` does not clear the reference point
    /// in every objective, and the value is clamped at zero against rounding.
    pub fn improvement(&self, y: &[f64], with_gradient: bool) -> (f64, [f64; 3]) {
        let r = &self.reference;
        let (y0, y1, y2) = (y[0], y[1], y[2]);
        if y0 <= r[0] || y1 <= r[1] || y2 <= r[2] {
            return (0.0, [0.0; 3]);
        }
        let (mut covered, mut face) = (0.0, [0.0; 3]);
        for (l, u) in self.lower.iter().zip(&self.upper) {
            let lengths = [
                y0.min(u[0]) - l[0],
                y1.min(u[1]) - l[1],
                y2.min(u[2]) - l[2],
            ];
            if lengths[0] <= 0.0 || lengths[1] <= 0.0 || lengths[2] <= 0.0 {
                continue;
            }
            covered += lengths[0] * lengths[1] * lengths[2];
            if with_gradient {
                // The slice at y_i cuts this box when l_i < y_i ≤ u_i.
                if y0 <= u[0] {
                    face[0] += lengths[1] * lengths[2];
                }
                if y1 <= u[1] {
                    face[1] += lengths[0] * lengths[2];
                }
                if y2 <= u[2] {
                    face[2] += lengths[0] * lengths[1];
                }
            }
        }
        let sides = [y0 - r[0], y1 - r[1], y2 - r[2]];
        let value = sides[0] * sides[1] * sides[2] - covered;
        if value <= 0.0 {
            return (0.0, [0.0; 3]);
        }
        let gradient = if with_gradient {
            [
                sides[1] * sides[2] - face[0],
                sides[0] * sides[2] - face[1],
                sides[0] * sides[1] - face[2],
            ]
        } else {
            [0.0; 3]
        };
        (value, gradient)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{hypervolume, hypervolume_improvement_single};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_vectors() {
        // methods-spec §5.5: P = {(1,2,3), (3,1,2), (2,3,1)}, r = 0: HVI{(2,2,2)} = 1.
        let p = vec![
            vec![1.0, 2.0, 3.0],
            vec![3.0, 1.0, 2.0],
            vec![2.0, 3.0, 1.0],
        ];
        let boxes = DominatedBoxes3::new(&p, &[0.0; 3]);
        assert_eq!(boxes.improvement(&[2.0; 3], false).0, 1.0);
        assert_eq!(boxes.volume(), hypervolume(&p, &[0.0; 3]).unwrap());
        // With no front, the gradient is the face areas of the box [r, y].
        let empty = DominatedBoxes3::new::<Vec<f64>>(&[], &[0.0; 3]);
        assert!(empty.is_empty());
        assert_eq!(
            empty.improvement(&[2.0, 3.0, 4.0], true),
            (24.0, [12.0, 8.0, 6.0])
        );
        // A dominated point and one below the reference improve nothing.
        assert_eq!(boxes.improvement(&[1.0, 1.0, 1.0], true), (0.0, [0.0; 3]));
        assert_eq!(boxes.improvement(&[5.0, 5.0, -1.0], true), (0.0, [0.0; 3]));
    }

    /// Grid values in [0, 4), so ties between coordinates are common.
    fn points(count: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Vec<f64>>> {
        prop::collection::vec(
            prop::collection::vec((0u8..16).prop_map(|v| v as f64 / 4.0), 3),
            count,
        )
    }

    proptest! {
        /// The boxes are disjoint and their volume is the front's hypervolume, ties and
        /// dominated points included.
        #[test]
        fn boxes_are_disjoint_and_fill_the_dominated_region(p in points(0..12)) {
            let r = [0.1, -0.2, 0.3];
            let boxes = DominatedBoxes3::new(&p, &r);
            let useful: Vec<Vec<f64>> = p.iter().filter(|q| q.iter().zip(&r).all(|(a, b)| a > b)).cloned().collect();
            prop_assert!(boxes.len() <= 2 * useful.len());
            let want = hypervolume(&useful, &r).unwrap();
            prop_assert!((boxes.volume() - want).abs() < 1e-9, "{} vs {want}", boxes.volume());
            for i in 0..boxes.len() {
                for j in 0..i {
                    let overlap: f64 = (0..3)
                        .map(|k| (boxes.upper[i][k].min(boxes.upper[j][k]) - boxes.lower[i][k].max(boxes.lower[j][k])).max(0.0))
                        .product();
                    prop_assert!(overlap == 0.0);
                }
            }
        }

        /// Value and gradient equal the limited-set computation (`moo::exclusive`), which
        /// is checked against hypervolume differences and finite differences.
        #[test]
        fn improvement_matches_the_limited_set(p in points(0..12), y in prop::collection::vec(0.05f64..4.0, 3)) {
            let r = [0.0, 0.01, 0.02];
            let useful: Vec<Vec<f64>> = p.iter().filter(|q| q.iter().zip(&r).all(|(a, b)| a > b)).cloned().collect();
            let (v, g) = DominatedBoxes3::new(&p, &r).improvement(&y, true);
            let (want, want_gradient) = hypervolume_improvement_single(&useful, &y, &r, true);
            prop_assert!((v - want).abs() < 1e-9, "{v} vs {want}");
            if want > 1e-9 {
                for i in 0..3 {
                    prop_assert!((g[i] - want_gradient[i]).abs() < 1e-9, "{i}: {g:?} vs {want_gradient:?}");
                }
            }
            let (value_only, no_gradient) = DominatedBoxes3::new(&p, &r).improvement(&y, false);
            prop_assert_eq!(value_only.to_bits(), v.to_bits());
            prop_assert_eq!(no_gradient, [0.0; 3]);
        }
    }
}
