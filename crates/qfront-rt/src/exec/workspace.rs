//! A workspace: the buffers one run of a [`Model`] writes (every node's output, patches,
//! products, kernel scratch). A session has one, plus one per thread when it splits large
//! batches over threads; they share the model.

use super::model::Model;
use crate::format::InputSpec;
use crate::ops::{input, Buffer, RunContext, Scratchpad};

/// Every buffer one run writes, reused between runs.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// Each node's output.
    pub buffers: Vec<Buffer>,
    /// The token ids of the batch (token models).
    pub ids: Vec<u32>,
    /// Scratch the operators share.
    scratch: Scratchpad,
    /// Seconds of each node in the last profiled run.
    pub node_seconds: Vec<f64>,
}

impl Workspace {
    /// Buffers for `model`'s values.
    pub fn new(model: &Model) -> Self {
        Self {
            buffers: (0..model.values.len()).map(|_| Buffer::default()).collect(),
            ..Self::default()
        }
    }

    /// Quantizes `batch` images (floats, `[channels, height, width]` per example, checked)
    /// into node 0's codes (`[height, width, channels]` per example).
    pub fn load_images(&mut self, spec: &InputSpec, images: &[f32], batch: usize) {
        input::quantize_images(spec, images, batch, &mut self.buffers[0]);
    }

    /// Loads token ids (checked) for the embedding.
    pub fn load_tokens(&mut self, ids: &[u32]) {
        self.ids.clear();
        self.ids.extend_from_slice(ids);
    }

    /// Runs `batch` examples whose input (node 0's codes, or the token ids) is loaded, from
    /// node 1 on; with `profiling`, records each node's seconds (`started`: when the input
    /// began loading).
    pub fn forward(
        &mut self,
        model: &Model,
        batch: usize,
        profiling: bool,
        started: std::time::Instant,
    ) {
        if profiling {
            self.node_seconds.clear();
            self.node_seconds.push(started.elapsed().as_secs_f64());
        }
        for (i, operator) in model.prepared.iter().enumerate().skip(1) {
            let node_start = profiling.then(std::time::Instant::now);
            let (done, rest) = self.buffers.split_at_mut(i);
            let inputs = &model.inputs[i];
            operator.run(RunContext {
                batch,
                input: &done[inputs[0]],
                residual: inputs.get(1).map(|&r| &done[r].codes[..]),
                output: &mut rest[0],
                scratch: &mut self.scratch,
                ids: &self.ids,
            });
            if let Some(t) = node_start {
                self.node_seconds.push(t.elapsed().as_secs_f64());
            }
        }
    }

    /// The logits of the last run of `batch` examples.
    pub fn logits(&self, model: &Model, batch: usize) -> &[f32] {
        let last = self.buffers.last().expect("validated: at least one node");
        &last.logits[..batch * model.classes]
    }
}
