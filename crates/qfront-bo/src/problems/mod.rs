//! The multi-objective test problems of BoTorch (`botorch/test_functions/multi_objective.py`,
//! methods-spec §5), written for **minimization** as there; the optimizer maximizes their
//! negation. Each carries its bounds, reference point and (where known) maximal hypervolume.

mod branin_currin;
mod dh;
mod dtlz;
mod embedded;
mod vehicle;
mod zdt;

pub use branin_currin::{BraninCurrin, ConstrainedBraninCurrin};
pub use dh::{Dh, DhVariant};
pub use dtlz::{Dtlz, DtlzVariant};
pub use embedded::Embedded;
pub use vehicle::{CarSideImpact, VehicleSafety};
pub use zdt::{Zdt, ZdtVariant};

use crate::{BoError, Result};

/// A benchmark problem (minimization of every objective).
pub trait Problem: Send + Sync {
    /// Name in kebab case, as `qfront bench mobo --problem` takes it.
    fn name(&self) -> String;
    /// Input dimension.
    fn dim(&self) -> usize;
    /// Number of objectives.
    fn num_objectives(&self) -> usize;
    /// Per-dimension `(low, high)` bounds.
    fn bounds(&self) -> Vec<(f64, f64)>;
    /// Objective values at `x` (inside the bounds, `x.len() == dim()`).
    fn evaluate(&self, x: &[f64]) -> Vec<f64>;
    /// The reference point (minimization frame), BoTorch's `ref_point`.
    fn reference_point(&self) -> Vec<f64>;
    /// The maximal hypervolume against the reference point, where known (BoTorch `_max_hv`).
    fn max_hypervolume(&self) -> Option<f64>;

    /// Number of constraints (0 for unconstrained problems).
    fn num_constraints(&self) -> usize {
        0
    }

    /// Constraint slacks at `x`, feasible when all are ≥ 0 (methods-spec §5 convention).
    fn constraint_slacks(&self, _x: &[f64]) -> Vec<f64> {
        Vec::new()
    }

    /// Maps `u` in the unit cube to `lower + u·(upper − lower)`.
    fn unit_to_bounds(&self, u: &[f64]) -> Vec<f64> {
        self.bounds()
            .iter()
            .zip(u)
            .map(|(&(lo, hi), &t)| lo + t * (hi - lo))
            .collect()
    }

    /// Evaluates at `lower + u·(upper − lower)` for `u` in the unit cube.
    fn evaluate_unit(&self, u: &[f64]) -> Vec<f64> {
        let x: Vec<f64> = self
            .bounds()
            .iter()
            .zip(u)
            .map(|(&(lo, hi), &t)| lo + t * (hi - lo))
            .collect();
        self.evaluate(&x)
    }
}

