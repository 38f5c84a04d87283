//! How each trial of the last ask was chosen ([`Optimizer::last_proposals`]).
//!
//! Why: a stalled run is diagnosed by asking, trial by trial, which rule proposed the point —
//! an exploration step, an anchor step, or the acquisition's maximum — and, for the last, which
//! reference point the hypervolume was measured against and what the acquisition was worth
//! there (issue #17: on the noisy shifted DTLZ2, 63 of 72 loose-reference asks went to the
//! faces `x₁ ∈ {0, 1}`). Until now that took a throwaway build that printed it; the record is
//! small (one entry per trial of one ask), so every ask keeps it.
//!
//! [`Optimizer::last_proposals`]: super::Optimizer::last_proposals

use serde::{Deserialize, Serialize};

/// The reference point a hypervolume acquisition measured against (design notes, "The MOBO
/// engine on problems it has never seen").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceRule {
    /// The user's (`OptimizerConfig::reference_point`).
    Given,
    /// BoTorch's rule on the models' optimistic predicted front
    /// (`acq::predicted_front_reference`), two asks in three.
    PredictedFront,
    /// The all-points rule widened to the models' mean front (`acq::loose_reference`), every
    /// third ask.
    Loose,
}

/// Which rule chose a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProposalKind {
    /// A scrambled Sobol point: the initial design, the Sobol method, or the fallback of
    /// `Optimizer::ask_or_sobol` when a model-based ask failed.
    Sobol,
    /// An exploration step in a hole of the box (`sampling::maximin_point`).
    BoxExploration,
    /// An exploration step along the observed Pareto set (`sampling::pareto_line_point`).
    LineExploration,
    /// An anchor step: the point where objective `objective` (from 0) is predicted best.
    Anchor {
        /// The objective whose best point was taken.
        objective: usize,
    },
    /// The maximum of the acquisition (qNEHVI, qLogNEHVI or qParEGO).
    Acquisition {
        /// The rule of the reference point; `None` for qParEGO, which measures no
        /// hypervolume.
        rule: Option<ReferenceRule>,
        /// The reference point (maximization, the objectives' units); `None` for qParEGO.
        reference: Option<Vec<f64>>,
        /// The acquisition's value at the chosen point (for qLogNEHVI its logarithm); `None`
        /// when it is not a finite number (a logarithm of no improvement at all), so the
        /// record always reads back from JSON.
        value: Option<f64>,
    },
}

/// How trial `trial` was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The trial's id.
    pub trial: usize,
    /// The rule that chose it.
    #[serde(flatten)]
    pub kind: ProposalKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON a study head and `QfrontSampler` carry: the kind as a tag beside the trial,
    /// and a missing value read back as `None` (JSON has no NaN or infinity).
    #[test]
    fn a_proposal_round_trips_through_json() {
        let proposals = vec![
            Proposal {
                trial: 3,
                kind: ProposalKind::Anchor { objective: 1 },
            },
            Proposal {
                trial: 4,
                kind: ProposalKind::Acquisition {
                    rule: Some(ReferenceRule::Loose),
                    reference: Some(vec![-2.5, -1.0]),
                    value: Some(0.25),
                },
            },
            Proposal {
                trial: 5,
                kind: ProposalKind::Acquisition {
                    rule: None,
                    reference: None,
                    value: None,
                },
            },
        ];
        let json = serde_json::to_string(&proposals).unwrap();
        assert!(
            json.starts_with(r#"[{"trial":3,"kind":"anchor","objective":1},{"trial":4,"kind":"acquisition","rule":"loose","reference":[-2.5,-1.0],"value":0.25}"#),
            "{json}"
        );
        let back: Vec<Proposal> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, proposals);
    }
}
