//! The optimizer kept as rows: its small head (config, Sobol position, last timings) in the
//! study's row, and each of its trials (point, parameter values, state) in that trial's own
//! row, so an ask or a tell writes the head and the few trials it changed, not the whole
//! history (schema version 3).
//!
//! Every write under the study's lock bumps the study's `revision` and stamps the trial rows
//! it changed with it. A process keeps the optimizer it last saw ([`CachedOptimizer`]); at the
//! next lock it reads only the rows stamped after that revision (an index on
//! `(study, revision)`), so the cost of an ask or a tell does not grow with the number of
//! trials. A process without a cache (a new one, or after a failed write) reads every row
//! once.

use super::sql::{Tx, Value};
use qfront_bo::{Optimizer, Trial, TrialState};

/// The optimizer a process last saw of one study, and the revision it is current at.
#[derive(Debug)]
pub(super) struct CachedOptimizer {
    pub study: i64,
    pub revision: i64,
    pub optimizer: Optimizer,
}

/// The study's optimizer head and revision (`lock`: PostgreSQL locks the study's row).
pub(super) fn read_head(
    tx: &mut Tx<'_>,
    study: i64,
    lock: bool,
) -> Result<(Optimizer, i64), String> {
    let sql = if lock {
        "SELECT optimizer, revision FROM qfront_studies WHERE id = ?1 FOR UPDATE"
    } else {
        "SELECT optimizer, revision FROM qfront_studies WHERE id = ?1"
    };
    let rows = tx.query(sql, &[Value::Int(study)])?;
    let row = rows
        .first()
        .ok_or_else(|| "the study is gone from the store".to_string())?;
    let head: Optimizer = serde_json::from_str(row[0].text().unwrap_or_default())
        .map_err(|e| format!("stored optimizer state is unreadable: {e}"))?;
    Ok((head, row[1].int().unwrap_or(0)))
}

/// The optimizer trials stored in rows stamped after `after` (all of them for `-1`), by
/// number.
pub(super) fn read_trials(tx: &mut Tx<'_>, study: i64, after: i64) -> Result<Vec<Trial>, String> {
    tx.query(
        "SELECT number, optimizer_trial FROM qfront_trials WHERE study = ?1 AND revision > ?2 AND optimizer_trial IS NOT NULL ORDER BY number",
        &[Value::Int(study), Value::Int(after)],
    )?
    .iter()
    .map(|row| {
        serde_json::from_str::<Trial>(row[1].text().unwrap_or_default()).map_err(|e| {
            format!(
                "the optimizer's record of trial {} is unreadable: {e}",
                row[0].int().unwrap_or(-1)
            )
        })
    })
    .collect()
}

/// The study's whole optimizer, read without a cache (reports, `qfront study`).
pub(super) fn read_optimizer(tx: &mut Tx<'_>, study: i64) -> Result<Optimizer, String> {
    let (head, _) = read_head(tx, study, false)?;
    let trials = read_trials(tx, study, -1)?;
    head.with_trials(trials).map_err(|e| e.to_string())
}

/// A small code of a trial's state, to find the trials a locked change touched.
pub(super) fn state_tag(trial: &Trial) -> u8 {
    match trial.state {
        TrialState::Pending => 0,
        TrialState::Complete { .. } => 1,
        TrialState::Failed { .. } => 2,
    }
}

/// Writes `optimizer` back at revision `revision`: its head, and the trials numbered in
/// `changed`, each into its own row (which the same lock must have inserted).
pub(super) fn write_back(
    tx: &mut Tx<'_>,
    study: i64,
    revision: i64,
    optimizer: &Optimizer,
    changed: &[usize],
) -> Result<(), String> {
    let head = serde_json::to_string(&optimizer.without_trials()).map_err(|e| e.to_string())?;
    tx.execute(
        "UPDATE qfront_studies SET optimizer = ?1, revision = ?2 WHERE id = ?3",
        &[Value::Text(head), Value::Int(revision), Value::Int(study)],
    )?;
    for &number in changed {
        let trial = &optimizer.trials()[number];
        let text = serde_json::to_string(trial).map_err(|e| e.to_string())?;
        let updated = tx.execute(
            "UPDATE qfront_trials SET optimizer_trial = ?1, revision = ?2 WHERE study = ?3 AND number = ?4",
            &[
                Value::Text(text),
                Value::Int(revision),
                Value::Int(study),
                Value::Int(number as i64),
            ],
        )?;
        if updated != 1 {
            return Err(format!(
                "internal: the optimizer holds trial {number} but the study has no row for it (insert the trial in the same lock that asks it)"
            ));
        }
    }
    Ok(())
}

/// Moves every study of a schema-2 store to rows: each trial of its stored optimizer goes
/// into its row (a trial the optimizer knew without a row, which no qfront wrote, gets a
/// failed row saying so), and the study keeps only the head. Run under the write lock, after
/// the columns exist.
pub(super) fn migrate_studies(tx: &mut Tx<'_>) -> Result<(), String> {
    let studies = tx.query("SELECT id, optimizer FROM qfront_studies", &[])?;
    for row in studies {
        let study = row[0].int().unwrap_or(-1);
        let optimizer: Optimizer = serde_json::from_str(row[1].text().unwrap_or_default())
            .map_err(|e| format!("study {study}: stored optimizer state is unreadable: {e}"))?;
        let changed: Vec<usize> = (0..optimizer.trials().len()).collect();
        for &number in &changed {
            let exists = tx.query(
                "SELECT number FROM qfront_trials WHERE study = ?1 AND number = ?2",
                &[Value::Int(study), Value::Int(number as i64)],
            )?;
            if exists.is_empty() {
                tx.execute(
                    "INSERT INTO qfront_trials (study, number, params, state, seed, error) VALUES (?1, ?2, '{}', 'failed', 0, 'known to the optimizer only (kept when the store moved to schema 3)')",
                    &[Value::Int(study), Value::Int(number as i64)],
                )?;
            }
        }
        write_back(tx, study, 1, &optimizer, &changed)?;
    }
    Ok(())
}
