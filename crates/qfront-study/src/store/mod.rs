//! The study store: the study's config, the optimizer's state and every trial, in SQLite (one
//! file per study, `runs/<study>/study.db`, WAL) or PostgreSQL (many studies and many workers
//! on many machines). Every change to the optimizer happens in one transaction that holds the
//! study's lock (SQLite's write lock; a PostgreSQL row lock on the study, as Optuna's RDB
//! storage does): the state is read, changed (ask, tell, re-queue) and written back with the
//! trial rows it concerns. So workers never ask the same trial twice, and a process killed at
//! any moment leaves each completed trial stored exactly once.
//!
//! Trial states: `waiting` (asked, not yet taken by a worker), `running` (taken; the worker
//! stamps a heartbeat), `complete`, `failed`. A running trial whose worker died is failed and
//! re-queued as a new waiting trial with the same parameters and seed (`retried_as`).

mod location;
mod sql;
mod worker;

pub use location::StorageLocation;
pub use worker::{host_name, is_dead_local_worker, worker_id, Heartbeat};

use crate::{Result, StudyError};
use qfront_bo::Optimizer;
use sql::{Db, Tx, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// A trial as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredTrial {
    /// Number, from 0.
    pub number: usize,
    /// Parameters by name.
    pub params: BTreeMap<String, serde_json::Value>,
    /// `waiting`, `running`, `complete` or `failed`.
    pub state: String,
    /// Every metric measured (complete trials).
    pub metrics: BTreeMap<String, f64>,
    /// Why it failed.
    pub error: Option<String>,
    /// The seed it trains with.
    pub seed: u64,
    /// The worker that took it (`host:pid:nonce`, or `external` for `qfront study ask`).
    pub worker: Option<String>,
    /// Unix seconds.
    pub started: Option<f64>,
    /// Unix seconds.
    pub finished: Option<f64>,
    /// Unix seconds of the worker's last heartbeat (none for external trials).
    pub heartbeat: Option<f64>,
    /// The trial that re-runs this one after its worker was lost.
    pub retried_as: Option<usize>,
}

/// An open store.
pub struct Store {
    db: Db,
    location: StorageLocation,
    study_id: Option<i64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.location)
    }
}

/// Unix seconds now.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The schema's version; a store written with another version is refused, not altered.
const SCHEMA_VERSION: i64 = 1;

/// The schema, in the dialect of each database (types and the study id's generator differ).
fn schema(postgres: bool) -> Vec<String> {
    let (id, real, int) = if postgres {
        ("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION", "BIGINT")
    } else {
        ("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL", "INTEGER")
    };
    vec![
        format!("CREATE TABLE IF NOT EXISTS qfront_schema (version {int} NOT NULL)"),
        format!(
            "CREATE TABLE IF NOT EXISTS qfront_studies (
                id {id},
                name TEXT NOT NULL UNIQUE,
                config TEXT NOT NULL,
                optimizer TEXT NOT NULL,
                created {real} NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS qfront_trials (
                study {int} NOT NULL REFERENCES qfront_studies (id),
                number {int} NOT NULL,
                params TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'complete', 'failed')),
                metrics TEXT,
                error TEXT,
                seed {int} NOT NULL,
                worker TEXT,
                started {real},
                finished {real},
                heartbeat {real},
                retried_as {int},
                PRIMARY KEY (study, number))"
        ),
    ]
}

const TRIAL_COLUMNS: &str =
    "number, params, state, metrics, error, seed, worker, started, finished, heartbeat, retried_as";

fn trial_from_row(row: &[Value]) -> std::result::Result<StoredTrial, String> {
    let json = |v: &Value| -> std::result::Result<Option<serde_json::Value>, String> {
        v.text()
            .map(|t| serde_json::from_str(t).map_err(|e| format!("unreadable JSON column: {e}")))
            .transpose()
    };
    let empty = || serde_json::json!({});
    let params = json(&row[1])?.unwrap_or_else(empty);
    let metrics = json(&row[3])?.unwrap_or_else(empty);
    Ok(StoredTrial {
        number: row[0].int().ok_or("trial without a number")? as usize,
        params: serde_json::from_value(params).map_err(|e| e.to_string())?,
        state: row[2].text().unwrap_or_default().to_string(),
        metrics: serde_json::from_value(metrics).map_err(|e| e.to_string())?,
        error: row[4].text().map(str::to_string),
        seed: row[5].int().unwrap_or(0) as u64,
        worker: row[6].text().map(str::to_string),
        started: row[7].real(),
        finished: row[8].real(),
        heartbeat: row[9].real(),
        retried_as: row[10].int().map(|v| v as usize),
    })
}

