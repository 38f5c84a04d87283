//! Tests of the report figures and tables.

use super::*;
use crate::config::StudyConfig;
use std::collections::BTreeMap;

/// The trace by its definition: the hypervolume of the Pareto front of the trials
/// numbered up to each one (a Pareto filter per trial).
fn slow_trace(study: &Study, trials: &[StoredTrial], reference: &[f64]) -> Vec<f64> {
    trials
        .iter()
        .map(|t| {
            let seen: Vec<StoredTrial> = trials
                .iter()
                .filter(|s| s.number <= t.number)
                .cloned()
                .collect();
            let front: Vec<Vec<f64>> = pareto_trials(study, &seen)
                .iter()
                .filter_map(|s| crate::search::objective_point(study, &s.metrics))
                .collect();
            if front.is_empty() {
                0.0
            } else {
                hypervolume(&front, reference).unwrap()
            }
        })
        .collect()
}

#[test]
fn the_incremental_hypervolume_trace_matches_its_definition() {
    let study = StudyConfig::from_toml(
        "name = \"t\"\nobjectives = [\"-loss\", \"acc\", \"-ms\"]\nconstraints = [\"ms <= 0.8\"]\nbudget = 200\n\
         [[parameter]]\nname = \"x\"\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n",
    )
    .unwrap()
    .validate()
    .unwrap();
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let trials: Vec<StoredTrial> = (0..150)
        .map(|i| {
            let failed = next() < 0.1;
            StoredTrial {
                number: i,
                params: BTreeMap::new(),
                state: if failed {
                    TrialRowState::Failed
                } else {
                    TrialRowState::Complete
                },
                metrics: BTreeMap::from([
                    ("loss".to_string(), next()),
                    ("acc".to_string(), next()),
                    ("ms".to_string(), next()),
                ]),
                error: None,
                seed: 0,
                worker: None,
                started: None,
                finished: None,
                heartbeat: None,
                retried_as: None,
                note: None,
            }
        })
        .collect();
    let fast: Vec<f64> = hypervolume_trace(&study, &trials)
        .into_iter()
        .map(|(_, hv)| hv)
        .collect();
    // The reference the trace uses: the worst observed value of each objective.
    let all = complete(&study, &trials);
    let reference: Vec<f64> = (0..3)
        .map(|i| {
            all.iter()
                .map(|t| crate::search::objective_point(&study, &t.metrics).unwrap()[i])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let slow = slow_trace(&study, &trials, &reference);
    assert_eq!(fast.len(), slow.len());
    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "trial {i}: {a} vs {b}"
        );
    }
    assert!(slow.last().unwrap() > &0.0);
}
