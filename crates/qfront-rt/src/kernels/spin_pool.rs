//! A fixed pool of worker threads that spin briefly between jobs, for the runtime's split
//! GEMMs and batch parts.
//!
//! Why not rayon's pool: `ThreadPool::install` hands the whole job to the pool and puts the
//! calling thread to sleep, and rayon's idle workers go to sleep within microseconds. On a
//! virtual machine each wake-up of a sleeping vCPU is an inter-processor interrupt through
//! the hypervisor, 20–50 µs; a 2-thread GEMM of 256×1024×1024 (0.6 ms per half) paid about
//! 0.1 ms per call in wake-ups, 15% of its time. Here the caller runs task 0 itself, the
//! workers keep polling for [`SPIN`] after a job before they park (as ONNX Runtime's and
//! OpenMP's pools do), and the caller polls for their completion. No crate offers this
//! small a pool with a spin window (written here: under 300 lines with its notes, tests aside).
//!
//! Protocol: one atomic word holds `(job counter << 16) | tasks`. The caller writes the job
//! (a lifetime-erased pointer to its closure), the remaining-task count and a cleared claim
//! flag per worker task, then bumps the word; worker `i` (1-based; task 0 is the caller's)
//! that sees a new word claims task `i` if `i < tasks`, runs it and decrements the count.
//! After its own task the caller claims and runs every task no worker has started (as
//! rayon's `join` runs the half nobody stole), so a worker whose vCPU is away delays
//! nothing. The caller returns only when the count is zero, so the closure outlives every
//! use. A worker that wakes late claims only flags of the job in flight, whose pointer was
//! written before those flags were cleared.

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker keeps polling for the next job before it parks, when the pool has
/// no more threads than the machine has cores (with more, spinning threads would take the
/// cores from the ones with work, so workers park at once).
pub const SPIN: Duration = Duration::from_millis(2);

/// Polls between two `yield_now` calls of a waiting thread, so a thread with work that shares
/// its core gets it back soon.
const POLLS_PER_YIELD: u32 = 256;

/// Most threads a pool may have (the sessions' limit; the job word has 16 bits for the task count).
pub const MAX_THREADS: usize = 256;

thread_local! {
    /// Set on a pool's workers, and on a caller while it runs task 0.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is running a pool task (so a GEMM it calls must not split again).
pub fn in_pool_task() -> bool {
    IN_TASK.with(Cell::get)
}

type Job = *const (dyn Fn(usize) + Sync + 'static);

struct Shared {
    /// `(job counter << 16) | tasks`.
    word: AtomicU64,
    /// The current job; written only while no worker runs one.
    job: UnsafeCell<Option<Job>>,
    /// Worker tasks of the current job not yet finished.
    remaining: AtomicUsize,
    /// Per task index: taken by a thread (the worker of that index, or the caller when the
    /// worker has not started it). `true` when there is nothing to take.
    claimed: Vec<AtomicBool>,
    /// A worker's task panicked.
    panicked: AtomicBool,
    /// Per worker: parked (or about to park).
    parked: Vec<AtomicBool>,
    /// How long idle workers poll before parking ([`SPIN`], or zero when oversubscribed).
    spin: Duration,
    shutdown: AtomicBool,
}

impl Shared {
    /// Publishes the next job word, announcing `tasks` tasks (0: none, to wake the workers).
    fn publish(&self, tasks: usize) {
        let counter = (self.word.load(Ordering::Relaxed) >> 16) + 1;
        self.word
            .store((counter << 16) | tasks as u64, Ordering::SeqCst);
    }

    /// Runs task `index` of `job`, which this thread has claimed: a panic is recorded for
    /// the caller, and the task is counted as done either way.
    fn run_claimed(&self, job: &(dyn Fn(usize) + Sync), index: usize) {
        if catch_unwind(AssertUnwindSafe(|| job(index))).is_err() {
            self.panicked.store(true, Ordering::Relaxed);
        }
        self.remaining.fetch_sub(1, Ordering::Release);
    }
}

// SAFETY: `job` is written by the caller only before it publishes a new word and while every
// worker of the previous job has finished (the `remaining` count is zero), and read by
// workers only after they see that word (acquire), so reads and writes never overlap.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// A pool of `threads − 1` workers plus the calling thread.
pub struct SpinPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Serializes callers (a pool runs one job at a time).
    calls: Mutex<()>,
}

impl std::fmt::Debug for SpinPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpinPool")
            .field("threads", &self.threads())
            .finish()
    }
}

