//! Quasi-random sampling: seeded, Owen-scrambled Sobol points in the unit cube and their
//! normal transforms (the quasi-Monte-Carlo base samples of the acquisitions).

mod sobol;

pub use sobol::{SobolSampler, MAX_POINTS};
