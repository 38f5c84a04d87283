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
mod locked;
mod optimizer_rows;
mod sql;
#[cfg(test)]
pub(crate) mod tests;
mod trial_state;
mod worker;

pub use location::StorageLocation;
pub use locked::Locked;
pub use trial_state::TrialRowState;
pub use worker::{
    host_name, is_dead_local_worker, machine_name, worker_host, worker_id, Heartbeat,
};

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
    /// Where it is in its life.
    pub state: TrialRowState,
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
    /// What else happened to it: e.g. the optimizer's model failed and this trial is a Sobol
    /// point instead (with the error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An open store.
pub struct Store {
    db: Db,
    location: StorageLocation,
    study_id: Option<i64>,
    /// The optimizer's trials as this process last saw them (see `optimizer_rows.rs`).
    cache: Option<optimizer_rows::CachedOptimizer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.location)
    }
}

/// Unix seconds now on this process's clock (names and the study's creation date; every
/// stamp of a trial is on the database's clock instead, see [`Locked::clock`]).
pub fn now() -> f64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    #[cfg(test)]
    let seconds = seconds + tests::CLOCK_SKEW.with(|skew| skew.get());
    seconds
}

/// The schema's version. Versions 1 (no trial notes) and 2 (the whole optimizer in the study's
/// row) are migrated in place when opened, in the transaction that records the new version;
/// any other version is refused, not altered.
const SCHEMA_VERSION: i64 = 3;

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
                created {real} NOT NULL,
                revision {int} NOT NULL DEFAULT 0)"
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
                note TEXT,
                optimizer_trial TEXT,
                revision {int} NOT NULL DEFAULT 0,
                PRIMARY KEY (study, number))"
        ),
    ]
}

/// Indexes, created once the columns exist (after a migration too): changed rows, open
/// trials and re-queued trials are found without reading the others.
const INDEXES: [&str; 3] = [
    "CREATE INDEX IF NOT EXISTS qfront_trials_by_revision ON qfront_trials (study, revision)",
    "CREATE INDEX IF NOT EXISTS qfront_trials_by_state ON qfront_trials (study, state)",
    "CREATE INDEX IF NOT EXISTS qfront_trials_by_retry ON qfront_trials (study, retried_as)",
];

const TRIAL_COLUMNS: &str =
    "number, params, state, metrics, error, seed, worker, started, finished, heartbeat, retried_as, note";