impl SpinPool {
    /// A pool running jobs on `threads` threads (2..=[`MAX_THREADS`]): the caller and
    /// `threads − 1` workers started now, once.
    pub fn new(threads: usize) -> Result<Self, String> {
        if !(2..=MAX_THREADS).contains(&threads) {
            return Err(format!(
                "a thread pool needs 2 to {MAX_THREADS} threads, not {threads}"
            ));
        }
        let shared = Arc::new(Shared {
            word: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            remaining: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            claimed: (0..threads).map(|_| AtomicBool::new(true)).collect(),
            parked: (1..threads).map(|_| AtomicBool::new(false)).collect(),
            spin: match std::thread::available_parallelism() {
                Ok(cores) if threads <= cores.get() => SPIN,
                _ => Duration::ZERO,
            },
            shutdown: AtomicBool::new(false),
        });
        let mut workers = Vec::with_capacity(threads - 1);
        for index in 1..threads {
            let for_worker = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("qfront-rt-{index}"))
                .spawn(move || worker(&for_worker, index));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    let pool = Self {
                        shared,
                        workers,
                        calls: Mutex::new(()),
                    };
                    drop(pool); // stops the workers already started
                    return Err(format!("cannot start {threads} threads: {e}"));
                }
            }
        }
        Ok(Self {
            shared,
            workers,
            calls: Mutex::new(()),
        })
    }

    /// Threads a job can use (the caller included).
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `task(i)` for `i` in `0..tasks` (at most [`SpinPool::threads`]), task 0 on the
    /// calling thread and task `i` on worker `i`, and returns when all have finished. A
    /// panic in any task is resumed here.
    pub fn run(&self, tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        assert!(
            tasks <= self.threads(),
            "{tasks} tasks for {} threads",
            self.threads()
        );
        if tasks <= 1 {
            if tasks == 1 {
                task(0);
            }
            return;
        }
        let _one_job = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let shared = &*self.shared;
        // SAFETY: the pointer is only used until `remaining` reaches zero below, while
        // `task` is borrowed; no worker runs a job now (the previous call waited for all).
        unsafe {
            let erased: Job = std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), Job>(
                task as *const (dyn Fn(usize) + Sync),
            );
            *shared.job.get() = Some(erased);
        }
        shared.remaining.store(tasks - 1, Ordering::Relaxed);
        for flag in &shared.claimed[1..tasks] {
            flag.store(false, Ordering::Release);
        }
        shared.publish(tasks);
        for (index, handle) in self.workers.iter().enumerate().take(tasks - 1) {
            if shared.parked[index].load(Ordering::SeqCst) {
                handle.thread().unpark();
            }
        }
        let before = IN_TASK.with(|flag| flag.replace(true));
        let own = catch_unwind(AssertUnwindSafe(|| task(0)));
        // Tasks whose worker has not started them yet (its vCPU may be busy or descheduled)
        // run here: a late worker then costs no more than running them on one thread.
        for (index, flag) in shared.claimed.iter().enumerate().take(tasks).skip(1) {
            if !flag.swap(true, Ordering::AcqRel) {
                shared.run_claimed(task, index);
            }
        }
        IN_TASK.with(|flag| flag.set(before));
        let mut polls = 0u32;
        while shared.remaining.load(Ordering::Acquire) != 0 {
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(POLLS_PER_YIELD) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        // SAFETY: every worker task of this job has finished.
        unsafe { *shared.job.get() = None };
        if let Err(payload) = own {
            resume_unwind(payload);
        }
        if shared.panicked.swap(false, Ordering::Relaxed) {
            panic!("a qfront-rt worker thread panicked");
        }
    }

    /// Runs `each(i, &mut items[i])` for every item (at most [`SpinPool::threads`]), one per
    /// thread.
    pub fn for_each_mut<T: Send>(&self, items: &mut [T], each: impl Fn(usize, &mut T) + Sync) {
        struct Items<T>(*mut T);
        // SAFETY: each task touches only its own item (below).
        unsafe impl<T: Send> Sync for Items<T> {}
        let base = Items(items.as_mut_ptr());
        let base = &base;
        self.run(items.len(), &|i| {
            // SAFETY: `i < items.len()`, and task `i` runs exactly once, so each item is
            // borrowed mutably by one thread at a time, within the `items` borrow.
            let item = unsafe { &mut *base.0.add(i) };
            each(i, item)
        });
    }
}

