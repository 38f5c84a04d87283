//! `qfront bench store` as a user meets it: every trial asked and told once per run, with
//! one or several workers, on SQLite and (when a server is given) PostgreSQL, leaving no
//! study behind; and storage URLs that are refused with the fix.

use serde_json::Value;

mod common;
use common::qfront;

fn bench(extra: &[&str]) -> Value {
    let out = qfront(
        &[
            &["bench", "store", "--trials", "30", "--params", "3"],
            extra,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

fn check(record: &Value, store: &str, workers: u64) {
    assert_eq!(record["store"], store);
    assert_eq!(record["trials"], 30, "each trial timed once: {record}");
    assert_eq!(record["workers"], workers);
    let mean = record["ask_tell_ms_mean"].as_f64().unwrap();
    assert!(mean > 0.0 && mean.is_finite(), "{record}");
}

#[test]
fn the_store_bench_runs_on_sqlite_with_one_and_several_workers() {
    let thirty = bench(&[]);
    check(&thirty, "sqlite", 1);
    // The stored state knows every trial: 29 more trials add at least their points and
    // parameters (3 + 3 numbers of 8 or more characters each) to a one-trial study's.
    let one = qfront(&["bench", "store", "--trials", "1", "--params", "3"]);
    let one: Value = serde_json::from_slice(&one.stdout).unwrap();
    let grown = thirty["optimizer_state_bytes"].as_u64().unwrap()
        - one["optimizer_state_bytes"].as_u64().unwrap();
    assert!(grown >= 29 * 6 * 8, "{thirty} vs {one}");
    check(&bench(&["--workers", "3"]), "sqlite", 3);
}

#[test]
fn the_store_bench_runs_on_postgres_and_cleans_up() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    check(
        &bench(&["--storage", &url, "--workers", "3"]),
        "postgresql",
        3,
    );
    // Its study is deleted: asking the store for it finds nothing.
    let listed = qfront(&["trials", "--storage", &url, "--study", "bench-store-none"]);
    assert!(String::from_utf8_lossy(&listed.stderr).contains("holds no study"));
}

#[test]
fn bad_storage_urls_are_refused_with_the_fix() {
    for (url, expected) in [
        (
            "mysql://me@db/studies",
            "sqlite:///path/study.db or postgresql://",
        ),
        ("sqlite://", "needs a file"),
        (
            "postgresql://me:secret@127.0.0.1:1/studies",
            "cannot connect",
        ),
    ] {
        let out = qfront(&["trials", "--storage", url]);
        assert_eq!(out.status.code(), Some(1), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{url}: {err}");
        assert!(
            !err.contains("secret"),
            "passwords stay out of messages: {err}"
        );
    }
}

#[test]
fn a_heartbeat_slower_than_the_grace_period_is_refused() {
    let out = qfront(&[
        "search",
        "digits-cnn",
        "--heartbeat",
        "30",
        "--stale-after",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be shorter than --stale-after"));
    let out = qfront(&["search", "digits-cnn", "--heartbeat", "0"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}
