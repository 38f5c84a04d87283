//! A study held under its lock: the optimizer as stored and the trial rows, changed together
//! and committed when the lock is released (see [`Store::locked`](super::Store::locked)).
//!
//! A trial's life is changed here and only here, the optimizer and the row in one step:
//! [`Locked::ask`] (asked and stored, waiting or taken), [`Locked::claim`] (taken),
//! [`Locked::tell`] (complete or failed) and [`Locked::requeue`] (its worker was lost: failed,
//! and asked again with the same parameters and seed).

use super::sql::{Tx, Value};
use super::{trial_from_row, StoredTrial, TRIAL_COLUMNS};
use crate::{Result, StudyError};
use qfront_bo::{Optimizer, Trial};
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

    /// Records optimizer trial `number` as a row: `waiting` when `worker` is `None`, else
    /// `running` for `worker` (with a heartbeat stamp when `heartbeat`). The row's `params`
    /// (by name, for people and outside trainers) are written from the optimizer's record of
    /// the trial, so a trial's parameters have one source.
    pub fn insert_trial(
        &mut self,
        number: usize,
        seed: u64,
        worker: Option<&str>,
        heartbeat: bool,
    ) -> Result<()> {
        let params = self.named_params(number)?;
        let p = serde_json::to_string(&params).map_err(|e| self.fail(e.to_string()))?;
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

    /// The parameter values of optimizer trial `number`, by the search space's names.
    pub fn named_params(&self, number: usize) -> Result<BTreeMap<String, serde_json::Value>> {
        let trial = self.optimizer.trials().get(number).ok_or_else(|| {
            self.fail(format!(
                "internal: trial {number} is not the optimizer's; ask it first"
            ))
        })?;
        self.optimizer
            .config()
            .space
            .parameters()
            .iter()
            .zip(&trial.params)
            .map(|(p, v)| {
                serde_json::to_value(v)
                    .map(|v| (p.name.clone(), v))
                    .map_err(|e| self.fail(e.to_string()))
            })
            .collect()
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

    /// Asks `n` trials of the optimizer and stores each: trial `i` is taken by `owner(i)`
    /// (running, with a heartbeat stamp when `heartbeat`) or left waiting (`None`); `seed`
    /// gives the seed its row keeps. When the optimizer's model fails, the trials are
    /// Sobol points instead, a warning is logged and each row's note says so: one bad fit never
    /// stops a study, and the next ask fits again (`Optimizer::ask_or_sobol`).
    pub fn ask<'w>(
        &mut self,
        n: usize,
        seed: impl Fn(&Trial) -> u64,
        owner: impl Fn(usize) -> Option<&'w str>,
        heartbeat: bool,
    ) -> Result<Vec<Trial>> {
        let (trials, error) = self.optimizer.ask_or_sobol(n);
        let note = error.map(|error| {
            let numbers: Vec<usize> = trials.iter().map(|t| t.id).collect();
            tracing::warn!(
                %error,
                trials = ?numbers,
                "the optimizer's model failed; these trials are Sobol points instead (the next ask fits again)"
            );
            format!("Sobol point: the optimizer's model failed ({error})")
        });
        for (i, trial) in trials.iter().enumerate() {
            self.insert_trial(trial.id, seed(trial), owner(i), heartbeat)?;
            if let Some(note) = &note {
                self.set_note(trial.id, note)?;
            }
        }
        Ok(trials)
    }

    /// Tells the outcome of running trial `number`: on success the optimizer gets `values`
    /// (objectives, then constraint slacks) and the row the metrics; on failure both get the
    /// reason.
    pub fn tell(
        &mut self,
        number: usize,
        outcome: std::result::Result<(&BTreeMap<String, f64>, Vec<f64>), &str>,
    ) -> Result<()> {
        match outcome {
            Ok((metrics, values)) => {
                self.optimizer.tell(number, Ok(values))?;
                self.finish(number, Ok(metrics))
            }
            Err(reason) => {
                self.optimizer.tell(number, Err(reason.to_string()))?;
                self.finish(number, Err(reason))
            }
        }
    }

    /// Re-queues running trial `trial`, whose worker was lost (`reason` says how): failed in
    /// the optimizer and in its row, and asked again as a new waiting trial with the same
    /// parameters and seed. Returns the new trial's number.
    pub fn requeue(&mut self, trial: &StoredTrial, reason: &str) -> Result<usize> {
        let retry = self.optimizer.retry(trial.number, reason.to_string())?;
        self.mark_retried(trial.number, reason, retry.id)?;
        self.insert_trial(retry.id, trial.seed, None, false)?;
        Ok(retry.id)
    }

    /// Stores the outcome of running trial `number` (metrics, or an error) in its row only
    /// (see [`Locked::tell`]).
    pub(super) fn finish(
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

    /// Fails running trial `number`'s row (its worker was lost, `reason` says how) and records
    /// that trial `retry` re-runs it (see [`Locked::requeue`]).
    pub(super) fn mark_retried(&mut self, number: usize, reason: &str, retry: usize) -> Result<()> {
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
