//! Helpers shared by the CLI tests.

use std::process::{Child, Command, Output, Stdio};

/// Runs the `qfront` binary built for these tests, with logs at `warn`.
pub fn qfront(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qfront"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the qfront binary runs")
}

/// Starts the `qfront` binary in the background (logs at `warn`, stdout and stderr piped).
#[allow(dead_code)] // not every test file starts one
pub fn spawn_qfront(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_qfront"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the qfront binary starts")
}

/// Runs `qfront args` and checks that it failed with exit code `code` (never 101, never
/// "panicked") and a message holding every one of `needles`.
#[allow(dead_code)] // not every test file needs it
pub fn qfront_fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = qfront(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "qfront {}: {err}",
        args.join(" ")
    );
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "qfront {}: '{needle}' not in: {err}",
            args.join(" ")
        );
    }
}

/// Runs `qfront` and checks that it succeeded (the failure message carries its stderr).
#[allow(dead_code)] // not every test file needs it
pub fn qfront_ok(args: &[&str]) -> Output {
    let out = qfront(args);
    assert!(
        out.status.success(),
        "qfront {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The PostgreSQL server of `.ci/postgres.sh` (`QFRONT_TEST_POSTGRES`), or `None` with the
/// reason printed. With `QFRONT_REQUIRE_POSTGRES` set (CI sets it), a missing server fails the
/// test instead, so PostgreSQL tests cannot silently skip there.
#[allow(dead_code)] // not every test file needs it
pub fn postgres_url() -> Option<String> {
    match std::env::var("QFRONT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("QFRONT_REQUIRE_POSTGRES").is_some() => {
            panic!("QFRONT_REQUIRE_POSTGRES is set but QFRONT_TEST_POSTGRES is not: the PostgreSQL server did not start")
        }
        _ => {
            eprintln!("skipped: QFRONT_TEST_POSTGRES is not set (start a server with `export QFRONT_TEST_POSTGRES=$(bash .ci/postgres.sh)`)");
            None
        }
    }
}

/// Runs `qfront search --config config --dir runs`, which must succeed.
#[allow(dead_code)] // not every test file runs a study
pub fn search_ok(config: &std::path::Path, runs: &std::path::Path) -> Output {
    qfront_ok(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--dir",
        runs.to_str().unwrap(),
    ])
}

/// Runs [`search_ok`] and returns how many of the stored trials completed.
#[allow(dead_code)] // not every test file runs a study
pub fn search_completed_trials(config: &std::path::Path, runs: &std::path::Path) -> usize {
    search_ok(config, runs);
    let trials = qfront_ok(&[
        "trials",
        "--dir",
        runs.to_str().unwrap(),
        "--format",
        "json",
    ]);
    String::from_utf8_lossy(&trials.stdout)
        .matches("\"complete\"")
        .count()
}

/// Every trial of a budget-`budget` study is complete exactly once: the complete trials
/// number `budget`, and each failed one was re-queued as a trial with its parameters and seed.
#[allow(dead_code)] // not every test file needs it
pub fn check_exactly_once(trials: &[serde_json::Value], budget: usize) {
    let numbers: Vec<u64> = trials
        .iter()
        .map(|t| t["trial"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (0..trials.len() as u64).collect::<Vec<u64>>(),
        "each number once"
    );
    let complete = trials.iter().filter(|t| t["state"] == "complete").count();
    assert_eq!(complete, budget, "the budget counts complete trials");
    for t in trials.iter().filter(|t| t["state"] != "complete") {
        assert_eq!(t["state"], "failed", "{t}");
        let retry = &trials[t["retried_as"].as_u64().expect("a lost trial is re-queued") as usize];
        assert_eq!(
            (&retry["params"], &retry["seed"]),
            (&t["params"], &t["seed"])
        );
    }
}
