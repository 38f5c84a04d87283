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

/// A study of three objectives (`-loss`, `acc`, `-ms`, with `ms <= 0.8`) and `extra` config
/// lines, and 150 trials of pseudo-random metrics, about 10% of them failed.
fn random_study(extra: &str) -> (Study, Vec<StoredTrial>) {
    let study = StudyConfig::from_toml(&format!(
        "name = \"t\"\nobjectives = [\"-loss\", \"acc\", \"-ms\"]\nconstraints = [\"ms <= 0.8\"]\nbudget = 200\n{extra}\n\
         [[parameter]]\nname = \"x\"\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n",
    ))
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
    (study, trials)
}

/// `hypervolume_trace` against `slow_trace`, value by value.
fn assert_trace_matches(study: &Study, trials: &[StoredTrial], reference: &[f64]) -> Vec<f64> {
    let fast: Vec<f64> = hypervolume_trace(study, trials, reference)
        .into_iter()
        .map(|(_, hv)| hv)
        .collect();
    let slow = slow_trace(study, trials, reference);
    assert_eq!(fast.len(), slow.len());
    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "trial {i}: {a} vs {b}"
        );
    }
    slow
}

#[test]
fn the_incremental_hypervolume_trace_matches_its_definition() {
    let (study, trials) = random_study("");
    // Without a reference_point: the worst observed value of each objective.
    let all = complete(&study, &trials);
    let worst: Vec<f64> = (0..3)
        .map(|i| {
            all.iter()
                .map(|t| crate::search::objective_point(&study, &t.metrics).unwrap()[i])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let (reference, source) = hypervolume_reference(&study, &trials);
    assert_eq!(reference, worst);
    assert_eq!(source, "worst observed values");
    let slow = assert_trace_matches(&study, &trials, &reference);
    assert!(slow.last().unwrap() > &0.0);
}

#[test]
fn the_hypervolume_is_measured_against_the_studys_own_reference_point() {
    // The user accepts a loss up to 0.7, an accuracy down to 0.3 and 0.6 ms: in the
    // maximization frame (-0.7, 0.3, -0.6), tighter than the worst observed values.
    let (study, trials) = random_study("reference_point = [0.7, 0.3, 0.6]");
    let (reference, source) = hypervolume_reference(&study, &trials);
    assert_eq!(reference, vec![-0.7, 0.3, -0.6]);
    assert_eq!(
        source,
        "the study's reference_point: loss 0.7, acc 0.3, ms 0.6"
    );
    let given = assert_trace_matches(&study, &trials, &reference);
    // Every front point beyond the given point is beyond the worst observed one too, with
    // room to spare, so the given point's hypervolume is smaller, and not zero.
    let (worst, _) = hypervolume_reference(&random_study("").0, &trials);
    let observed = slow_trace(&study, &trials, &worst);
    assert!(given.last().unwrap() > &0.0);
    assert!(given.last().unwrap() < observed.last().unwrap());
    // What the report writes: the figure's caption and the page's label name the point,
    // and the page's trace is this one.
    let dir = std::env::temp_dir().join(crate::store::tests::unique("qfront-report-reference"));
    let page = write_report(&study, &trials, &BTreeMap::new(), &dir).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        html.contains(
            "hypervolume over trials (reference: the study's reference_point: loss 0.7, acc 0.3, ms 0.6)"
        ),
        "caption"
    );
    assert!(html.contains(
        "\"hypervolume_reference\":\"the study's reference_point: loss 0.7, acc 0.3, ms 0.6\""
    ));
    let last = serde_json::json!([trials.len() - 1, given.last().unwrap()]).to_string();
    assert!(
        html.contains(&format!("{last}]")),
        "the page's trace ends {last}"
    );
}

/// A study with no complete trial gets no report and no empty folder, and the reason says
/// what to do first.
#[test]
fn no_report_before_a_complete_trial() {
    let (study, trials) = random_study("");
    let failed: Vec<StoredTrial> = trials
        .into_iter()
        .filter(|t| t.state == TrialRowState::Failed)
        .collect();
    assert!(!failed.is_empty());
    let out = std::env::temp_dir().join(format!("qfront-report-empty-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let error = write_report(&study, &failed, &BTreeMap::new(), &out).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot write the report: the study has no complete trial yet; run or tell one first \
         (`qfront search --resume`, `qfront study tell`)"
    );
    assert!(!out.exists());
}