impl Drop for SpinPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // A new word with no tasks wakes every worker to see the shutdown.
        self.shared.publish(0);
        for handle in &self.workers {
            handle.thread().unpark();
        }
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Worker `index`'s loop: poll for a new job word, park after [`SPIN`] without one.
fn worker(shared: &Shared, index: usize) {
    IN_TASK.with(|flag| flag.set(true));
    // The word a pool starts with (a job published before this thread ran is still new).
    let mut seen = 0;
    loop {
        let mut idle_since = Instant::now();
        let mut polls = 0u32;
        let word = loop {
            let word = shared.word.load(Ordering::Acquire);
            if word != seen {
                break word;
            }
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(POLLS_PER_YIELD) {
                std::hint::spin_loop();
                continue;
            }
            std::thread::yield_now();
            if idle_since.elapsed() >= shared.spin {
                shared.parked[index - 1].store(true, Ordering::SeqCst);
                if shared.word.load(Ordering::SeqCst) == seen {
                    std::thread::park();
                }
                shared.parked[index - 1].store(false, Ordering::SeqCst);
                idle_since = Instant::now();
            }
        };
        seen = word;
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let tasks = (word & 0xFFFF) as usize;
        if index < tasks && !shared.claimed[index].swap(true, Ordering::AcqRel) {
            // SAFETY: the caller wrote the job before publishing `word` and keeps it alive
            // until this task decrements `remaining`.
            let job = unsafe { &*(*shared.job.get()).expect("a job comes with its word") };
            shared.run_claimed(job, index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_once_per_call() {
        let pool = SpinPool::new(3).unwrap();
        let counts: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        for call in 0..2000 {
            let tasks = 1 + call % 3;
            pool.run(tasks, &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        // Tasks 0, 1, 2 run in 2000, 1333 and 667 of the calls.
        let got: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(got, vec![2000, 1333, 666]);
    }

    #[test]
    fn items_are_written_by_their_tasks_and_parked_workers_wake() {
        let pool = SpinPool::new(2).unwrap();
        let mut items = vec![0usize; 2];
        pool.for_each_mut(&mut items, |i, v| *v = 10 + i);
        assert_eq!(items, vec![10, 11]);
        // Past the spin window the worker parks; the next job must still run.
        std::thread::sleep(SPIN * 3);
        pool.for_each_mut(&mut items, |i, v| *v += i);
        assert_eq!(items, vec![10, 12]);
    }

    #[test]
    fn a_worker_panic_reaches_the_caller_and_the_pool_still_works() {
        let pool = SpinPool::new(2).unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.run(2, &|i| {
                if i == 1 {
                    panic!("task 1 fails");
                }
            })
        }));
        assert!(result.is_err());
        let done = AtomicUsize::new(0);
        pool.run(2, &|_| {
            done.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(done.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn thread_counts_outside_the_range_are_refused() {
        assert!(SpinPool::new(1).is_err());
        assert!(SpinPool::new(MAX_THREADS + 1).is_err());
    }
}
