//! `qfront search` as a user meets it: a small preset to completion, the front and the trial
//! listings, refusing to overwrite a study, and resuming after SIGKILL with every completed
//! trial kept exactly once.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::{qfront, qfront_ok, spawn_qfront};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-search-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn trials(dir: &Path) -> Vec<Value> {
    let out = qfront_ok(&["trials", "--dir", dir.to_str().unwrap(), "--format", "json"]);
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("a JSON list")
}

#[test]
fn a_small_study_runs_to_its_budget_and_prints_its_front() {
    let dir = temp("small");
    let out = qfront_ok(&[
        "search",
        "digits-cnn",
        "--budget",
        "5",
        "--dir",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--data-dir",
        "/nowhere",
    ]);
    // digits ships with qfront: the directory is not read, and the log says so.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("--data-dir /nowhere is not read: the study's dataset ships with qfront"),
        "{log}"
    );
    let front: Vec<Value> = serde_json::from_slice(&out.stdout).expect("the front as JSON");
    assert!(!front.is_empty());
    for t in &front {
        for key in ["accuracy", "latency_ms", "size_kb"] {
            assert!(t["values"][key].as_f64().unwrap() > 0.0, "{t}");
        }
        assert!(dir
            .join("trials")
            .join(t["trial"].to_string())
            .join("model.qfm")
            .exists());
    }
    let all = trials(&dir);
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|t| t["state"] == "complete"));
    // The front is the non-dominated subset of the trials.
    let pareto = qfront_ok(&["pareto", "--dir", dir.to_str().unwrap(), "--format", "json"]);
    let pareto: Vec<Value> = serde_json::from_slice(&pareto.stdout).unwrap();
    assert_eq!(pareto, front);
    // A second run into the same directory is refused without --resume.
    let again = qfront(&[
        "search",
        "digits-cnn",
        "--budget",
        "5",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    // A trial of the front exports as a deployable model.
    let out_path = dir.join("best.qfm");
    let n = front[0]["trial"].to_string();
    let exported = qfront(&[
        "export",
        "--trial",
        &n,
        "--dir",
        dir.to_str().unwrap(),
        out_path.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let eval = qfront(&[
        "eval",
        out_path.to_str().unwrap(),
        "--dataset",
        "digits",
        "--format",
        "json",
    ]);
    let eval: Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(
        eval["test_accuracy"].as_f64(),
        front[0]["metrics"]["test_accuracy"].as_f64()
    );
    // The search wrote the report; `qfront report` rewrites it and prints its path.
    let report = qfront(&["report", "--dir", dir.to_str().unwrap()]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let page = PathBuf::from(String::from_utf8_lossy(&report.stdout).trim());
    let html = std::fs::read_to_string(&page).unwrap();
    for figure in [
        "front-accuracy-latency_ms",
        "front-3d",
        "hypervolume",
        "parallel",
        "importance",
    ] {
        assert!(
            html.contains(&format!("{figure}.svg")),
            "{figure} in the page"
        );
        let svg = std::fs::read_to_string(page.with_file_name(format!("{figure}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{figure}.svg");
        let png = std::fs::read(page.with_file_name(format!("{figure}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{figure}.png");
    }
    let csv = qfront(&["trials", "--dir", dir.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(String::from_utf8_lossy(&csv.stdout).lines().count(), 6);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_configs_name_the_key() {
    let dir = temp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("study.toml");
    let head = "name = \"x\"\ndataset = \"digits\"\nfamily = \"lenet\"\nobjectives = [\"accuracy\", \"-latency_ms\"]\nbudget = 3\n";
    let space = "[[parameter]]\nname = \"wbits\"\ntype = \"ordered\"\nvalues = [2, 4]\n";
    for (text, expected) in [
        (format!("colour = \"red\"\n{head}{space}"), "colour"),
        (format!("optimizer = \"magic\"\n{head}{space}"), "optimizer"),
        (
            format!("surrogate = \"botorch\"\n{head}{space}"),
            "surrogate: 'botorch' is not one of adaptive, plain",
        ),
        (format!("{head}{space}[[parameter]]\nname = \"depthh\"\ntype = \"int\"\nlow = 1\nhigh = 3\n"), "depthh"),
        (format!("{head}[fixed]\nabits = 33\n{space}"), "fixed.abits"),
        (format!("{}{space}", head.replace("\"-latency_ms\"", "\"-speed\"")), "speed"),
        (format!("{head}{space}[latency]\nthreads = 0\n"), "latency.threads"),
        (
            format!("{}{space}", head.replace("budget = 3\n", "")),
            "budget: missing; the config needs `budget = ...` (the number of trials to run, e.g. `budget = 40`)",
        ),
        (
            format!("{head}{space}[[parameter]]\nname = \"x\"\ntype = \"float\"\nlow = \"zero\"\n"),
            "line 10, column 1: invalid type: string \"zero\"",
        ),
        (
            format!("reference_point = [0.9]\n{head}{space}"),
            "reference_point: needs one value per objective (2 here), got 1",
        ),
    ] {
        std::fs::write(&path, &text).unwrap();
        let out = qfront(&["search", "--config", path.to_str().unwrap(), "--dir", dir.join("run").to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{text}: {err}");
        assert!(!dir.join("run").join("study.db").exists(), "nothing stored for a bad config");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_killed_study_resumes_without_losing_or_repeating_trials() {
    let dir = temp("kill");
    let budget = "7";
    let search = [
        "search",
        "digits-cnn",
        "--budget",
        budget,
        "--dir",
        dir.to_str().unwrap(),
    ];
    let mut child = spawn_qfront(&search);
    // Kill it with SIGKILL once two trials are complete (mid-way through a later one).
    let start = Instant::now();
    loop {
        let done = (0..7)
            .filter(|n| {
                dir.join("trials")
                    .join(n.to_string())
                    .join("metrics.json")
                    .exists()
            })
            .count();
        if done >= 2 || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before: Vec<Value> = trials(&dir)
        .into_iter()
        .filter(|t| t["state"] == "complete")
        .collect();
    assert!(!before.is_empty(), "trials completed before the kill");
    assert!(before.len() < 7, "killed before the end");
    qfront_ok(&[&search[..], &["--resume"]].concat());
    let after = trials(&dir);
    common::check_exactly_once(&after, 7);
    for t in &before {
        let same = &after[t["trial"].as_u64().unwrap() as usize];
        assert_eq!(
            same["metrics"], t["metrics"],
            "a completed trial is kept as it was"
        );
        assert_eq!(same["params"], t["params"]);
    }
    // The trial the kill interrupted (if it was mid-trial) failed and re-ran at once: its
    // worker was a process of this host that no longer exists.
    for lost in after.iter().filter(|t| !t["retried_as"].is_null()) {
        assert!(
            lost["error"]
                .as_str()
                .unwrap()
                .contains("exited while running it"),
            "{lost}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn ctrl_c_hands_the_running_trial_back_at_once() {
    let dir = temp("ctrl-c");
    let d = dir.to_str().unwrap();
    let child = spawn_qfront(&["search", "digits-cnn", "--budget", "4", "--dir", d]);
    // Interrupt it while a trial is running.
    let start = Instant::now();
    loop {
        let out = qfront(&["trials", "--dir", d, "--format", "json"]);
        let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if listed.iter().any(|t| t["state"] == "running") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no trial ever ran"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling a child process we spawned and have not yet waited for.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = trials(&dir);
    let failed: Vec<&Value> = after.iter().filter(|t| t["state"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{after:?}");
    assert!(failed[0]["error"].as_str().unwrap().contains("interrupted"));
    let retry = &after[failed[0]["retried_as"].as_u64().unwrap() as usize];
    assert_eq!(
        retry["state"], "waiting",
        "re-queued before the process exited"
    );
    let resumed = qfront(&[
        "search",
        "digits-cnn",
        "--budget",
        "4",
        "--dir",
        d,
        "--resume",
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    common::check_exactly_once(&trials(&dir), 4);
    std::fs::remove_dir_all(dir).ok();
}

/// Runs `qfront search digits-cnn` as two workers of one study (`store` arguments, then each
/// worker's own `own` arguments), the second joining with --resume once the first has taken a
/// trial; checks that both ran trials and that every trial is complete exactly once.
fn two_workers(store: &[&str], own: [&[&str]; 2]) {
    let spawn = |i: usize, extra: &[&str]| {
        let head = ["search", "digits-cnn", "--budget", "6", "--format", "json"];
        spawn_qfront(&[&head[..], store, own[i], extra].concat())
    };
    let first = spawn(0, &[]);
    // Join once the first worker has stored a running trial.
    let start = Instant::now();
    loop {
        let out = qfront(&[&["trials", "--format", "json"], store].concat());
        if out.status.success() {
            let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if !listed.is_empty() {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the first worker never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = spawn(1, &["--resume"]);
    for worker in [first, second] {
        let out = worker.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let front: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !front.is_empty(),
            "each worker prints the finished study's front"
        );
    }
    let out = qfront(&[&["trials", "--format", "json"], store].concat());
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    common::check_exactly_once(&all, 6);
    let workers: std::collections::BTreeSet<&str> =
        all.iter().filter_map(|t| t["worker"].as_str()).collect();
    assert_eq!(workers.len(), 2, "both workers ran trials: {workers:?}");
}

#[test]
fn two_workers_share_a_sqlite_study() {
    let dir = temp("two-workers");
    two_workers(&["--dir", dir.to_str().unwrap()], [&[], &[]]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn two_workers_share_a_postgres_study() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let name = format!("two-workers-{}-{stamp}", std::process::id());
    // Each worker keeps its artifacts in a directory of its own, as on two machines.
    let (a, b) = (temp("pg-worker-a"), temp("pg-worker-b"));
    two_workers(
        &["--storage", &url, "--study", &name],
        [
            &["--dir", a.to_str().unwrap()],
            &["--dir", b.to_str().unwrap()],
        ],
    );
    qfront_ok(&[
        "pareto",
        "--storage",
        &url,
        "--study",
        &name,
        "--format",
        "csv",
    ]);
    // A trial's model is in the directory of the worker that ran it, and only there.
    let out = a.join("exported.qfm");
    let exports: Vec<_> = [&a, &b]
        .iter()
        .map(|dir| {
            let d = dir.to_str().unwrap();
            let args = [
                "export",
                "--trial",
                "0",
                "--storage",
                &url,
                "--study",
                &name,
                "--dir",
                d,
            ];
            qfront(&[&args[..], &[out.to_str().unwrap()]].concat())
        })
        .collect();
    let ok: Vec<bool> = exports.iter().map(|o| o.status.success()).collect();
    assert!(ok == [true, false] || ok == [false, true], "{ok:?}");
    let failed = exports.iter().find(|o| !o.status.success()).unwrap();
    assert!(String::from_utf8_lossy(&failed.stderr).contains("pass the --dir its worker used"));
    for dir in [a, b] {
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn one_bitwidth_aligns_every_width_to_one_size() {
    let dir = temp("one-bitwidth");
    let out = qfront_ok(&[
        "search",
        "one-bitwidth",
        "--dir",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = c["target_kb"].as_f64().unwrap();
    let rows = c["rows"].as_array().unwrap();
    let uniform: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "uniform").collect();
    assert_eq!(uniform.len(), 4, "one row per uniform width");
    let mut by_bits: Vec<(f64, f64)> = uniform
        .iter()
        .map(|r| {
            (
                r["mean_bits"].as_f64().unwrap(),
                r["width"].as_f64().unwrap(),
            )
        })
        .collect();
    by_bits.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        by_bits.windows(2).all(|w| w[1].1 < w[0].1),
        "fewer bits, wider model: {by_bits:?}"
    );
    assert_eq!(rows.iter().filter(|r| r["kind"] == "mixed").count(), 8);
    for r in rows {
        let size = r["size_kb"].as_f64().unwrap();
        assert!(
            size <= target + 1e-9 && size >= 0.9 * target,
            "{r} at {target} KiB"
        );
    }
    assert!(dir.join("report").join("one-bitwidth.png").exists());
    std::fs::remove_dir_all(dir).ok();
}
