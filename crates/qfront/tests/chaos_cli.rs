//! Chaos: three workers share one study (SQLite, and PostgreSQL when a server is given) and
//! are killed with SIGKILL at random moments, each restarted at once with `--resume`. When
//! the kills are done the survivors finish the study. Then every trial of the budget is
//! complete exactly once (a killed trial failed and re-ran under a new number with the same
//! parameters and seed), no trial beyond the budget completed, and the database passes its
//! integrity check.
//!
//! Short form in CI (`QFRONT_CHAOS_KILLS`, default 8 kills per database, a budget of 40); the
//! long form (`QFRONT_CHAOS_KILLS=25 QFRONT_CHAOS_BUDGET=150`: 50 kills in all) is recorded in
//! BENCHMARKS.md. The kill moments
//! come from a seeded generator (`QFRONT_CHAOS_SEED`), so a failure names its seed.

mod common;

use common::{qfront, qfront_ok, spawn_qfront};
use serde_json::Value;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Trials of the study (`QFRONT_CHAOS_BUDGET`, default 40).
fn budget() -> usize {
    env_number("QFRONT_CHAOS_BUDGET", 40) as usize
}

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("chaos.toml");
    std::fs::write(
        &path,
        format!(
            r#"name = "chaos"
dataset = "digits"
family = "mlp"
objectives = ["accuracy", "-size_kb"]
budget = {}

[fixed]
epochs = 1
hidden = 32

[latency]
max_time = 0.02

[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4, 8]

[[parameter]]
name = "learning_rate"
type = "float"
low = 0.001
high = 0.05
log = true
"#,
            budget()
        ),
    )
    .unwrap();
    path
}

/// A seeded generator for the kill schedule.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the chaos on one store (`store`: the arguments naming it); returns the trials.
/// `worker_dirs`: each worker's own artifact directory (PostgreSQL: as on three machines), or
/// `None` when `store` names the shared directory (SQLite).
fn chaos(
    label: &str,
    store: &[&str],
    config: &Path,
    worker_dirs: Option<[&Path; 3]>,
) -> Vec<Value> {
    let kills = env_number("QFRONT_CHAOS_KILLS", 8);
    let seed = env_number("QFRONT_CHAOS_SEED", 1);
    let mut rng = Lcg(seed);
    let start = |i: usize| -> Child {
        let head = ["search", "--config", config.to_str().unwrap(), "--resume"];
        let dir = worker_dirs.map(|dirs| ["--dir", dirs[i].to_str().unwrap()]);
        spawn_qfront(&[&head[..], store, dir.as_ref().map_or(&[][..], |d| &d[..])].concat())
    };
    // The first worker creates the study; the others join once it exists.
    let mut workers = vec![start(0)];
    let began = Instant::now();
    loop {
        let out = qfront(&[&["trials", "--format", "json"], store].concat());
        if out.status.success() {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{label}: the study never appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    workers.push(start(1));
    workers.push(start(2));
    let mut done = 0;
    while done < kills {
        std::thread::sleep(Duration::from_millis(20 + rng.below(250)));
        let i = rng.below(3) as usize;
        // SIGKILL (Child::kill), then restart at once as the same worker slot.
        workers[i].kill().ok();
        workers[i].wait().unwrap();
        workers[i] = start(i);
        done += 1;
        assert!(
            began.elapsed() < Duration::from_secs(240),
            "{label} (seed {seed}): {done} kills took too long"
        );
    }
    // The survivors finish the study.
    for (i, mut worker) in workers.into_iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some(status) = worker.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = worker.stderr.take() {
                    use std::io::Read;
                    pipe.read_to_string(&mut stderr).ok();
                }
                assert!(
                    status.success(),
                    "{label} (seed {seed}): worker {i} failed: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "{stderr}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{label} (seed {seed}): worker {i} never finished"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let out = qfront_ok(&[&["trials", "--format", "json"], store].concat());
    let trials: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    common::check_exactly_once(&trials, budget());
    let complete = trials.iter().filter(|t| t["state"] == "complete").count();
    let lost = trials.len() - complete;
    eprintln!(
        "{label} (seed {seed}): {kills} kills, {} trials stored, {lost} lost to kills and re-run, {:.1} s",
        trials.len(),
        began.elapsed().as_secs_f64()
    );
    trials
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-chaos-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn three_sqlite_workers_killed_at_random_finish_every_trial_once() {
    let dir = temp("sqlite");
    let config = config(&dir);
    let study = dir.join("study");
    // All three share the study directory (one machine, one SQLite file).
    chaos("sqlite", &["--dir", study.to_str().unwrap()], &config, None);
    let connection = rusqlite::Connection::open(study.join("study.db")).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn three_postgres_workers_killed_at_random_finish_every_trial_once() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let dir = temp("postgres");
    let config = config(&dir);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let name = format!("chaos-{}-{stamp}", std::process::id());
    let dirs = [dir.join("a"), dir.join("b"), dir.join("c")];
    chaos(
        "postgres",
        &["--storage", &url, "--study", &name],
        &config,
        Some([&dirs[0], &dirs[1], &dirs[2]]),
    );
    // The server's own view: one row per (study, number), states from the allowed set.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT COUNT(*), COUNT(DISTINCT t.number), COUNT(*) FILTER (WHERE t.state = 'complete') \
             FROM qfront_trials t JOIN qfront_studies s ON s.id = t.study WHERE s.name = $1",
            &[&name],
        )
        .unwrap();
    let (all, distinct, complete): (i64, i64, i64) =
        (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert_eq!(all, distinct);
    assert_eq!(complete as usize, budget());
    std::fs::remove_dir_all(dir).ok();
}
