//! The worker loop. Each step takes the study's lock, re-queues trials whose worker was lost,
//! and takes the next trial: a waiting one, or a freshly asked one while the budget lasts.
//! The trial then trains without the lock while a heartbeat thread stamps it, and its outcome
//! is told under the lock. Any number of workers (processes, machines) can run one study this
//! way; a worker that finds every trial asked waits for the others' running trials, so the
//! study finishes as long as one worker is alive.

use super::{optimizer_values, params_json, settings_of, trial_seed, Observer};
use crate::config::Study;
use crate::pipeline::{Metrics, TrialRunner};
use crate::store::{
    is_dead_local_worker, worker_id, Heartbeat, Locked, Store, StoredTrial, TrialRowState,
};
use crate::{Result, StudyError};
use qfront_bo::space::ParamValue;
use std::collections::BTreeMap;
use std::time::Duration;

/// How a worker keeps in touch with the others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerOptions {
    /// How often a running trial's heartbeat is stamped.
    pub heartbeat: Duration,
    /// A running trial whose heartbeat is older than this is failed and re-queued (a trial
    /// of a process on this host that has exited is re-queued at once).
    pub stale_after: Duration,
    /// How often a worker with nothing to take looks again.
    pub poll: Duration,
}

impl Default for WorkerOptions {
    /// Heartbeat every 10 s, stale after 60 s, poll every 2 s.
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
            poll: Duration::from_secs(2),
        }
    }
}

/// A trial this worker has taken.
struct Job {
    number: usize,
    params: BTreeMap<String, serde_json::Value>,
    values: Vec<ParamValue>,
    seed: u64,
}

enum Next {
    Run(Job),
    Wait(usize),
    Done,
}

/// A trial re-queued: `(number, retry, reason)`.
pub(crate) type Requeued = (usize, usize, String);

/// Fails and re-queues the running trials whose worker is gone (see [`WorkerOptions`]).
/// Trials asked by `qfront study ask` carry no heartbeat and are left to their trainer.
pub(crate) fn requeue_stale(
    locked: &mut Locked<'_>,
    trials: &[StoredTrial],
    stale_after: Duration,
) -> Result<Vec<Requeued>> {
    // The database's clock: the heartbeats were stamped with it, whatever this machine's
    // clock says.
    let now = locked.clock()?;
    let mut requeued = Vec::new();
    for trial in trials.iter().filter(|t| t.state == TrialRowState::Running) {
        let (Some(worker), Some(heartbeat)) = (&trial.worker, trial.heartbeat) else {
            continue;
        };
        let reason = if is_dead_local_worker(worker) {
            format!("worker {worker} exited while running it; re-queued")
        } else if now - heartbeat > stale_after.as_secs_f64() {
            format!(
                "worker {worker} lost: no heartbeat for {:.0} s; re-queued",
                now - heartbeat
            )
        } else {
            continue;
        };
        let retry = locked.requeue(trial, &reason)?;
        requeued.push((trial.number, retry, reason));
    }
    Ok(requeued)
}

/// Hands back the trials this process is running in study `study_id` at `location` (as on
/// Ctrl-C): each is failed as interrupted and re-queued at once, so other workers need not
/// wait out the grace period. Opens a connection of its own.
pub fn release_running_trials(
    location: &crate::store::StorageLocation,
    study_id: i64,
) -> Result<Vec<Requeued>> {
    let worker = worker_id();
    let mut store = Store::open(location)?;
    store.select_study_id(study_id);
    store.locked(|l| {
        let mut released = Vec::new();
        for trial in l.open_trials()? {
            if trial.state != TrialRowState::Running
                || trial.worker.as_deref() != Some(worker.as_str())
            {
                continue;
            }
            let reason = format!("worker {worker} was interrupted; re-queued");
            let retry = l.requeue(&trial, &reason)?;
            released.push((trial.number, retry, reason));
        }
        Ok(released)
    })
}

fn job(locked: &Locked<'_>, trial: &StoredTrial) -> Result<Job> {
    let values = locked
        .optimizer
        .trials()
        .get(trial.number)
        .map(|t| t.params.clone())
        .ok_or_else(|| {
            StudyError::config(
                "store",
                format!("trial {} is unknown to the stored optimizer", trial.number),
            )
        })?;
    Ok(Job {
        number: trial.number,
        params: trial.params.clone(),
        values,
        seed: trial.seed,
    })
}

