//! The state of a trial's row, the one place its four values are spelled.

use serde::Serialize;

/// Where a trial is in its life: `waiting` (asked, not yet taken by a worker) → `running`
/// (taken; qfront workers stamp a heartbeat) → `complete` or `failed`. A running trial whose
/// worker was lost becomes `failed` and is re-queued as a new waiting trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialRowState {
    /// Asked, not yet taken.
    Waiting,
    /// Taken by a worker or an outside trainer.
    Running,
    /// Told with its metrics.
    Complete,
    /// Told as failed, or its worker was lost.
    Failed,
}

impl TrialRowState {
    /// The name stored in the database (and shown to users).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored name; `None` for anything else (the schema's CHECK allows no other).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "waiting" => Self::Waiting,
            "running" => Self::Running,
            "complete" => Self::Complete,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Whether the trial is finished (complete or failed).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Complete | Self::Failed)
    }
}

impl std::fmt::Display for TrialRowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Comparing with a stored name reads naturally in tests and filters (`t.state == "complete"`).
impl PartialEq<&str> for TrialRowState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name() {
        for state in [
            TrialRowState::Waiting,
            TrialRowState::Running,
            TrialRowState::Complete,
            TrialRowState::Failed,
        ] {
            assert_eq!(TrialRowState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::json!(state.as_str())
            );
        }
        assert_eq!(TrialRowState::parse("done"), None);
    }
}
