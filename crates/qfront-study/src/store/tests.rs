//! Tests of the store, on SQLite and (when `QFRONT_TEST_POSTGRES` is set) PostgreSQL.

use super::*;
use qfront_bo::space::{Parameter, SearchSpace};
use qfront_bo::{Method, OptimizerConfig, TrialState};

thread_local! {
    /// Seconds added to this thread's [`now`]: a machine whose clock is off.
    pub(crate) static CLOCK_SKEW: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

fn optimizer() -> Optimizer {
    let space = SearchSpace::new(vec![Parameter::float("learning_rate", 0.001, 0.1)]).unwrap();
    Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 0)).unwrap()
}

/// A scratch name no other test uses: the process id, a counter within the process, and the
/// clock in microseconds (a later run reusing the process id). The clock alone is not enough:
/// two tests on two threads started in the same microsecond and shared a study file.
pub(crate) fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{prefix}-{}-{count}-{:x}",
        std::process::id(),
        (now() * 1e6) as u64
    )
}

/// The PostgreSQL server of `.ci/postgres.sh`, when one is running.
pub(crate) fn postgres() -> Option<StorageLocation> {
    match std::env::var("QFRONT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(StorageLocation::parse(&url).unwrap()),
        _ if std::env::var_os("QFRONT_REQUIRE_POSTGRES").is_some() => {
            panic!("QFRONT_REQUIRE_POSTGRES is set but QFRONT_TEST_POSTGRES is not: the PostgreSQL server did not start")
        }
        _ => {
            eprintln!("skipped the PostgreSQL half: QFRONT_TEST_POSTGRES is not set (start a server with `export QFRONT_TEST_POSTGRES=$(bash .ci/postgres.sh)`)");
            None
        }
    }
}

fn sqlite(name: &str) -> StorageLocation {
    let dir = std::env::temp_dir().join(unique(name));
    StorageLocation::in_dir(&dir)
}

/// Ask, finish, fail, re-queue and reopen: every change lands with the optimizer state.
fn trials_round_trip(location: &StorageLocation) {
    let name = unique("round-trip");
    let mut store = Store::open(location).unwrap();
    assert!(store.select_study(Some(&name)).unwrap().is_none());
    store
        .create_study(&name, "name = \"s\"", &optimizer())
        .unwrap();
    store
        .locked(|l| {
            for t in l.optimizer.ask(3)? {
                l.insert_trial(t.id, 7 + t.id as u64, Some("w"), true)?;
            }
            Ok(())
        })
        .unwrap();
    let metrics = BTreeMap::from([("accuracy".to_string(), 0.5)]);
    store
        .locked(|l| {
            l.optimizer.tell(0, Ok(vec![0.5]))?;
            l.finish(0, Ok(&metrics))?;
            l.optimizer.tell(1, Err("boom".into()))?;
            l.finish(1, Err("boom"))?;
            let retry = l.optimizer.retry(2, "lost".into())?;
            l.mark_retried(2, "lost", retry.id)?;
            l.insert_trial(retry.id, 9, None, false)
        })
        .unwrap();
    // A failing closure changes nothing, the optimizer included.
    let before = store.optimizer().unwrap();
    let e = store.locked(|l| {
        l.optimizer.ask(1)?;
        l.finish(0, Err("again"))
    });
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("trial 0 is not running"));
    assert_eq!(store.optimizer().unwrap(), before);
    drop(store);

    let mut store = Store::open(location).unwrap();
    let (stored_name, config) = store.select_study(Some(&name)).unwrap().unwrap();
    assert_eq!(
        (stored_name, config.as_str()),
        (name.clone(), "name = \"s\"")
    );
    let optimizer = store.optimizer().unwrap();
    let states: Vec<_> = optimizer.trials().iter().map(|t| t.state.clone()).collect();
    assert_eq!(states.len(), 4);
    assert!(matches!(states[0], TrialState::Complete { .. }));
    assert!(matches!(states[1], TrialState::Failed { .. }));
    assert!(matches!(states[2], TrialState::Failed { .. }));
    assert_eq!(states[3], TrialState::Pending);
    let trials = store.trials().unwrap();
    let summary: Vec<_> = trials
        .iter()
        .map(|t| (t.number, t.state.as_str(), t.seed, t.retried_as))
        .collect();
    assert_eq!(
        summary,
        [
            (0, "complete", 7, None),
            (1, "failed", 8, None),
            (2, "failed", 9, Some(3)),
            (3, "waiting", 9, None)
        ]
    );
    // A row's parameters are the optimizer's, by name; a re-run has its trial's.
    for (row, trial) in trials.iter().zip(optimizer.trials()) {
        assert_eq!(
            row.params["learning_rate"],
            serde_json::to_value(&trial.params[0]).unwrap()
        );
    }
    assert_eq!(trials[3].params, trials[2].params);
    assert_eq!(trials[0].metrics["accuracy"], 0.5);
    assert_eq!(trials[1].error.as_deref(), Some("boom"));
    assert_eq!(trials[0].worker.as_deref(), Some("w"));
    assert!(trials[0].heartbeat.is_some() && trials[3].heartbeat.is_none());
    // Creating the study again is refused.
    assert!(store.create_study(&name, "", &optimizer).is_err());
}

