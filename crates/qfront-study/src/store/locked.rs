//! A study held under its lock: the optimizer as stored and the trial rows, changed together
//! and committed when the lock is released (see [`Store::locked`](super::Store::locked)).

use super::sql::{Tx, Value};
use super::{trial_from_row, StoredTrial, TRIAL_COLUMNS};
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

    /// The trials still open (waiting or running), by number: what a worker looks at on each
    /// step, read through an index so its cost does not grow with the finished trials.
    pub fn open_trials(&mut self) -> Result<Vec<StoredTrial>> {
        let rows = self.tx.query(
            &format!("SELECT {TRIAL_COLUMNS} FROM qfront_trials WHERE study = ?1 AND state IN ('waiting', 'running') ORDER BY number"),
            &[Value::Int(self.study)],
        );
        rows.and_then(|rows| rows.iter().map(|r| trial_from_row(r)).collect())
            .map_err(|e| self.fail(e))
    }

    /// How many trials count against the budget: all of them except those re-queued (their
    /// retries count instead). Every trial of the optimizer has its row.
    pub fn counted_trials(&mut self) -> Result<usize> {
        let rows = self.tx.query(
            "SELECT COUNT(*) FROM qfront_trials WHERE study = ?1 AND retried_as IS NOT NULL",
            &[Value::Int(self.study)],
        );
        let retried = rows
            .map_err(|e| self.fail(e))?
            .first()
            .and_then(|r| r[0].int())
            .unwrap_or(0) as usize;
        Ok(self.optimizer.trials().len().saturating_sub(retried))
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

    /// The database's clock now, Unix seconds: the one clock every stamp of the study is on.
    pub fn clock(&mut self) -> Result<f64> {
        let result = self.tx.clock();
        result.map_err(|e| self.fail(e))
    }

    /// Overwrites trial `number`'s heartbeat (tests age a heartbeat with it).
    #[cfg(test)]
    pub(crate) fn set_heartbeat_for_tests(&mut self, number: usize, heartbeat: f64) -> Result<()> {
        let params = [
            Value::Real(heartbeat),
            Value::Int(self.study),
            Value::Int(number as i64),
        ];
        self.execute(
            "UPDATE qfront_trials SET heartbeat = ?1 WHERE study = ?2 AND number = ?3",
            &params,
        )
        .map(|_| ())
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
        let clock = self.tx.clock_sql();
        let heartbeat = if heartbeat { clock } else { "NULL" };
        let sql = format!("UPDATE qfront_trials SET state = 'running', worker = ?1, started = {clock}, heartbeat = {heartbeat} WHERE study = ?2 AND number = ?3 AND state = 'waiting'");
        let changed = self.execute(
            &sql,
            &[
                Value::Text(worker.into()),
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
        let clock = self.tx.clock_sql();
        let changed = match outcome {
            Ok(metrics) => {
                let m = serde_json::to_string(metrics).map_err(|e| self.fail(e.to_string()))?;
                self.execute(
                    &format!("UPDATE qfront_trials SET state = 'complete', metrics = ?1, error = NULL, finished = {clock} WHERE study = ?2 AND number = ?3 AND state = 'running'"),
                    &[Value::Text(m), Value::Int(self.study), Value::Int(number as i64)],
                )?
            }
            Err(error) => self.execute(
                &format!("UPDATE qfront_trials SET state = 'failed', error = ?1, finished = {clock} WHERE study = ?2 AND number = ?3 AND state = 'running'"),
                &[Value::Text(error.into()), Value::Int(self.study), Value::Int(number as i64)],
            )?,
        };
        if changed != 1 {
            return Err(self.fail(format!("trial {number} is not running")));
        }
        Ok(())
    }

    /// Records `note` on trial `number` (what else happened to it).
    pub fn set_note(&mut self, number: usize, note: &str) -> Result<()> {
        let params = [
            Value::Text(note.into()),
            Value::Int(self.study),
            Value::Int(number as i64),
        ];
        self.execute(
            "UPDATE qfront_trials SET note = ?1 WHERE study = ?2 AND number = ?3",
            &params,
        )
        .map(|_| ())
    }

    /// Fails running trial `number` (its worker was lost, `reason` says how) and records
    /// that trial `retry` re-runs it.
    pub fn mark_retried(&mut self, number: usize, reason: &str, retry: usize) -> Result<()> {
        let clock = self.tx.clock_sql();
        let changed = self.execute(
            &format!("UPDATE qfront_trials SET state = 'failed', error = ?1, finished = {clock}, retried_as = ?2 WHERE study = ?3 AND number = ?4 AND state = 'running'"),
            &[
                Value::Text(reason.into()),
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