/// The problems `qfront bench mobo --problem` knows, by kebab-case name. `dim` and `objectives`
/// apply where the problem takes them (DTLZ, ZDT, DH); `None` picks the defaults of the peer
/// benchmarks (DTLZ d = 6, m = 2; ZDT d = 6; DH d = 3).
pub fn problem_by_name(
    name: &str,
    dim: Option<usize>,
    objectives: Option<usize>,
) -> Result<Box<dyn Problem>> {
    let fixed = |p: Box<dyn Problem>| -> Result<Box<dyn Problem>> {
        if dim.is_some_and(|d| d != p.dim()) || objectives.is_some_and(|m| m != p.num_objectives())
        {
            return Err(BoError::InvalidProblem {
                problem: name.into(),
                reason: format!(
                    "it has fixed d = {} and m = {}; drop --dim/--objectives",
                    p.dim(),
                    p.num_objectives()
                ),
            });
        }
        Ok(p)
    };
    let m = objectives.unwrap_or(2);
    Ok(match name {
        "branin-currin" => fixed(Box::new(BraninCurrin))?,
        "constrained-branin-currin" => fixed(Box::new(ConstrainedBraninCurrin))?,
        "vehicle-safety" => fixed(Box::new(VehicleSafety))?,
        "car-side-impact" => fixed(Box::new(CarSideImpact))?,
        "dtlz1" | "dtlz2" | "dtlz3" | "dtlz5" | "dtlz7" => {
            let variant = match name {
                "dtlz1" => DtlzVariant::Dtlz1,
                "dtlz2" => DtlzVariant::Dtlz2,
                "dtlz3" => DtlzVariant::Dtlz3,
                "dtlz5" => DtlzVariant::Dtlz5,
                _ => DtlzVariant::Dtlz7,
            };
            Box::new(Dtlz::new(variant, dim.unwrap_or(6), m)?)
        }
        "dtlz2-30d" => fixed(Box::new(Embedded::new(
            Box::new(Dtlz::new(DtlzVariant::Dtlz2, 6, 2)?),
            30,
            "dtlz2-30d",
        )?))?,
        "zdt1" | "zdt2" | "zdt3" => {
            if objectives.is_some_and(|m| m != 2) {
                return Err(BoError::InvalidProblem {
                    problem: name.into(),
                    reason: "ZDT problems have 2 objectives".into(),
                });
            }
            let variant = match name {
                "zdt1" => ZdtVariant::Zdt1,
                "zdt2" => ZdtVariant::Zdt2,
                _ => ZdtVariant::Zdt3,
            };
            Box::new(Zdt::new(variant, dim.unwrap_or(6))?)
        }
        "dh1" | "dh2" | "dh3" | "dh4" => {
            if objectives.is_some_and(|m| m != 2) {
                return Err(BoError::InvalidProblem {
                    problem: name.into(),
                    reason: "DH problems have 2 objectives".into(),
                });
            }
            let variant = match name {
                "dh1" => DhVariant::Dh1,
                "dh2" => DhVariant::Dh2,
                "dh3" => DhVariant::Dh3,
                _ => DhVariant::Dh4,
            };
            Box::new(Dh::new(variant, dim.unwrap_or(3))?)
        }
        other => {
            return Err(BoError::InvalidProblem {
                problem: other.into(),
                reason: format!(
                    "unknown problem; choose one of {}",
                    PROBLEM_NAMES.join(", ")
                ),
            })
        }
    })
}

/// Every name [`problem_by_name`] accepts.
pub const PROBLEM_NAMES: [&str; 17] = [
    "branin-currin",
    "constrained-branin-currin",
    "dtlz1",
    "dtlz2",
    "dtlz3",
    "dtlz5",
    "dtlz7",
    "dtlz2-30d",
    "zdt1",
    "zdt2",
    "zdt3",
    "vehicle-safety",
    "car-side-impact",
    "dh1",
    "dh2",
    "dh3",
    "dh4",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_builds_and_is_consistent() {
        for name in PROBLEM_NAMES {
            let p = problem_by_name(name, None, None).unwrap();
            assert_eq!(p.name(), name);
            assert_eq!(p.bounds().len(), p.dim());
            assert_eq!(p.reference_point().len(), p.num_objectives());
            let f = p.evaluate_unit(&vec![0.3; p.dim()]);
            assert_eq!(f.len(), p.num_objectives());
            assert!(f.iter().all(|v| v.is_finite()), "{name}: {f:?}");
        }
        let p = problem_by_name("dtlz2", Some(10), Some(3)).unwrap();
        assert_eq!((p.dim(), p.num_objectives()), (10, 3));
        assert!(problem_by_name("branin-currin", Some(3), None).is_err());
        let e = problem_by_name("rosenbrock", None, None).err().unwrap();
        assert!(e.to_string().contains("zdt1"), "{e}");
        // dtlz2-30d ignores all but its first 6 inputs.
        let p = problem_by_name("dtlz2-30d", None, None).unwrap();
        let mut u = vec![0.25; 30];
        let a = p.evaluate_unit(&u);
        u[6..].iter_mut().for_each(|v| *v = 0.9);
        assert_eq!(a, p.evaluate_unit(&u));
    }
}

#[cfg(test)]
pub(crate) mod golden {
    use super::Problem;

    /// Checks the values at `u = 0.25, 0.5, 0.75` in every dimension (methods-spec §5.4).
    pub fn check(p: &dyn Problem, expected: &[&[f64]], tolerance: f64) {
        for (u, want) in [0.25, 0.5, 0.75].iter().zip(expected) {
            let got = p.evaluate_unit(&vec![*u; p.dim()]);
            assert_eq!(got.len(), want.len(), "{}", p.name());
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(
                    (g - w).abs() <= tolerance * w.abs().max(1.0),
                    "{} at u = {u}: got {got:?}, want {want:?}",
                    p.name()
                );
            }
        }
    }
}