#[test]
fn sqlite_trials_round_trip_and_a_file_holds_one_study() {
    let location = sqlite("qfront-store");
    trials_round_trip(&location);
    let mut store = Store::open(&location).unwrap();
    let e = store.create_study("other", "", &optimizer()).unwrap_err();
    assert!(e.to_string().contains("already holds study"), "{e}");
    if let StorageLocation::Sqlite(path) = location {
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}

#[test]
fn postgres_trials_round_trip_and_a_database_holds_many_studies() {
    let Some(location) = postgres() else { return };
    trials_round_trip(&location);
    trials_round_trip(&location);
    let mut store = Store::open(&location).unwrap();
    assert!(store.study_names().unwrap().len() >= 2);
    let e = store.select_study(None).unwrap_err();
    assert!(e.to_string().contains("studies ("), "{e}");
    assert!(e.to_string().contains("name one with --study"), "{e}");
}

/// Workers asking at once through their own connections never get the same trial, and
/// the stored optimizer knows every trial the rows know.
fn concurrent_asks_are_serialized(location: &StorageLocation) {
    let name = unique("concurrent");
    let mut store = Store::open(location).unwrap();
    store.create_study(&name, "", &optimizer()).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let location = location.clone();
            let name = name.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&location).unwrap();
                store.select_study(Some(&name)).unwrap().unwrap();
                let mut mine = Vec::new();
                for _ in 0..5 {
                    let number = store
                        .locked(|l| {
                            let t = l.optimizer.ask(1)?.remove(0);
                            l.insert_trial(t.id, 0, Some(&format!("w{w}")), true)?;
                            Ok(t.id)
                        })
                        .unwrap();
                    store
                        .locked(|l| {
                            l.optimizer.tell(number, Ok(vec![w as f64]))?;
                            l.finish(number, Ok(&BTreeMap::new()))
                        })
                        .unwrap();
                    mine.push(number);
                }
                mine
            })
        })
        .collect();
    let mut numbers: Vec<usize> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (0..20).collect::<Vec<_>>(),
        "each trial asked once"
    );
    let optimizer = store.optimizer().unwrap();
    assert_eq!(optimizer.trials().len(), 20);
    assert!(optimizer
        .trials()
        .iter()
        .all(|t| matches!(t.state, TrialState::Complete { .. })));
    assert!(store
        .trials()
        .unwrap()
        .iter()
        .all(|t| t.state == "complete"));
}

#[test]
fn concurrent_sqlite_workers_never_share_a_trial() {
    concurrent_asks_are_serialized(&sqlite("qfront-concurrent"));
}

#[test]
fn concurrent_postgres_workers_never_share_a_trial() {
    if let Some(location) = postgres() {
        concurrent_asks_are_serialized(&location);
    }
}

/// Opening and reading a store never waits for a worker that holds the study's lock
/// (asking can take seconds): the reader finishes while the lock is still held.
fn readers_do_not_wait_for_the_lock(location: &StorageLocation) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    let name = unique("readers");
    let mut store = Store::open(location).unwrap();
    store.create_study(&name, "", &optimizer()).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let (locked_tx, locked_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let holder = {
        let released = released.clone();
        std::thread::spawn(move || {
            store
                .locked(|l| {
                    let t = l.optimizer.ask(1)?.remove(0);
                    l.insert_trial(t.id, 0, Some("w"), true)?;
                    locked_tx.send(()).unwrap();
                    // Hold the lock until the reader is done (or 60 s).
                    done_rx
                        .recv_timeout(std::time::Duration::from_secs(60))
                        .ok();
                    released.store(true, Ordering::SeqCst);
                    Ok(())
                })
                .unwrap();
        })
    };
    locked_rx.recv().unwrap();
    let mut reader = Store::open(location).unwrap();
    reader.select_study(Some(&name)).unwrap().unwrap();
    let seen = reader.trials().unwrap();
    reader.optimizer().unwrap();
    assert!(
        !released.load(Ordering::SeqCst),
        "the read finished under the lock"
    );
    assert!(seen.is_empty(), "uncommitted trials are not visible");
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(reader.trials().unwrap().len(), 1);
}