/// A trial's metrics from their JSON column. A value that is not a number (a `null` written
/// for a NaN by an older version, say) is left out, and a column that is not an object reads
/// as no metrics, rather than making the whole study unreadable.
fn metrics_from_json(
    value: serde_json::Value,
) -> std::result::Result<crate::pipeline::Metrics, String> {
    let serde_json::Value::Object(map) = value else {
        return Ok(Default::default());
    };
    Ok(map
        .into_iter()
        .filter_map(|(name, v)| v.as_f64().map(|v| (name, v)))
        .collect())
}

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
        state: row[2]
            .text()
            .and_then(TrialRowState::parse)
            .ok_or_else(|| format!("trial with an unknown state {:?}", row[2]))?,
        metrics: metrics_from_json(metrics)?,
        error: row[4].text().map(str::to_string),
        seed: row[5].int().unwrap_or(0) as u64,
        worker: row[6].text().map(str::to_string),
        started: row[7].real(),
        finished: row[8].real(),
        heartbeat: row[9].real(),
        retried_as: row[10].int().map(|v| v as usize),
        note: row[11].text().map(str::to_string),
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
                    cache: None,
                })
            }
            Some(other) if other != 1 && other != 2 => {
                return Err(fail(format!(
                    "holds schema version {other}, this qfront reads version {SCHEMA_VERSION}; use a qfront of that version or a new store"
                )))
            }
            // Versions 1 and 2 are migrated below, under the write lock.
            _ => {}
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
            Some(old @ (1 | 2)) => {
                let int = if postgres { "BIGINT" } else { "INTEGER" };
                let mut columns = Vec::new();
                if old == 1 {
                    columns.push("ALTER TABLE qfront_trials ADD COLUMN note TEXT".to_string());
                }
                columns.push(format!(
                    "ALTER TABLE qfront_studies ADD COLUMN revision {int} NOT NULL DEFAULT 0"
                ));
                columns.push("ALTER TABLE qfront_trials ADD COLUMN optimizer_trial TEXT".into());
                columns.push(format!(
                    "ALTER TABLE qfront_trials ADD COLUMN revision {int} NOT NULL DEFAULT 0"
                ));
                for statement in columns {
                    tx.execute(&statement, &[]).map_err(fail)?;
                }
                optimizer_rows::migrate_studies(&mut tx).map_err(fail)?;
                tx.execute(
                    "UPDATE qfront_schema SET version = ?1",
                    &[Value::Int(SCHEMA_VERSION)],
                )
                .map_err(fail)?;
                tracing::info!(store = %location, "store migrated from schema version {old} to {SCHEMA_VERSION} (the optimizer's trials in rows of their own)");
            }
            Some(other) => {
                return Err(fail(format!(
                    "holds schema version {other}, this qfront reads version {SCHEMA_VERSION}; use a qfront of that version or a new store"
                )))
            }
        }
        for index in INDEXES {
            tx.execute(index, &[]).map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        Ok(Self {
            db,
            location: location.clone(),
            study_id: None,
            cache: None,
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
        if !optimizer.trials().is_empty() {
            return Err(self.fail("internal: a new study starts from an optimizer without trials"));
        }
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

    /// Selects the study with id `id` (from [`Store::study_id`] of another connection).
    pub fn select_study_id(&mut self, id: i64) {
        self.study_id = Some(id);
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

    /// Runs `f` holding the study's lock, with the optimizer as stored; writes back the
    /// optimizer's head and the trials `f` changed, and commits, when `f` succeeds; changes
    /// nothing when it fails. Reads only the trial rows changed since this process's last
    /// lock (see `optimizer_rows.rs`).
    pub fn locked<T>(&mut self, f: impl FnOnce(&mut Locked<'_>) -> Result<T>) -> Result<T> {
        let study = self.study_id()?;
        let location = self.location.to_string();
        let fail = |reason: String| StudyError::Store {
            path: location.clone(),
            reason,
        };
        let postgres = self.db.is_postgres();
        // Whatever happens below, the cache is only trusted again after a commit.
        let cache = self.cache.take().filter(|c| c.study == study);
        let mut tx = self.db.transaction().map_err(fail)?;
        let (head, revision) = optimizer_rows::read_head(&mut tx, study, postgres).map_err(fail)?;
        let (mut optimizer, seen) = match cache {
            Some(c) if c.revision <= revision => {
                let mut optimizer = c.optimizer;
                optimizer.adopt_head(head);
                (optimizer, c.revision)
            }
            _ => (head, -1),
        };
        if seen < revision {
            for trial in optimizer_rows::read_trials(&mut tx, study, seen).map_err(fail)? {
                optimizer
                    .put_trial(trial)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
        let tags: Vec<u8> = optimizer
            .trials()
            .iter()
            .map(optimizer_rows::state_tag)
            .collect();
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
        // Trials are only appended, and a stored trial changes only its state.
        let changed: Vec<usize> = optimizer
            .trials()
            .iter()
            .enumerate()
            .filter(|(i, t)| tags.get(*i) != Some(&optimizer_rows::state_tag(t)))
            .map(|(i, _)| i)
            .collect();
        let next = revision + 1;
        optimizer_rows::write_back(&mut tx, study, next, &optimizer, &changed).map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.cache = Some(optimizer_rows::CachedOptimizer {
            study,
            revision: next,
            optimizer,
        });
        Ok(out)
    }

    /// A snapshot of the stored optimizer (read only).
    pub fn optimizer(&mut self) -> Result<Optimizer> {
        let study = self.study_id()?;
        self.read(|tx| optimizer_rows::read_optimizer(tx, study))
    }
}
