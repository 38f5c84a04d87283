//! `qfront._native`: the Rust half of the `qfront` Python package (PyO3, abi3).
//!
//! * [`suggest`]: one new trial from a history of trials, on qfront's optimizer (Sobol
//!   initial design, then qNEHVI / SAAS-qNEHVI / qLogNEHVI / qNParEGO), the engine of
//!   `qfront.optuna.QfrontSampler`;
//! * [`model::Model`]: a `.qfm` model run by qfront's integer runtime on NumPy arrays;
//! * [`front::hypervolume`] and [`front::pareto_front`];
//! * `study_*`: qfront's own studies in their stores (wrapped by `qfront.Study`).
//!
//! Every error becomes `qfront.QfrontError` (a `ValueError`) carrying the library's message;
//! the GIL is released while the optimizer fits and while the runtime runs.

use pyo3::prelude::*;

mod front;
mod model;
mod study;
mod suggest;

pyo3::create_exception!(
    qfront,
    QfrontError,
    pyo3::exceptions::PyValueError,
    "An error of qfront's engine or runtime, with its message."
);

/// Turns any displayable error into a [`QfrontError`].
pub(crate) fn error(e: impl std::fmt::Display) -> PyErr {
    QfrontError::new_err(e.to_string())
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("QfrontError", m.py().get_type::<QfrontError>())?;
    m.add_function(wrap_pyfunction!(suggest::suggest, m)?)?;
    m.add_function(wrap_pyfunction!(front::hypervolume, m)?)?;
    m.add_function(wrap_pyfunction!(front::pareto_front, m)?)?;
    m.add_class::<model::Model>()?;
    for f in [
        wrap_pyfunction!(study::study_create, m)?,
        wrap_pyfunction!(study::study_load, m)?,
        wrap_pyfunction!(study::study_ask, m)?,
        wrap_pyfunction!(study::study_tell, m)?,
        wrap_pyfunction!(study::study_trials, m)?,
    ] {
        m.add_function(f)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