#[test]
fn sqlite_readers_do_not_wait_for_the_lock() {
    readers_do_not_wait_for_the_lock(&sqlite("qfront-readers"));
}

#[test]
fn postgres_readers_do_not_wait_for_the_lock() {
    if let Some(location) = postgres() {
        readers_do_not_wait_for_the_lock(&location);
    }
}

#[test]
fn a_store_of_another_schema_is_refused_untouched() {
    let dir = std::env::temp_dir().join(unique("qfront-old"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("study.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE study (id INTEGER); CREATE TABLE trials (number INTEGER);")
        .unwrap();
    drop(c);
    let e = Store::open(&StorageLocation::Sqlite(path.clone())).unwrap_err();
    assert!(e.to_string().contains("older qfront"), "{e}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 2, "nothing was added to the old file");
    std::fs::remove_dir_all(dir).ok();
}

/// A store as qfront wrote it with schema version 1 (no trial notes) or 2: the whole
/// optimizer in the study's row.
fn old_store(path: &std::path::Path, version: i64, optimizer: &Optimizer) {
    let note = if version >= 2 { "note TEXT," } else { "" };
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE qfront_schema (version INTEGER NOT NULL);
         CREATE TABLE qfront_studies (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
             config TEXT NOT NULL, optimizer TEXT NOT NULL, created REAL NOT NULL);
         CREATE TABLE qfront_trials (study INTEGER NOT NULL REFERENCES qfront_studies (id),
             number INTEGER NOT NULL, params TEXT NOT NULL,
             state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'complete', 'failed')),
             metrics TEXT, error TEXT, seed INTEGER NOT NULL, worker TEXT, started REAL,
             finished REAL, heartbeat REAL, retried_as INTEGER, {note}
             PRIMARY KEY (study, number));
         INSERT INTO qfront_schema (version) VALUES ({version});"
    ))
    .unwrap();
    c.execute(
        "INSERT INTO qfront_studies (name, config, optimizer, created) VALUES ('old', 'name = \"s\"', ?1, 0)",
        [serde_json::to_string(optimizer).unwrap()],
    )
    .unwrap();
    for (number, state) in [(0, "complete"), (1, "failed"), (2, "running")] {
        c.execute(
            "INSERT INTO qfront_trials (study, number, params, state, metrics, seed, worker) VALUES (1, ?1, '{\"learning_rate\": 0.01}', ?2, '{\"y\": 0.5}', ?1, 'w')",
            rusqlite::params![number, state],
        )
        .unwrap();
    }
}