fn next(
    study: &Study,
    locked: &mut Locked<'_>,
    worker: &str,
    options: &WorkerOptions,
) -> Result<(Next, Vec<Requeued>)> {
    let mut trials = locked.open_trials()?;
    let requeued = requeue_stale(locked, &trials, options.stale_after)?;
    if !requeued.is_empty() {
        trials = locked.open_trials()?;
    }
    if let Some(waiting) = trials.iter().find(|t| t.state == TrialRowState::Waiting) {
        locked.claim(waiting.number, worker, true)?;
        return Ok((Next::Run(job(locked, waiting)?), requeued));
    }
    // Re-queued trials do not count: their retries do.
    let counted = locked.counted_trials()?;
    let budget = study.config.budget;
    if counted < budget {
        let asked = locked.ask(
            study.config.batch_size.min(budget - counted),
            |trial| trial_seed(study, trial.id),
            // The asking worker takes the first; the rest wait for others.
            |i| (i == 0).then_some(worker),
            true,
        )?;
        let first = &asked[0];
        return Ok((
            Next::Run(Job {
                number: first.id,
                params: params_json(study, &first.params),
                values: first.params.clone(),
                seed: trial_seed(study, first.id),
            }),
            requeued,
        ));
    }
    let running = trials
        .iter()
        .filter(|t| t.state == TrialRowState::Running && t.heartbeat.is_some())
        .count();
    Ok((
        if running > 0 {
            Next::Wait(running)
        } else {
            Next::Done
        },
        requeued,
    ))
}

/// A measurement that is not a finite number (a device command printing NaN, say) fails
/// the trial rather than the study.
fn check_finite(study: &Study, number: usize, metrics: Metrics) -> Result<Metrics> {
    if let Some((name, v)) = metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(StudyError::config(
            "metrics",
            format!("trial {number}: measured {name} = {v} is not finite"),
        ));
    }
    optimizer_values(study, &metrics)?;
    Ok(metrics)
}

/// Trials finished for the budget by every worker (re-queued ones not counted).
pub fn finished_count(trials: &[StoredTrial]) -> usize {
    trials
        .iter()
        .filter(|t| t.state.is_finished() && t.retried_as.is_none())
        .count()
}

/// Runs trials as one worker until every trial of the budget is finished (by this worker
/// or others); returns every stored trial.
pub fn run_study(
    study: &Study,
    store: &mut Store,
    runner: &TrialRunner,
    observer: &mut dyn Observer,
    options: &WorkerOptions,
) -> Result<Vec<StoredTrial>> {
    let worker = worker_id();
    let mut was_waiting = false;
    loop {
        let (next, requeued) = store.locked(|l| next(study, l, &worker, options))?;
        for (number, retry, reason) in &requeued {
            observer.trial_requeued(*number, *retry, reason);
        }
        match next {
            Next::Run(job) => {
                was_waiting = false;
                run_one(study, store, runner, observer, &worker, options, job)?;
            }
            Next::Wait(running) => {
                if !was_waiting {
                    observer.waiting(running);
                    was_waiting = true;
                }
                std::thread::sleep(options.poll);
            }
            Next::Done => break,
        }
    }
    store.trials()
}

fn run_one(
    study: &Study,
    store: &mut Store,
    runner: &TrialRunner,
    observer: &mut dyn Observer,
    worker: &str,
    options: &WorkerOptions,
    job: Job,
) -> Result<()> {
    let heartbeat = Heartbeat::start(
        store.location().clone(),
        store.study_id()?,
        job.number,
        worker.to_string(),
        options.heartbeat,
    );
    observer.trial_started(job.number, &job.params);
    let result = runner
        .run(
            job.number,
            &settings_of(study, &job.values),
            job.seed,
            |done, total| observer.step(done, total),
        )
        .and_then(|metrics| check_finite(study, job.number, metrics));
    let number = job.number;
    let stored = store_outcome(study, store, worker, number, &result)?;
    drop(heartbeat);
    if !stored {
        observer.result_discarded(number);
        return Ok(());
    }
    let trials = store.trials()?;
    match &result {
        Ok(metrics) => {
            let on_front = super::pareto_trials(study, &trials)
                .iter()
                .any(|t| t.number == number);
            observer.trial_finished(number, Ok(metrics), on_front);
        }
        Err(e) => observer.trial_finished(number, Err(&e.to_string()), false),
    }
    observer.study_progress(finished_count(&trials));
    Ok(())
}

