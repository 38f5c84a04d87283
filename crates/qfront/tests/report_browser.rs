//! The report page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromedriver`, driven by Selenium from `QFRONT_PYTHON`) loads the report of a small study
//! and of a 1,000-trial one, checks one point per complete trial in every plot, hovers a
//! point and reads its tooltip, clicks it and reads the trial's parameters, sorts and filters
//! the table, finds no console error, and keeps a screenshot (in `QFRONT_ARTIFACTS`, else the
//! temporary directory). Without Python, Selenium or the browser the test says why it skips;
//! with `QFRONT_REQUIRE_BROWSER` set (CI sets it) a missing piece fails it.

mod common;

use common::{qfront_ok, search_ok};
use qfront_study::store::{StoredTrial, TrialRowState};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn browser_python() -> Option<std::ffi::OsString> {
    let required = std::env::var_os("QFRONT_REQUIRE_BROWSER").is_some();
    let python = std::env::var_os("QFRONT_PYTHON");
    let ready = python.as_ref().is_some_and(|p| {
        Path::new("/usr/bin/chromedriver").exists()
            && Command::new(p)
                .args(["-c", "import selenium"])
                .status()
                .is_ok_and(|s| s.success())
    });
    match (ready, required) {
        (true, _) => python,
        (false, true) => panic!("QFRONT_REQUIRE_BROWSER is set but QFRONT_PYTHON with selenium, or /usr/bin/chromedriver, is missing"),
        (false, false) => {
            eprintln!("skipped: needs QFRONT_PYTHON with selenium and Debian's chromium + chromium-driver (.ci/run installs them)");
            None
        }
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "qfront-report-browser-{}-{name}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the browser script on `page`; returns what it measured.
fn drive(python: &std::ffi::OsStr, page: &Path, expected_points: usize, shot: &str) -> Value {
    let artifacts = std::env::var_os("QFRONT_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join(shot);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/report_browser.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(page)
        .arg(expected_points.to_string())
        .arg(&screenshot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report_browser.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("{report}");
    assert!(screenshot.exists());
    report
}

#[test]
fn a_small_study_report_works_in_chromium() {
    let Some(python) = browser_python() else {
        return;
    };
    let dir = temp("small");
    let config = dir.join("study.toml");
    std::fs::write(
        &config,
        r#"name = "browser"
dataset = "digits"
family = "mlp"
objectives = ["accuracy", "-latency_ms", "-size_kb"]
budget = 6
onnx = true

[fixed]
epochs = 1

[latency]
max_time = 0.02

[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4, 8]

[[parameter]]
name = "hidden"
type = "int"
low = 16
high = 64
"#,
    )
    .unwrap();
    let run = dir.join("run");
    search_ok(&config, &run);
    let out = qfront_ok(&["trials", "--dir", run.to_str().unwrap(), "--format", "json"]);
    let trials: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let complete = trials.iter().filter(|t| t["state"] == "complete").count();
    let report = drive(
        &python,
        &run.join("report/index.html"),
        complete,
        "report-small.png",
    );
    assert_eq!(report["plots"], 3, "one plot per pair of the 3 objectives");
    assert_eq!(
        report["table_rows"].as_u64().unwrap() as usize,
        trials.len()
    );
    let params: Vec<&str> = report["selected_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(params, ["hidden", "wbits"]);
    // The trial's layers, read from its .qfm: the MLP's hidden layer and classifier.
    let layers: Vec<&str> = report["selected_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        layers.len() >= 2 && layers.contains(&"classifier"),
        "{layers:?}"
    );
    // Measured on this machine node by node: one row per node of the model.
    assert!(report["latency_nodes"].as_u64().unwrap() >= layers.len() as u64);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_thousand_trial_report_loads_and_answers_hover() {
    let Some(python) = browser_python() else {
        return;
    };
    let dir = temp("thousand");
    let study = qfront_study::config::StudyConfig::from_toml(
        "name = \"big\"\nobjectives = [\"-loss\", \"-latency_ms\"]\nbudget = 1000\n\
         [[parameter]]\nname = \"lr\"\ntype = \"float\"\nlow = 0.0001\nhigh = 0.1\nlog = true\n",
    )
    .unwrap()
    .validate()
    .unwrap();
    // Synthetic trials on a known front: loss = 1 − √t, latency = 0.1 + t (a thousand-fold
    // latency span, so that axis is logarithmic), with some dominated noise.
    let trials: Vec<StoredTrial> = (0..1000)
        .map(|i| {
            let t = (i as f64 * 0.618_033_988_7) % 1.0;
            let noise = (i % 7) as f64 * 0.02;
            StoredTrial {
                number: i,
                params: BTreeMap::from([("lr".to_string(), serde_json::json!(1e-4 + t * 0.1))]),
                state: TrialRowState::Complete,
                metrics: BTreeMap::from([
                    ("loss".to_string(), 1.0 - t.sqrt() + noise),
                    ("latency_ms".to_string(), 0.1 + t * 100.0),
                ]),
                error: None,
                seed: i as u64,
                worker: Some("external".into()),
                started: None,
                finished: None,
                heartbeat: None,
                retried_as: None,
                note: None,
            }
        })
        .collect();
    let report_dir = dir.join("report");
    let page =
        qfront_study::report::write_report(&study, &trials, &Default::default(), &report_dir)
            .unwrap();
    let report = drive(&python, &page, 1000, "report-1000.png");
    assert_eq!(report["points_per_plot"], 1000);
    std::fs::remove_dir_all(dir).ok();
}
