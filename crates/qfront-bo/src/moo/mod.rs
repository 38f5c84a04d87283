//! Multi-objective building blocks, all in the **maximization** convention of BoTorch
//! (methods-spec §4.5, §5.5): Pareto filtering, exact hypervolume, the box decompositions of
//! the non-dominated and (three objectives) dominated regions, hypervolume improvement, reference-point inference, and the
//! subset of a long history a model is fitted on.

mod dominated_boxes;
mod exclusive;
mod hypervolume;
mod improvement;
mod model_subset;
mod pareto;
mod partition;
mod reference_point;
mod staircase;

pub use dominated_boxes::DominatedBoxes3;
pub use exclusive::{
    hypervolume_improvement_2d_sorted, hypervolume_improvement_single, sort_front_2d,
};
pub use hypervolume::{hypervolume, hypervolume_2d, hypervolume_3d, hypervolume_wfg};
pub use improvement::{hypervolume_improvement, BoxCell};
pub use model_subset::model_subset;
pub use pareto::{is_non_dominated, pareto_front};
pub use partition::{non_dominated_cells, non_dominated_cells_2d};
pub use reference_point::infer_reference_point;

/// Whether `a` weakly dominates `b` (maximization): `a_i ≥ b_i` for every objective.
#[inline]
pub fn weakly_dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y)
}

/// Checks that `points` all have `m` finite coordinates; `m_from` names what sets `m` (`the
/// reference point`, `point 0`), so a wrong length says which side to fix.
pub(crate) fn check_points(
    what: &str,
    points: &[Vec<f64>],
    m: usize,
    m_from: &str,
) -> crate::Result<()> {
    let count = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    for (i, p) in points.iter().enumerate() {
        if p.len() != m {
            return Err(crate::BoError::input(
                what,
                format!(
                    "point {i} has {} but {m_from} has {}; give every point one value per objective",
                    count(p.len(), "objective"),
                    count(m, "value")
                ),
            ));
        }
        if p.iter().any(|v| !v.is_finite()) {
            return Err(crate::BoError::input(
                what,
                format!("point {i} has a non-finite value {p:?}; drop failed evaluations first"),
            ));
        }
    }
    Ok(())
}