/// Stores of schema versions 1 and 2 are migrated in place when opened: the optimizer reads
/// back equal, each trial's record moves to its row, the trials stay readable and gain
/// notes, and the study goes on; a store of a later version is refused untouched.
#[test]
fn old_stores_are_migrated_and_a_newer_one_refused() {
    let mut original = optimizer();
    let asked = original.ask(3).unwrap();
    original.tell(asked[0].id, Ok(vec![0.5])).unwrap();
    original.tell(asked[1].id, Err("diverged".into())).unwrap();
    for version in [1, 2] {
        let dir = std::env::temp_dir().join(unique("qfront-migrate"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("study.db");
        old_store(&path, version, &original);
        let location = StorageLocation::Sqlite(path.clone());
        let mut store = Store::open(&location).unwrap();
        store.select_study(Some("old")).unwrap().unwrap();
        assert_eq!(store.optimizer().unwrap(), original, "version {version}");
        let trials = store.trials().unwrap();
        let states: Vec<&str> = trials.iter().map(|t| t.state.as_str()).collect();
        assert_eq!(states, ["complete", "failed", "running"]);
        assert_eq!(trials[0].metrics["y"], 0.5);
        assert!(trials.iter().all(|t| t.note.is_none()));
        store.locked(|l| l.set_note(0, "a note")).unwrap();
        assert_eq!(store.trials().unwrap()[0].note.as_deref(), Some("a note"));
        // The study goes on: the running trial is told, one more is asked.
        store
            .locked(|l| {
                l.optimizer.tell(2, Ok(vec![0.7]))?;
                let t = l.optimizer.ask(1)?.remove(0);
                l.insert_trial(t.id, 3, None, false)
            })
            .unwrap();
        let reopened = Store::open(&location).unwrap().optimizer_of("old");
        assert_eq!(reopened.trials().len(), 4);
        assert_eq!(
            reopened.trials()[2].state,
            TrialState::Complete { values: vec![0.7] }
        );
        drop(store);
        let c = rusqlite::Connection::open(&path).unwrap();
        let version_now: i64 = c
            .query_row("SELECT version FROM qfront_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version_now, 3);
        c.execute_batch("UPDATE qfront_schema SET version = 4;")
            .unwrap();
        drop(c);
        let e = Store::open(&location).unwrap_err();
        assert!(e.to_string().contains("schema version 4"), "{e}");
        let c = rusqlite::Connection::open(&path).unwrap();
        let version_now: i64 = c
            .query_row("SELECT version FROM qfront_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version_now, 4, "left untouched");
        std::fs::remove_dir_all(dir).ok();
    }
}

impl Store {
    /// The optimizer of study `name` (tests).
    fn optimizer_of(mut self, name: &str) -> Optimizer {
        self.select_study(Some(name)).unwrap().unwrap();
        self.optimizer().unwrap()
    }
}

/// When the optimizer's model fails, the Sobol points asked instead say so on their rows.
#[test]
fn a_sobol_fallback_is_recorded_on_its_trials() {
    let name = unique("fallback");
    let dir = std::env::temp_dir().join(unique("qfront-fallback"));
    let location = StorageLocation::in_dir(&dir);
    let space = SearchSpace::new(vec![
        Parameter::float("a", 0.0, 1.0),
        Parameter::float("b", 0.0, 1.0),
    ])
    .unwrap();
    let mut config = OptimizerConfig::new(space, 1, Method::QnehviSaas, 5);
    config.initial_points = Some(3);
    // No NUTS draw can be kept: every SAAS fit fails.
    config.saas.samples = 2;
    config.saas.thinning = 8;
    config.saas.warmup = 2;
    let mut store = Store::open(&location).unwrap();
    store
        .create_study(&name, "name = \"s\"", &Optimizer::new(config).unwrap())
        .unwrap();
    store
        .locked(|l| {
            for t in l.optimizer.ask(3)? {
                l.insert_trial(t.id, 0, Some("w"), true)?;
                let y = t.x[0] - t.x[1];
                l.tell(t.id, Ok((&BTreeMap::from([("y".to_string(), y)]), vec![y])))?;
            }
            let asked = l.ask(2, |_| 0, |_| None, false)?;
            assert_eq!(asked.len(), 2);
            Ok(())
        })
        .unwrap();
    let trials = store.trials().unwrap();
    assert_eq!(trials.len(), 5);
    assert!(trials[..3].iter().all(|t| t.note.is_none()));
    for t in &trials[3..] {
        let note = t.note.as_deref().unwrap();
        assert!(
            note.starts_with("Sobol point: the optimizer's model failed"),
            "{note}"
        );
        assert!(note.contains("thinning"), "{note}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Rows written by hand with every odd kind of metrics column (a `null` where an older
/// version stored a NaN, a string, a non-object) leave the study readable: the odd values
/// are left out and the report's front skips trials without their objectives.
#[test]
fn odd_metrics_rows_leave_the_study_readable() {
    let name = unique("odd-rows");
    let dir = std::env::temp_dir().join(unique("qfront-odd"));
    let location = StorageLocation::in_dir(&dir);
    let mut store = Store::open(&location).unwrap();
    store
        .create_study(&name, "name = \"s\"", &optimizer())
        .unwrap();
    let metrics = BTreeMap::from([("accuracy".to_string(), 0.5)]);
    store
        .locked(|l| {
            for t in l.optimizer.ask(4)? {
                l.insert_trial(t.id, t.id as u64, Some("w"), true)?;
                l.optimizer.tell(t.id, Ok(vec![0.5]))?;
                l.finish(t.id, Ok(&metrics))?;
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    let c = rusqlite::Connection::open(dir.join("study.db")).unwrap();
    for (number, column) in [
        (0, r#"{"accuracy": null, "loss": 0.25}"#),
        (1, r#"{"accuracy": "high", "ok": 1.5}"#),
        (2, "[1, 2]"),
        (3, "17"),
    ] {
        c.execute(
            "UPDATE qfront_trials SET metrics = ?1 WHERE number = ?2",
            rusqlite::params![column, number],
        )
        .unwrap();
    }
    drop(c);
    let mut store = Store::open(&location).unwrap();
    store.select_study(Some(&name)).unwrap().unwrap();
    let trials = store.trials().unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(
        trials[0].metrics,
        BTreeMap::from([("loss".to_string(), 0.25)])
    );
    assert_eq!(trials[1].metrics, BTreeMap::from([("ok".to_string(), 1.5)]));
    assert!(trials[2].metrics.is_empty() && trials[3].metrics.is_empty());
    store.optimizer().unwrap();
    std::fs::remove_dir_all(dir).ok();
}