impl Store {
    /// Connects to `location` (creating a SQLite file and the schema if needed).
    pub fn open(location: &StorageLocation) -> Result<Self> {
        let fail = |reason: String| StudyError::Store {
            path: location.to_string(),
            reason,
        };
        let mut db = Db::open(location).map_err(fail)?;
        let postgres = db.is_postgres();
        // A store already set up is only read here, so opening one never waits for a
        // worker that holds the write lock.
        let stored_version = {
            let mut tx = db.read_transaction().map_err(fail)?;
            let version = tx
                .query("SELECT version FROM qfront_schema", &[])
                .ok()
                .and_then(|rows| rows.first().and_then(|r| r[0].int()));
            drop(tx);
            version
        };
        match stored_version {
            Some(SCHEMA_VERSION) => {
                return Ok(Self {
                    db,
                    location: location.clone(),
                    study_id: None,
                })
            }
            Some(other) => {
                return Err(fail(format!(
                    "holds schema version {other}, this qfront reads version {SCHEMA_VERSION}; use a qfront of that version or a new store"
                )))
            }
            None => {}
        }
        if !postgres {
            // A file from before this schema (a single `study` table) is refused untouched.
            let mut tx = db.read_transaction().map_err(fail)?;
            let old = tx
                .query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'study'",
                    &[],
                )
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
            if !old.is_empty() {
                return Err(fail(
                    "written by an older qfront (schema 0); re-run the study into a new --dir"
                        .into(),
                ));
            }
        }
        let mut tx = db.transaction().map_err(fail)?;
        if postgres {
            // Two workers creating the schema at once would race on the catalog.
            tx.execute("SELECT pg_advisory_xact_lock(7166438101)", &[])
                .map_err(fail)?;
        }
        for statement in schema(postgres) {
            tx.execute(&statement, &[]).map_err(fail)?;
        }
        if postgres {
            // The optimizer state is rewritten on every ask and tell; compressing it (the
            // default for long text) doubled the cost per trial at 1000 trials
            // (`qfront bench store`), so it is stored uncompressed.
            tx.execute(
                "ALTER TABLE qfront_studies ALTER COLUMN optimizer SET STORAGE EXTERNAL",
                &[],
            )
            .map_err(fail)?;
        }
        let versions = tx
            .query("SELECT version FROM qfront_schema", &[])
            .map_err(fail)?;
        match versions.first().and_then(|r| r[0].int()) {
            None => {
                tx.execute(
                    "INSERT INTO qfront_schema (version) VALUES (?1)",
                    &[Value::Int(SCHEMA_VERSION)],
                )
                .map_err(fail)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(fail(format!(
                    "holds schema version {other}, this qfront reads version {SCHEMA_VERSION}; use a qfront of that version or a new store"
                )))
            }
        }
        tx.commit().map_err(fail)?;
        Ok(Self {
            db,
            location: location.clone(),
            study_id: None,
        })
    }

    /// Where the store is.
    pub fn location(&self) -> &StorageLocation {
        &self.location
    }

    fn fail(&self, reason: impl ToString) -> StudyError {
        StudyError::Store {
            path: self.location.to_string(),
            reason: reason.to_string(),
        }
    }

    fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, String>,
    ) -> Result<T> {
        self.in_transaction(false, f)
    }

    fn write<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, String>,
    ) -> Result<T> {
        self.in_transaction(true, f)
    }

    fn in_transaction<T>(
        &mut self,
        write: bool,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let location = self.location.to_string();
        let fail = |reason: String| StudyError::Store {
            path: location.clone(),
            reason,
        };
        let mut tx = if write {
            self.db.transaction()
        } else {
            self.db.read_transaction()
        }
        .map_err(fail)?;
        let out = f(&mut tx).map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(out)
    }

    /// The names of the studies stored, oldest first.
    pub fn study_names(&mut self) -> Result<Vec<String>> {
        self.read(|tx| {
            Ok(tx
                .query("SELECT name FROM qfront_studies ORDER BY id", &[])?
                .iter()
                .filter_map(|r| r[0].text().map(str::to_string))
                .collect())
        })
    }

    /// Selects the study named `name` (or the only one, when `name` is `None` and there is
    /// exactly one); returns its name and config (TOML), or `None` when there is none. With
    /// several studies and no name, the error lists them.
    pub fn select_study(&mut self, name: Option<&str>) -> Result<Option<(String, String)>> {
        let rows = self.read(|tx| {
            tx.query(
                "SELECT id, name, config FROM qfront_studies ORDER BY id",
                &[],
            )
        })?;
        let chosen: Vec<&Vec<Value>> = rows
            .iter()
            .filter(|r| name.is_none_or(|n| r[1].text() == Some(n)))
            .collect();
        match chosen.as_slice() {
            [] => Ok(None),
            [row] => {
                self.study_id = row[0].int();
                Ok(Some((
                    row[1].text().unwrap_or_default().to_string(),
                    row[2].text().unwrap_or_default().to_string(),
                )))
            }
            _ => {
                let names: Vec<&str> = rows.iter().filter_map(|r| r[1].text()).collect();
                let shown = names.len().min(8);
                let more = match names.len() - shown {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                Err(self.fail(format!(
                    "holds {} studies ({}{more}); name one with --study",
                    names.len(),
                    names[..shown].join(", ")
                )))
            }
        }
    }

    /// Records a new study and selects it; refused when one of that name exists (and, for a
    /// SQLite file, when it already holds another study: one study per file).
    pub fn create_study(
        &mut self,
        name: &str,
        config_toml: &str,
        optimizer: &Optimizer,
    ) -> Result<()> {
        let state = serde_json::to_string(optimizer).map_err(|e| self.fail(e))?;
        let one_per_file = !self.location.is_shared();
        let id = self.write(|tx| {
            let existing = tx.query("SELECT name FROM qfront_studies", &[])?;
            if let Some(other) = existing
                .iter()
                .filter_map(|r| r[0].text())
                .find(|n| *n == name || one_per_file)
            {
                return Err(format!("already holds study '{other}'"));
            }
            tx.execute(
                "INSERT INTO qfront_studies (name, config, optimizer, created) VALUES (?1, ?2, ?3, ?4)",
                &[
                    Value::Text(name.into()),
                    Value::Text(config_toml.into()),
                    Value::Text(state),
                    Value::Real(now()),
                ],
            )?;
            tx.query(
                "SELECT id FROM qfront_studies WHERE name = ?1",
                &[Value::Text(name.into())],
            )?
            .first()
            .and_then(|r| r[0].int())
            .ok_or_else(|| "the new study was not stored".to_string())
        })?;
        self.study_id = Some(id);
        Ok(())
    }

    /// Deletes the selected study and its trials (artifacts on disk are left alone).
    pub fn delete_study(&mut self) -> Result<()> {
        let study = self.study_id()?;
        self.write(|tx| {
            tx.execute(
                "DELETE FROM qfront_trials WHERE study = ?1",
                &[Value::Int(study)],
            )?;
            tx.execute(
                "DELETE FROM qfront_studies WHERE id = ?1",
                &[Value::Int(study)],
            )?;
            Ok(())
        })?;
        self.study_id = None;
        Ok(())
    }

    /// The selected study's id.
    pub fn study_id(&self) -> Result<i64> {
        self.study_id
            .ok_or_else(|| self.fail("no study selected (internal: select or create one first)"))
    }

    /// Every trial of the selected study, by number.
    pub fn trials(&mut self) -> Result<Vec<StoredTrial>> {
        let study = self.study_id()?;
        self.read(|tx| {
            tx.query(
                &format!(
                    "SELECT {TRIAL_COLUMNS} FROM qfront_trials WHERE study = ?1 ORDER BY number"
                ),
                &[Value::Int(study)],
            )?
            .iter()
            .map(|r| trial_from_row(r))
            .collect()
        })
    }

    /// Runs `f` holding the study's lock, with the optimizer as stored; writes the optimizer
    /// back and commits when `f` succeeds, changes nothing when it fails.
    pub fn locked<T>(&mut self, f: impl FnOnce(&mut Locked<'_>) -> Result<T>) -> Result<T> {
        let study = self.study_id()?;
        let location = self.location.to_string();
        let fail = |reason: String| StudyError::Store {
            path: location.clone(),
            reason,
        };
        let lock = if self.db.is_postgres() {
            "SELECT optimizer FROM qfront_studies WHERE id = ?1 FOR UPDATE"
        } else {
            "SELECT optimizer FROM qfront_studies WHERE id = ?1"
        };
        let mut tx = self.db.transaction().map_err(fail)?;
        let rows = tx.query(lock, &[Value::Int(study)]).map_err(fail)?;
        let state = rows
            .first()
            .and_then(|r| r[0].text())
            .ok_or_else(|| fail("the study is gone from the store".into()))?;
        let optimizer: Optimizer = serde_json::from_str(state)
            .map_err(|e| fail(format!("stored optimizer state is unreadable: {e}")))?;
        let mut locked = Locked {
            tx,
            study,
            optimizer,
            location: location.clone(),
        };
        let out = f(&mut locked)?;
        let Locked {
            mut tx, optimizer, ..
        } = locked;
        let state = serde_json::to_string(&optimizer).map_err(|e| fail(e.to_string()))?;
        tx.execute(
            "UPDATE qfront_studies SET optimizer = ?1 WHERE id = ?2",
            &[Value::Text(state), Value::Int(study)],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(out)
    }

    /// A snapshot of the stored optimizer (read only).
    pub fn optimizer(&mut self) -> Result<Optimizer> {
        let study = self.study_id()?;
        let text = self.read(|tx| {
            tx.query(
                "SELECT optimizer FROM qfront_studies WHERE id = ?1",
                &[Value::Int(study)],
            )?
            .first()
            .and_then(|r| r[0].text().map(str::to_string))
            .ok_or_else(|| "the study is gone from the store".to_string())
        })?;
        serde_json::from_str(&text)
            .map_err(|e| self.fail(format!("stored optimizer state is unreadable: {e}")))
    }
}

/// The study, locked: the optimizer as stored, and the trial rows, changed together.
pub struct Locked<'a> {
    tx: Tx<'a>,
    study: i64,
    /// The optimizer; written back when the lock is released.
    pub optimizer: Optimizer,
    location: String,
}

impl Locked<'_> {
    fn fail(&self, reason: String) -> StudyError {
        StudyError::Store {
            path: self.location.clone(),
            reason,
        }
    }

    /// Every trial of the study, by number.
    pub fn trials(&mut self) -> Result<Vec<StoredTrial>> {
        let rows = self.tx.query(
            &format!("SELECT {TRIAL_COLUMNS} FROM qfront_trials WHERE study = ?1 ORDER BY number"),
            &[Value::Int(self.study)],
        );
        rows.and_then(|rows| rows.iter().map(|r| trial_from_row(r)).collect())
            .map_err(|e| self.fail(e))
    }

    /// Trial `number`, if stored.
    pub fn trial(&mut self, number: usize) -> Result<Option<StoredTrial>> {
        let rows = self.tx.query(
            &format!("SELECT {TRIAL_COLUMNS} FROM qfront_trials WHERE study = ?1 AND number = ?2"),
            &[Value::Int(self.study), Value::Int(number as i64)],
        );
        rows.and_then(|rows| rows.first().map(|r| trial_from_row(r)).transpose())
            .map_err(|e| self.fail(e))
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let result = self.tx.execute(sql, params);
        result.map_err(|e| self.fail(e))
    }

    /// Records a new trial: `waiting` when `worker` is `None`, else `running` for `worker`
    /// (with a heartbeat stamp when `heartbeat`).
    pub fn insert_trial(
        &mut self,
        number: usize,
        params: &BTreeMap<String, serde_json::Value>,
        seed: u64,
        worker: Option<&str>,
        heartbeat: bool,
    ) -> Result<()> {
        let p = serde_json::to_string(params).map_err(|e| self.fail(e.to_string()))?;
        self.execute(
            "INSERT INTO qfront_trials (study, number, params, state, seed) VALUES (?1, ?2, ?3, 'waiting', ?4)",
            &[
                Value::Int(self.study),
                Value::Int(number as i64),
                Value::Text(p),
                Value::Int(seed as i64),
            ],
        )?;
        match worker {
            Some(worker) => self.claim(number, worker, heartbeat),
            None => Ok(()),
        }
    }

    /// Hands waiting trial `number` to `worker`: it is `running` from now.
    pub fn claim(&mut self, number: usize, worker: &str, heartbeat: bool) -> Result<()> {
        let sql = if heartbeat {
            "UPDATE qfront_trials SET state = 'running', worker = ?1, started = ?2, heartbeat = ?2 WHERE study = ?3 AND number = ?4 AND state = 'waiting'"
        } else {
            "UPDATE qfront_trials SET state = 'running', worker = ?1, started = ?2, heartbeat = NULL WHERE study = ?3 AND number = ?4 AND state = 'waiting'"
        };
        let changed = self.execute(
            sql,
            &[
                Value::Text(worker.into()),
                Value::Real(now()),
                Value::Int(self.study),
                Value::Int(number as i64),
            ],
        )?;
        if changed != 1 {
            return Err(self.fail(format!("trial {number} is not waiting")));
        }
        Ok(())
    }

    /// Stores the outcome of running trial `number` (metrics, or an error).
    pub fn finish(
        &mut self,
        number: usize,
        outcome: std::result::Result<&BTreeMap<String, f64>, &str>,
    ) -> Result<()> {
        let changed = match outcome {
            Ok(metrics) => {
                let m = serde_json::to_string(metrics).map_err(|e| self.fail(e.to_string()))?;
                self.execute(
                    "UPDATE qfront_trials SET state = 'complete', metrics = ?1, error = NULL, finished = ?2 WHERE study = ?3 AND number = ?4 AND state = 'running'",
                    &[Value::Text(m), Value::Real(now()), Value::Int(self.study), Value::Int(number as i64)],
                )?
            }
            Err(error) => self.execute(
                "UPDATE qfront_trials SET state = 'failed', error = ?1, finished = ?2 WHERE study = ?3 AND number = ?4 AND state = 'running'",
                &[Value::Text(error.into()), Value::Real(now()), Value::Int(self.study), Value::Int(number as i64)],
            )?,
        };
        if changed != 1 {
            return Err(self.fail(format!("trial {number} is not running")));
        }
        Ok(())
    }

    /// Fails running trial `number` (its worker was lost, `reason` says how) and records
    /// that trial `retry` re-runs it.
    pub fn mark_retried(&mut self, number: usize, reason: &str, retry: usize) -> Result<()> {
        let changed = self.execute(
            "UPDATE qfront_trials SET state = 'failed', error = ?1, finished = ?2, retried_as = ?3 WHERE study = ?4 AND number = ?5 AND state = 'running'",
            &[
                Value::Text(reason.into()),
                Value::Real(now()),
                Value::Int(retry as i64),
                Value::Int(self.study),
                Value::Int(number as i64),
            ],
        )?;
        if changed != 1 {
            return Err(self.fail(format!("trial {number} is not running")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qfront_bo::space::{Parameter, SearchSpace};
    use qfront_bo::{Method, OptimizerConfig, TrialState};

    fn optimizer() -> Optimizer {
        let space = SearchSpace::new(vec![Parameter::float("learning_rate", 0.001, 0.1)]).unwrap();
        Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 0)).unwrap()
    }

    fn unique(prefix: &str) -> String {
        format!("{prefix}-{}-{:x}", std::process::id(), (now() * 1e6) as u64)
    }

    /// The PostgreSQL server of `.ci/postgres.sh`, when one is running.
    pub(crate) fn postgres() -> Option<StorageLocation> {
        match std::env::var("QFRONT_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => Some(StorageLocation::parse(&url).unwrap()),
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
        let params = BTreeMap::from([("learning_rate".to_string(), serde_json::json!(0.01))]);
        store
            .locked(|l| {
                for t in l.optimizer.ask(3)? {
                    l.insert_trial(t.id, &params, 7 + t.id as u64, Some("w"), true)?;
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
                l.insert_trial(retry.id, &params, 9, None, false)
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
                                l.insert_trial(
                                    t.id,
                                    &BTreeMap::new(),
                                    0,
                                    Some(&format!("w{w}")),
                                    true,
                                )?;
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
                        l.insert_trial(t.id, &BTreeMap::new(), 0, Some("w"), true)?;
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
}
