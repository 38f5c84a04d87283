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

/// Runs `work` (an ask) on a rayon pool of this call's own, dropped when it returns.
///
/// The optimizer spreads an ask over rayon's pool. Had it used rayon's global pool, a process
/// forked from one that had asked (`multiprocessing` with the `fork` start method, Linux's
/// default before Python 3.14) would wait forever on its first ask: the child inherits the
/// started pool but none of its threads. A pool per call has no such state; starting and
/// dropping one cost 56–62 µs per call on a 2-vCPU Xeon (one or two threads), against
/// model-based asks of 13 ms and more. Its size
/// follows `RAYON_NUM_THREADS`, as the global pool's does. Where no thread can be started the
/// work runs on the calling thread alone (a pool of one made of it).
pub(crate) fn on_own_pool<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    let pool = rayon::ThreadPoolBuilder::new().build().or_else(|_| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
    });
    match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
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
