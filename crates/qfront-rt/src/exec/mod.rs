//! The integer-only executor: a [`Session`] prepares a validated `.qfm` model for one kernel
//! set and runs batches through it, reusing its buffers between calls. With several threads
//! a batch runs by one of three [`ThreadPlan`]s: split into one part per thread, each run
//! whole (every layer, im2col and requantization included) in its own workspace on the
//! shared model; in one piece with only its large GEMMs split by rows; or on one thread.
//! The session times the plans that apply on the first runs of each batch size and keeps
//! the fastest, timing them again after 32 runs and every 1,024 (the results are identical
//! whichever runs).

mod model;
mod workspace;

use crate::format::{InputSpec, QfmFile};
use crate::kernels::{KernelSet, PARALLEL_MIN_MACS};
use crate::{Result, RtError};
use model::Model;
use std::sync::Arc;
use workspace::Workspace;

/// How a session with several threads runs a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadPlan {
    /// The batch split into this many parts (≥ 2), one per thread, each through the whole
    /// network.
    Parts(usize),
    /// One piece; GEMMs of at least [`PARALLEL_MIN_MACS`] multiply-adds split by rows.
    SplitGemms,
    /// Everything on the calling thread.
    OneThread,
}

/// Timed runs of each plan before a batch size's plan is chosen, after one untimed run that
/// warms its buffers the first time (a recalibration's buffers are warm, so its first run
/// counts: on a VM whose second vCPU comes and goes, that first run was sometimes the only
/// one that had both cores, and discarding it made a recalibration pick one thread, 1.3 ms
/// against 0.65 ms for two parts of a LeNet batch of 32, for the next 1,024 runs).
const CALIBRATION_RUNS: usize = 3;

/// Runs after which a batch size's plan is timed again: at every power of two from this one
/// to [`RECALIBRATE_EVERY`] (a choice made while the machine was busy, e.g. with another
/// program's spinning threads or a VM's second vCPU away, lasts at most as long as the runs
/// before it), then every [`RECALIBRATE_EVERY`] runs. Each recalibration runs every
/// applicable plan [`CALIBRATION_RUNS`] times (9 runs with three plans, 6 of them on plans
/// that may lose): 6 recalibrations up to the 1,024th run, one per 1,024 runs after.
const RECALIBRATE_FIRST: usize = 32;

/// See [`RECALIBRATE_FIRST`].
const RECALIBRATE_EVERY: usize = 1024;

/// How much faster than one thread a plan on several threads must time to be chosen
/// (its time × (1 + margin) is compared). A second thread brings a risk one thread does not:
/// on a VM the other vCPU may be busy (another program's spinning threads) when it matters,
/// and a call then waits for it. Where splitting gains little (LeNet at batch 1 and 2: 0.038
/// against 0.029–0.040 ms) it is not worth that risk; with the spinning pool such small
/// gains were chosen, and a run right after ONNX Runtime's session measured 0.053–0.066 ms.
const THREADED_PLAN_MARGIN: f64 = 0.1;

/// A model prepared for execution.
#[derive(Debug)]
pub struct Session {
    model: Arc<Model>,
    main: Workspace,
    /// One workspace per thread, for batches split over threads.
    workers: Vec<Workspace>,
    pool: Option<Arc<crate::kernels::spin_pool::SpinPool>>,
    /// The logits of a split batch, gathered in example order.
    gathered: Vec<f32>,
    threads: usize,
    profiling: bool,
    /// A plan forced by [`Session::set_thread_plan`].
    forced: Option<ThreadPlan>,
    /// The plan chosen for each batch size, and the runs since.
    chosen: std::collections::HashMap<usize, (ThreadPlan, usize)>,
    /// Milliseconds of the calibration runs, per batch size and plan.
    calibration: std::collections::HashMap<(usize, ThreadPlan), Vec<f64>>,
    /// Batch sizes being timed again, with their run counts.
    recalibrating: std::collections::HashMap<usize, usize>,
}

