//! The integer-only executor: a [`Session`] prepares a validated `.qfm` model for one kernel
//! set and runs batches through it, reusing its buffers between calls. With several threads,
//! a large batch is split into one part per thread, each run whole (every layer, im2col and
//! requantization included) in its own [`workspace`] on the shared [`model`]; a batch too
//! small to split keeps one workspace and splits only its large GEMMs.

mod layer;
mod model;
mod spatial;
mod tokens;
mod workspace;

use crate::format::{InputSpec, QfmFile};
use crate::kernels::{KernelSet, PARALLEL_MIN_MACS};
use crate::{Result, RtError};
use model::Model;
use rayon::prelude::*;
use std::sync::Arc;
use workspace::Workspace;

/// A model prepared for execution.
#[derive(Debug)]
pub struct Session {
    model: Arc<Model>,
    main: Workspace,
    /// One workspace per thread, for batches split over threads.
    workers: Vec<Workspace>,
    pool: Option<Arc<rayon::ThreadPool>>,
    /// The logits of a split batch, gathered in example order.
    gathered: Vec<f32>,
    threads: usize,
    profiling: bool,
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
        }
    }

    /// Like [`Session::new`], on `threads` threads (a pool made once here; 1 = everything on
    /// the caller's thread). A batch large enough to split (at least 2 examples per thread
    /// and [`PARALLEL_MIN_MACS`] multiply-adds in all) runs as one part per thread, each part
    /// through the whole network; otherwise the GEMMs of large layers are split by rows, and
    /// small products and batch-1 matrix–vector products stay on one thread. Results are
    /// identical for every thread count.
    pub fn with_threads(file: &QfmFile, kernels: KernelSet, threads: usize) -> Result<Self> {
        if threads == 0 || threads > 256 {
            return Err(RtError::Parameter {
                name: "threads",
                reason: format!("{threads}: give 1..=256"),
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

    /// How many parts, one per thread, a batch of `batch` examples is split into (1: it runs
    /// in one piece, with only its large GEMMs split): at least 2 examples per part and
    /// [`PARALLEL_MIN_MACS`] multiply-adds in the batch, never while profiling.
    pub fn batch_parts(&self, batch: usize) -> usize {
        if self.workers.is_empty() || self.profiling {
            return 1;
        }
        let parts = self.threads.min(batch / 2);
        if parts < 2 || batch * self.model.macs_per_example < PARALLEL_MIN_MACS {
            return 1;
        }
        parts
    }

    fn run(&mut self, input: Batch<'_>, batch: usize) -> &[f32] {
        let parts = self.batch_parts(batch);
        let model = &*self.model;
        if parts == 1 {
            let started = std::time::Instant::now();
            load(&mut self.main, model, input, 0, batch);
            self.main.forward(model, batch, self.profiling, started);
            return self.main.logits(model, batch);
        }
        let per_part = batch.div_ceil(parts);
        let pool = self.pool.as_deref().expect("workers come with a pool");
        pool.install(|| {
            self.workers[..parts]
                .par_iter_mut()
                .enumerate()
                .for_each(|(part, workspace)| {
                    let first = part * per_part;
                    let count = per_part.min(batch.saturating_sub(first));
                    if count > 0 {
                        load(workspace, model, input, first, count);
                        workspace.forward(model, count, false, std::time::Instant::now());
                    }
                })
        });
        self.gathered.clear();
        for (part, workspace) in self.workers[..parts].iter().enumerate() {
            let count = per_part.min(batch.saturating_sub(part * per_part));
            if count > 0 {
                self.gathered
                    .extend_from_slice(workspace.logits(model, count));
            }
        }
        &self.gathered
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
