//! Quasi-random sampling: seeded, Owen-scrambled Sobol points in the unit cube and their
//! normal transforms (the quasi-Monte-Carlo base samples of the acquisitions), and the
//! exploration points of the optimizer's exploration steps (space-filling in the box, and
//! along the observed Pareto set's coordinate lines).

mod maximin;
mod pareto_lines;
mod sobol;

pub use maximin::maximin_point;
pub use pareto_lines::{pareto_line_point, pareto_set_directions};
pub use sobol::{SobolSampler, MAX_POINTS};