/// A checked batch of inputs.
#[derive(Debug, Clone, Copy)]
enum Batch<'a> {
    Images(&'a [f32]),
    Tokens(&'a [u32]),
}

impl Session {
    /// Prepares `file` for `kernels` (unpacks weights into the kernels' layouts).
    pub fn new(file: &QfmFile, kernels: KernelSet) -> Self {
        let model = Model::new(file, kernels, None);
        Self {
            main: Workspace::new(&model),
            model: Arc::new(model),
            workers: Vec::new(),
            pool: None,
            gathered: Vec::new(),
            threads: 1,
            profiling: false,
            forced: None,
            chosen: Default::default(),
            calibration: Default::default(),
            recalibrating: Default::default(),
        }
    }

    /// Like [`Session::new`], on `threads` threads (a pool made once here; 1 = everything on
    /// the caller's thread). A batch large enough to split (at least 2 examples per thread
    /// and [`PARALLEL_MIN_MACS`] multiply-adds in all) runs as one part per thread, each part
    /// through the whole network; otherwise the GEMMs of large layers are split by rows, and
    /// small products and batch-1 matrix–vector products stay on one thread. Results are
    /// identical for every thread count.
    pub fn with_threads(file: &QfmFile, kernels: KernelSet, threads: usize) -> Result<Self> {
        if threads == 0 || threads > crate::kernels::spin_pool::MAX_THREADS {
            return Err(RtError::Parameter {
                name: "threads",
                reason: format!(
                    "{threads}: give 1..={}",
                    crate::kernels::spin_pool::MAX_THREADS
                ),
            });
        }
        let pool = crate::kernels::thread_pool(threads).map_err(|reason| RtError::Parameter {
            name: "threads",
            reason,
        })?;
        let model = Model::new(file, kernels, pool.clone());
        let workers = if pool.is_some() {
            (0..threads).map(|_| Workspace::new(&model)).collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            main: Workspace::new(&model),
            model: Arc::new(model),
            workers,
            pool,
            gathered: Vec::new(),
            threads,
            profiling: false,
            forced: None,
            chosen: Default::default(),
            calibration: Default::default(),
            recalibrating: Default::default(),
        })
    }

    /// Bytes of weights the session holds: every weighted layer's kernel layouts
    /// ([`PreparedWeights::resident_bytes`](crate::kernels::PreparedWeights::resident_bytes))
    /// and the embedding tables.
    pub fn weight_bytes(&self) -> usize {
        self.model.weight_bytes()
    }

    /// Threads the session may use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Times every node of each run (for the latency look-up table); see
    /// [`Session::node_seconds`]. A profiled batch is never split over threads.
    pub fn set_profiling(&mut self, on: bool) {
        self.profiling = on;
    }

    /// Seconds each node took in the last run while profiling (node 0: input quantization).
    pub fn node_seconds(&self) -> &[f64] {
        &self.main.node_seconds
    }

    /// The kernel set in use.
    pub fn kernels(&self) -> KernelSet {
        self.model.kernels
    }

    /// Number of classes (logits per example).
    pub fn classes(&self) -> usize {
        self.model.classes
    }

    /// What the model consumes.
    pub fn input_spec(&self) -> &InputSpec {
        &self.model.input
    }

    /// Runs a batch of images given as floats in `[channels, height, width]` order per example
    /// (the training layout); returns logits `[batch, classes]`.
    pub fn run_images(&mut self, images: &[f32], batch: usize) -> Result<&[f32]> {
        let InputSpec::Image {
            height,
            width,
            channels,
            ..
        } = self.model.input
        else {
            return Err(RtError::input("this model reads token ids, not images"));
        };
        let per = height * width * channels;
        if images.len() != batch * per {
            return Err(RtError::input(format!(
                "expected {batch}×{channels}×{height}×{width} = {} values, got {}",
                batch * per,
                images.len()
            )));
        }
        if let Some(bad) = images.iter().find(|v| !v.is_finite()) {
            return Err(RtError::input(format!("image value {bad} is not finite")));
        }
        Ok(self.run(Batch::Images(images), batch))
    }

    /// Runs a batch of token ids `[batch, max_tokens]` (0 = padding); returns logits.
    pub fn run_tokens(&mut self, ids: &[u32], batch: usize) -> Result<&[f32]> {
        let InputSpec::Tokens {
            max_tokens,
            vocabulary,
            ..
        } = self.model.input
        else {
            return Err(RtError::input("this model reads images, not token ids"));
        };
        if ids.len() != batch * max_tokens {
            return Err(RtError::input(format!(
                "expected {batch}×{max_tokens} token ids, got {}",
                ids.len()
            )));
        }
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= vocabulary) {
            return Err(RtError::input(format!(
                "token id {bad} is outside the vocabulary of {vocabulary}"
            )));
        }
        Ok(self.run(Batch::Tokens(ids), batch))
    }

    /// The plans that apply to a batch of `batch` examples, the default first: with one
    /// thread only [`ThreadPlan::OneThread`]; a batch is split only with at least 2 examples
    /// per part and [`PARALLEL_MIN_MACS`] multiply-adds in all, and never while profiling
    /// (per-node times then come from one piece, its GEMMs split).
    pub fn thread_plans(&self, batch: usize) -> Vec<ThreadPlan> {
        if self.workers.is_empty() {
            return vec![ThreadPlan::OneThread];
        }
        if self.profiling {
            return vec![ThreadPlan::SplitGemms];
        }
        let parts = self.threads.min(batch / 2);
        let mut plans = Vec::new();
        if parts >= 2 && batch * self.model.macs_per_example >= PARALLEL_MIN_MACS {
            plans.push(ThreadPlan::Parts(parts));
        }
        plans.extend([ThreadPlan::SplitGemms, ThreadPlan::OneThread]);
        plans
    }

    /// Forces a plan for every batch (`None`: choose by timing, the default). A plan that
    /// does not apply to a batch (see [`Session::thread_plans`]) falls back to the default.
    pub fn set_thread_plan(&mut self, plan: Option<ThreadPlan>) {
        self.forced = plan;
    }

    /// The plan a batch of `batch` examples runs by now: forced, chosen after timing, or
    /// (while its first runs are timed) the next one to time.
    pub fn thread_plan(&self, batch: usize) -> ThreadPlan {
        let plans = self.thread_plans(batch);
        if let Some(forced) = self.forced.filter(|p| plans.contains(p)) {
            return forced;
        }
        if plans.len() == 1 {
            return plans[0];
        }
        if let Some(&(plan, _)) = self.chosen.get(&batch) {
            return plan;
        }
        // The plan with the fewest timed runs so far (the default first).
        *plans
            .iter()
            .min_by_key(|p| self.calibration.get(&(batch, **p)).map_or(0, Vec::len))
            .expect("at least one plan")
    }

    /// Records a run: while timing, its milliseconds, choosing the plan with the lowest
    /// time once each applicable plan has [`CALIBRATION_RUNS`] runs after its first (the
    /// minimum: another program on the machine only ever adds time); once chosen, counts runs
    /// until the next timing.
    fn record(&mut self, batch: usize, plan: ThreadPlan, milliseconds: f64) {
        let plans = self.thread_plans(batch);
        if self.forced.is_some() || plans.len() == 1 {
            return;
        }
        if let Some((_, runs)) = self.chosen.get_mut(&batch) {
            *runs += 1;
            let due = (*runs >= RECALIBRATE_FIRST && runs.is_power_of_two())
                || *runs % RECALIBRATE_EVERY == 0;
            if due {
                let runs = *runs;
                self.chosen.remove(&batch);
                self.recalibrating.insert(batch, runs);
            }
            return;
        }
        self.calibration
            .entry((batch, plan))
            .or_default()
            .push(milliseconds);
        // The first run of each plan (buffers growing, caches cold) is not counted, except
        // when recalibrating.
        let warm_up = usize::from(!self.recalibrating.contains_key(&batch));
        let fastest = |times: &Vec<f64>| {
            times[warm_up..]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
        };
        let done: Option<Vec<(ThreadPlan, f64)>> = plans
            .iter()
            .map(|p| {
                self.calibration
                    .get(&(batch, *p))
                    .filter(|t| t.len() >= warm_up + CALIBRATION_RUNS)
                    .map(|t| (*p, fastest(t)))
            })
            .collect();
        if let Some(times) = done {
            // A plan on several threads must beat one thread by THREADED_PLAN_MARGIN.
            let score = |(plan, ms): &(ThreadPlan, f64)| match plan {
                ThreadPlan::OneThread => *ms,
                _ => ms * (1.0 + THREADED_PLAN_MARGIN),
            };
            let best = times
                .iter()
                .min_by(|a, b| score(a).total_cmp(&score(b)))
                .expect("at least one plan")
                .0;
            let runs = self.recalibrating.remove(&batch).unwrap_or(0);
            self.chosen.insert(batch, (best, runs));
            self.calibration.retain(|(b, _), _| *b != batch);
        }
    }

    fn run(&mut self, input: Batch<'_>, batch: usize) -> &[f32] {
        if self.workers.is_empty() {
            // One thread: no plan to choose or time.
            self.run_plan(input, batch, ThreadPlan::OneThread);
            return self.main.logits(&self.model, batch);
        }
        let plan = self.thread_plan(batch);
        let started = std::time::Instant::now();
        self.run_plan(input, batch, plan);
        self.record(batch, plan, started.elapsed().as_secs_f64() * 1e3);
        match plan {
            ThreadPlan::Parts(_) => &self.gathered,
            _ => self.main.logits(&self.model, batch),
        }
    }

    fn run_plan(&mut self, input: Batch<'_>, batch: usize, plan: ThreadPlan) {
        let model = &*self.model;
        let parts = match plan {
            ThreadPlan::Parts(parts) => parts,
            ThreadPlan::SplitGemms | ThreadPlan::OneThread => {
                let started = std::time::Instant::now();
                load(&mut self.main, model, input, 0, batch);
                let profiling = self.profiling;
                let main = &mut self.main;
                if plan == ThreadPlan::OneThread {
                    crate::kernels::without_gemm_split(|| {
                        main.forward(model, batch, profiling, started)
                    });
                } else {
                    main.forward(model, batch, profiling, started);
                }
                return;
            }
        };
        // Examples `first..first + count` of each part (the last ones may be empty).
        let per_part = batch.div_ceil(parts);
        let range = |part: usize| {
            let first = part * per_part;
            (first, per_part.min(batch.saturating_sub(first)))
        };
        let pool = self.pool.as_deref().expect("workers come with a pool");
        pool.for_each_mut(&mut self.workers[..parts], |part, workspace| {
            let (first, count) = range(part);
            if count > 0 {
                load(workspace, model, input, first, count);
                workspace.forward(model, count, false, std::time::Instant::now());
            }
        });
        self.gathered.clear();
        for (part, workspace) in self.workers[..parts].iter().enumerate() {
            let (_, count) = range(part);
            if count > 0 {
                self.gathered
                    .extend_from_slice(workspace.logits(model, count));
            }
        }
    }
}

/// Loads examples `first..first + count` of a checked batch into `workspace`.
fn load(workspace: &mut Workspace, model: &Model, input: Batch<'_>, first: usize, count: usize) {
    match input {
        Batch::Images(images) => {
            let per = model.input_elements();
            workspace.load_images(
                &model.input,
                &images[first * per..(first + count) * per],
                count,
            )
        }
        Batch::Tokens(ids) => {
            let per = model.input_elements();
            workspace.load_tokens(&ids[first * per..(first + count) * per])
        }
    }
}
/// Index of the largest logit of each example (`logits` is `[batch, classes]`; ties go to
/// the lower index, as `argmax` in PyTorch does).
pub fn argmax(logits: &[f32], classes: usize) -> Vec<usize> {
    logits
        .chunks(classes)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Softmax of each example, computed stably as `exp(x − max)/Σ exp(x − max)`.
pub fn softmax(logits: &[f32], classes: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(classes) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let start = out.len();
        out.extend(row.iter().map(|&v| (v - max).exp()));
        let total: f32 = out[start..].iter().sum();
        for v in &mut out[start..] {
            *v /= total;
        }
    }
    out
}
