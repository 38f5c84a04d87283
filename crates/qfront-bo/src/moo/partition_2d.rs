//! The box decomposition of the region a 2-D Pareto front does **not** dominate (above the
//! reference point), by a direct sweep (methods-spec §5.5; BoTorch's 2-D fast path).

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
