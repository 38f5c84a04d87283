//! Quasi-random sampling: seeded, Owen-scrambled Sobol points in the unit cube and their
//! normal transforms (the quasi-Monte-Carlo base samples of the acquisitions), and the
//! space-filling exploration point of the optimizer's exploration steps.

mod maximin;
mod sobol;

pub use maximin::maximin_point;
pub use sobol::{SobolSampler, MAX_POINTS};
