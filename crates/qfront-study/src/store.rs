//! The study store: one SQLite file per study (`runs/<study>/study.db`, WAL mode) holding the
//! study config, the optimizer's state and every trial. A trial's completion and the
//! optimizer state that knows it are written in one transaction, so a study killed at any
//! moment resumes with no completed trial lost or duplicated; trials left `running` are
//! re-run on resume.

use crate::{Result, StudyError};
use qfront_bo::Optimizer;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A trial as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredTrial {
    /// Number, from 0.
    pub number: usize,
    /// Parameters by name.
    pub params: BTreeMap<String, serde_json::Value>,
    /// `running`, `complete` or `failed`.
    pub state: String,
    /// Every metric measured (complete trials).
    pub metrics: BTreeMap<String, f64>,
    /// Why it failed.
    pub error: Option<String>,
    /// The seed it trained with.
    pub seed: u64,
    /// Unix seconds.
    pub started: Option<f64>,
    /// Unix seconds.
    pub finished: Option<f64>,
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    connection: Connection,
    path: PathBuf,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS study (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    optimizer TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    params TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    metrics TEXT,
    error TEXT,
    seed INTEGER NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL
);
";

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StudyError::Io {
                path: dir.to_path_buf(),
                error: e,
            })?;
        }
        let fail = |e: rusqlite::Error| StudyError::Store {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let connection = Connection::open(path).map_err(fail)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Self {
            connection,
            path: path.to_path_buf(),
        })
    }

    fn fail(&self, e: impl ToString) -> StudyError {
        StudyError::Store {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    /// The stored study: its name, config (TOML) and optimizer.
    pub fn load_study(&self) -> Result<Option<(String, String, Optimizer)>> {
        let row = self
            .connection
            .query_row(
                "SELECT name, config, optimizer FROM study WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        match row {
            None => Ok(None),
            Some((name, config, optimizer)) => {
                let optimizer = serde_json::from_str(&optimizer)
                    .map_err(|e| self.fail(format!("stored optimizer state is unreadable: {e}")))?;
                Ok(Some((name, config, optimizer)))
            }
        }
    }

    /// Records a new study.
    pub fn create_study(&self, name: &str, config_toml: &str, optimizer: &Optimizer) -> Result<()> {
        let state = serde_json::to_string(optimizer).map_err(|e| self.fail(e))?;
        self.connection
            .execute("INSERT INTO study (id, name, config, optimizer, created) VALUES (1, ?1, ?2, ?3, ?4)", params![name, config_toml, state, now()])
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn save_optimizer(tx: &rusqlite::Transaction, optimizer: &Optimizer) -> rusqlite::Result<()> {
        let state = serde_json::to_string(optimizer).expect("the optimizer serialises");
        tx.execute(
            "UPDATE study SET optimizer = ?1 WHERE id = 1",
            params![state],
        )?;
        Ok(())
    }

    /// Records asked trials as running, with the optimizer that asked them (one transaction).
    pub fn begin_trials(
        &mut self,
        optimizer: &Optimizer,
        trials: &[(usize, BTreeMap<String, serde_json::Value>, u64)],
    ) -> Result<()> {
        let path = self.path.display().to_string();
        let fail = |e: rusqlite::Error| StudyError::Store {
            path: path.clone(),
            reason: e.to_string(),
        };
        let tx = self.connection.transaction().map_err(fail)?;
        for (number, params, seed) in trials {
            let p = serde_json::to_string(params).expect("params serialise");
            tx.execute(
                "INSERT INTO trials (number, params, state, seed, started, heartbeat) VALUES (?1, ?2, 'running', ?3, ?4, ?4)",
                params![*number as i64, p, *seed as i64, now()],
            )
            .map_err(fail)?;
        }
        Self::save_optimizer(&tx, optimizer).map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// Records a finished trial (metrics, or an error) with the optimizer that was told it.
    pub fn finish_trial(
        &mut self,
        optimizer: &Optimizer,
        number: usize,
        outcome: std::result::Result<&BTreeMap<String, f64>, &str>,
    ) -> Result<()> {
        let path = self.path.display().to_string();
        let fail = |e: rusqlite::Error| StudyError::Store {
            path: path.clone(),
            reason: e.to_string(),
        };
        let tx = self.connection.transaction().map_err(fail)?;
        match outcome {
            Ok(metrics) => {
                let m = serde_json::to_string(metrics).expect("metrics serialise");
                tx.execute("UPDATE trials SET state = 'complete', metrics = ?1, error = NULL, finished = ?2 WHERE number = ?3", params![m, now(), number as i64])
            }
            Err(error) => tx.execute("UPDATE trials SET state = 'failed', error = ?1, finished = ?2 WHERE number = ?3", params![error, now(), number as i64]),
        }
        .map_err(fail)?;
        Self::save_optimizer(&tx, optimizer).map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// Records that a running trial (asked now or left by a killed process) starts now.
    pub fn mark_started(&self, number: usize) -> Result<()> {
        self.connection
            .execute(
                "UPDATE trials SET started = ?1, heartbeat = ?1 WHERE number = ?2",
                params![now(), number as i64],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Every trial, by number.
    pub fn trials(&self) -> Result<Vec<StoredTrial>> {
        let mut statement = self
            .connection
            .prepare("SELECT number, params, state, metrics, error, seed, started, finished FROM trials ORDER BY number")
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<f64>>(6)?,
                    r.get::<_, Option<f64>>(7)?,
                ))
            })
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (number, params, state, metrics, error, seed, started, finished) =
                row.map_err(|e| self.fail(e))?;
            out.push(StoredTrial {
                number: number as usize,
                params: serde_json::from_str(&params).map_err(|e| self.fail(e))?,
                state,
                metrics: metrics
                    .map(|m| serde_json::from_str(&m))
                    .transpose()
                    .map_err(|e| self.fail(e))?
                    .unwrap_or_default(),
                error,
                seed: seed as u64,
                started,
                finished,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qfront_bo::space::{Parameter, SearchSpace};
    use qfront_bo::{Method, OptimizerConfig};

    #[test]
    fn trials_round_trip_and_a_reopened_store_sees_them() {
        let path =
            std::env::temp_dir().join(format!("qfront-store-{}/study.db", std::process::id()));
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
        let space = SearchSpace::new(vec![Parameter::float("learning_rate", 0.001, 0.1)]).unwrap();
        let mut optimizer =
            Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 0)).unwrap();
        let mut store = Store::open(&path).unwrap();
        assert!(store.load_study().unwrap().is_none());
        store.create_study("s", "name = \"s\"", &optimizer).unwrap();
        let asked = optimizer.ask(2).unwrap();
        let rows: Vec<_> = asked
            .iter()
            .map(|t| {
                (
                    t.id,
                    BTreeMap::from([("learning_rate".to_string(), serde_json::json!(0.01))]),
                    7,
                )
            })
            .collect();
        store.begin_trials(&optimizer, &rows).unwrap();
        optimizer.tell(0, Ok(vec![0.5])).unwrap();
        let metrics = BTreeMap::from([("accuracy".to_string(), 0.5)]);
        store.finish_trial(&optimizer, 0, Ok(&metrics)).unwrap();
        optimizer.tell(1, Err("boom".into())).unwrap();
        store.finish_trial(&optimizer, 1, Err("boom")).unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
        let (name, config, stored) = store.load_study().unwrap().unwrap();
        assert_eq!((name.as_str(), config.as_str()), ("s", "name = \"s\""));
        assert_eq!(
            stored, optimizer,
            "the optimizer state is the one after the last tell"
        );
        let trials = store.trials().unwrap();
        assert_eq!(trials.len(), 2);
        assert_eq!(
            (
                trials[0].state.as_str(),
                trials[0].metrics["accuracy"],
                trials[0].seed
            ),
            ("complete", 0.5, 7)
        );
        assert_eq!(
            (trials[1].state.as_str(), trials[1].error.as_deref()),
            ("failed", Some("boom"))
        );
        // Creating the study again is refused (one study per store).
        assert!(store.create_study("s", "", &optimizer).is_err());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}