/// Stores the outcome of trial `number` and tells the optimizer, if the trial is still this
/// worker's: while it trained, its heartbeat may have gone stale and another worker re-queued
/// it. Returns whether it was stored.
fn store_outcome(
    study: &Study,
    store: &mut Store,
    worker: &str,
    number: usize,
    result: &Result<Metrics>,
) -> Result<bool> {
    store.locked(|l| {
        let mine = l.trial(number)?.is_some_and(|t| {
            t.state == TrialRowState::Running && t.worker.as_deref() == Some(worker)
        });
        if !mine {
            return Ok(false);
        }
        match result {
            Ok(metrics) => l.tell(number, Ok((metrics, optimizer_values(study, metrics)?)))?,
            Err(e) => l.tell(number, Err(&e.to_string()))?,
        }
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StorageLocation;
    use qfront_bo::space::{Parameter, SearchSpace};
    use qfront_bo::{Method, Optimizer, OptimizerConfig, TrialState};

    fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(crate::store::tests::unique("qfront-requeue"));
        let mut store = Store::open(&StorageLocation::in_dir(&dir)).unwrap();
        let space = SearchSpace::new(vec![Parameter::float("learning_rate", 0.001, 0.1)]).unwrap();
        let optimizer = Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 0)).unwrap();
        store.create_study("s", "", &optimizer).unwrap();
        (store, dir)
    }

    #[test]
    fn a_remote_worker_silent_past_the_grace_period_loses_its_trial() {
        let (mut store, dir) = store();
        store
            .locked(|l| {
                let asked = l.optimizer.ask(2)?;
                // A worker on another machine (heartbeats), and an outside trainer (none).
                l.insert_trial(asked[0].id, 11, Some("far-away:4242:0"), true)?;
                l.insert_trial(asked[1].id, 12, Some("external"), false)
            })
            .unwrap();
        let requeue = |store: &mut Store, grace: Duration| {
            store
                .locked(|l| {
                    let trials = l.trials()?;
                    requeue_stale(l, &trials, grace)
                })
                .unwrap()
        };
        assert!(
            requeue(&mut store, Duration::from_secs(3600)).is_empty(),
            "still within grace"
        );
        std::thread::sleep(Duration::from_millis(30));
        let requeued = requeue(&mut store, Duration::from_millis(10));
        assert_eq!(
            requeued.len(),
            1,
            "only the silent worker's trial: {requeued:?}"
        );
        let (number, retry, reason) = &requeued[0];
        assert_eq!((*number, *retry), (0, 2));
        assert!(
            reason.contains("far-away:4242:0 lost: no heartbeat"),
            "{reason}"
        );
        let trials = store.trials().unwrap();
        assert_eq!(
            (trials[0].state.as_str(), trials[0].retried_as),
            ("failed", Some(2))
        );
        assert_eq!(
            trials[1].state, "running",
            "outside trainers are not timed out"
        );
        assert_eq!(
            (trials[2].state.as_str(), trials[2].seed, &trials[2].params),
            ("waiting", 11, &trials[0].params)
        );
        let optimizer = store.optimizer().unwrap();
        assert!(matches!(
            optimizer.trials()[0].state,
            TrialState::Failed { .. }
        ));
        assert_eq!(optimizer.trials()[2].state, TrialState::Pending);
        assert_eq!(optimizer.trials()[2].x, optimizer.trials()[0].x);
        std::fs::remove_dir_all(dir).ok();
    }

    /// Workers whose clocks are 5 minutes apart: one stamps a trial while its clock is 5
    /// minutes behind, the other judges it while 5 minutes ahead (a 10-minute gap against a
    /// 60 s grace period), and the other way round. Stamps and comparisons are on the
    /// database's clock, so the live trial stays; a heartbeat really 2 minutes old on that
    /// clock is still found.
    fn skewed_clocks_do_not_fail_live_trials(location: &StorageLocation) {
        let mut store = Store::open(location).unwrap();
        let name = crate::store::tests::unique("skew");
        let space = SearchSpace::new(vec![Parameter::float("learning_rate", 0.001, 0.1)]).unwrap();
        let optimizer = Optimizer::new(OptimizerConfig::new(space, 1, Method::Sobol, 0)).unwrap();
        store.create_study(&name, "", &optimizer).unwrap();
        let grace = Duration::from_secs(60);
        let skew = |seconds: f64| crate::store::tests::CLOCK_SKEW.with(|s| s.set(seconds));
        let requeue = |store: &mut Store| {
            store
                .locked(|l| {
                    let trials = l.trials()?;
                    requeue_stale(l, &trials, grace)
                })
                .unwrap()
        };
        for (stamped, judged) in [(-300.0, 300.0), (300.0, -300.0)] {
            skew(stamped);
            let number = store
                .locked(|l| {
                    let t = l.optimizer.ask(1)?.remove(0);
                    l.insert_trial(t.id, 0, Some("other-host@0:1:0"), true)?;
                    Ok(t.id)
                })
                .unwrap();
            skew(judged);
            assert!(
                requeue(&mut store).is_empty(),
                "stamped at {stamped:+} s, judged at {judged:+} s"
            );
            let trial = store
                .trials()
                .unwrap()
                .into_iter()
                .find(|t| t.number == number);
            assert_eq!(trial.unwrap().state, "running");
        }
        skew(0.0);
        // Age one heartbeat by 2 minutes on the database's own clock.
        store
            .locked(|l| {
                let clock = l.clock()?;
                l.set_heartbeat_for_tests(0, clock - 120.0)
            })
            .unwrap();
        let requeued = requeue(&mut store);
        assert_eq!(requeued.len(), 1, "{requeued:?}");
        assert!(
            requeued[0].2.contains("no heartbeat for 120 s"),
            "{:?}",
            requeued[0]
        );
    }

    #[test]
    fn skewed_clocks_do_not_fail_live_trials_on_sqlite() {
        let dir = std::env::temp_dir().join(crate::store::tests::unique("qfront-skew"));
        skewed_clocks_do_not_fail_live_trials(&StorageLocation::in_dir(&dir));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn skewed_clocks_do_not_fail_live_trials_on_postgres() {
        if let Some(location) = crate::store::tests::postgres() {
            skewed_clocks_do_not_fail_live_trials(&location);
        }
    }

    #[test]
    fn a_heartbeat_keeps_a_trial_fresh_until_dropped() {
        let (mut store, dir) = store();
        let worker = worker_id();
        store
            .locked(|l| {
                let t = l.optimizer.ask(1)?.remove(0);
                l.insert_trial(t.id, 0, Some(&worker), true)
            })
            .unwrap();
        let first = store.trials().unwrap()[0].heartbeat.unwrap();
        let beat = Heartbeat::start(
            store.location().clone(),
            store.study_id().unwrap(),
            0,
            worker.clone(),
            Duration::from_millis(20),
        );
        std::thread::sleep(Duration::from_millis(200));
        drop(beat);
        let later = store.trials().unwrap()[0].heartbeat.unwrap();
        assert!(
            later > first + 0.1,
            "stamped while running: {first} -> {later}"
        );
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            store.trials().unwrap()[0].heartbeat.unwrap(),
            later,
            "stopped when dropped"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_result_for_a_trial_re_queued_meanwhile_is_not_stored() {
        let study = crate::presets::preset("digits-cnn")
            .unwrap()
            .validate()
            .unwrap();
        let dir = std::env::temp_dir().join(crate::store::tests::unique("qfront-discard"));
        let mut store = Store::open(&StorageLocation::in_dir(&dir)).unwrap();
        let optimizer = Optimizer::new(study.optimizer.clone()).unwrap();
        store.create_study("s", "", &optimizer).unwrap();
        let me = "slow-host:1:0";
        store
            .locked(|l| {
                for t in l.optimizer.ask(2)? {
                    l.insert_trial(t.id, 0, Some(me), true)?;
                }
                Ok(())
            })
            .unwrap();
        let metrics: Metrics = [("accuracy", 0.9), ("latency_ms", 0.01), ("size_kb", 4.0)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        // Trial 0 finishes in time and is stored.
        assert!(store_outcome(&study, &mut store, me, 0, &Ok(metrics.clone())).unwrap());
        // Trial 1 goes silent past the grace period; another worker re-queues it as trial 2.
        std::thread::sleep(Duration::from_millis(30));
        store
            .locked(|l| {
                let trials = l.trials()?;
                requeue_stale(l, &trials, Duration::from_millis(10))
            })
            .unwrap();
        let before = store.optimizer().unwrap();
        assert!(!store_outcome(&study, &mut store, me, 1, &Ok(metrics)).unwrap());
        assert_eq!(
            store.optimizer().unwrap(),
            before,
            "the optimizer was not told"
        );
        let trials = store.trials().unwrap();
        let states: Vec<&str> = trials.iter().map(|t| t.state.as_str()).collect();
        assert_eq!(states, ["complete", "failed", "waiting"]);
        assert!(trials[1].metrics.is_empty());
        std::fs::remove_dir_all(dir).ok();
    }
}
