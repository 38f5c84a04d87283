//! A study held under its lock: the optimizer as stored and the trial rows, changed together
//! and committed when the lock is released (see [`Store::locked`](super::Store::locked)).

use super::sql::{Tx, Value};
use super::{now, trial_from_row, StoredTrial, TRIAL_COLUMNS};
use crate::{Result, StudyError};
use qfront_bo::Optimizer;
use std::collections::BTreeMap;

/// The study, locked: the optimizer as stored, and the trial rows, changed together.
pub struct Locked<'a> {
    pub(super) tx: Tx<'a>,
    pub(super) study: i64,
    /// The optimizer; written back when the lock is released.
    pub optimizer: Optimizer,
    pub(super) location: String,
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
