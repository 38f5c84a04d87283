//! Latency measurement the way on-device benchmark tools do it (TFLite `benchmark_model`,
//! tract `bench`): untimed warm-up runs, then timed runs of one batch until a loop count or a
//! time budget is reached, reported as median, p90, p99 and mean.

use crate::format::InputSpec;
use crate::{Result, RtError, Session};
use std::time::{Duration, Instant};

/// When warm-up and measurement stop (whichever limit comes first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyOptions {
    /// Warm-up runs at most.
    pub warmup_loops: usize,
    /// Warm-up time at most.
    pub warmup_time: Duration,
    /// Timed runs at most.
    pub max_loops: usize,
    /// Measurement time at most (at least one run is always timed).
    pub max_time: Duration,
    /// Examples per run.
    pub batch: usize,
}

impl Default for LatencyOptions {
    fn default() -> Self {
        Self {
            warmup_loops: 100,
            warmup_time: Duration::from_millis(200),
            max_loops: 100_000,
            max_time: Duration::from_secs(1),
            batch: 1,
        }
    }
}

/// Latency figures of one model, in milliseconds per run (one batch).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LatencyReport {
    /// Median.
    pub median_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Timed runs.
    pub loops: usize,
}

impl LatencyReport {
    /// Figures from per-run times in milliseconds (nearest-rank percentiles).
    pub fn from_samples(samples: &mut [f64]) -> Self {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let rank = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self {
            median_ms: if n % 2 == 1 {
                samples[n / 2]
            } else {
                0.5 * (samples[n / 2 - 1] + samples[n / 2])
            },
            p90_ms: rank(0.90),
            p99_ms: rank(0.99),
            mean_ms: samples.iter().sum::<f64>() / n as f64,
            loops: n,
        }
    }
}

/// A fixed, reproducible input batch for `input`: pixels on the model's grid, or token ids
/// with some padding.
pub fn synthetic_input(input: &InputSpec, batch: usize) -> SyntheticInput {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    match *input {
        InputSpec::Image {
            height,
            width,
            channels,
            ..
        } => SyntheticInput::Images(
            (0..batch * height * width * channels)
                .map(|_| (next() % 256) as f32 / 255.0)
                .collect(),
        ),
        InputSpec::Tokens {
            max_tokens,
            vocabulary,
            ..
        } => {
            let mut ids = Vec::with_capacity(batch * max_tokens);
            for _ in 0..batch {
                let real = 1 + (next() as usize % max_tokens);
                for t in 0..max_tokens {
                    ids.push(if t < real && vocabulary > 1 {
                        1 + next() % (vocabulary as u32 - 1)
                    } else {
                        0
                    });
                }
            }
            SyntheticInput::Tokens(ids)
        }
    }
}

/// An input batch.
#[derive(Debug, Clone, PartialEq)]
pub enum SyntheticInput {
    /// Images, `[batch, channels, height, width]` floats.
    Images(Vec<f32>),
    /// Token ids `[batch, max_tokens]`.
    Tokens(Vec<u32>),
}

/// Runs `input` once.
pub fn run_once(session: &mut Session, input: &SyntheticInput, batch: usize) -> Result<()> {
    match input {
        SyntheticInput::Images(x) => session.run_images(x, batch).map(|_| ()),
        SyntheticInput::Tokens(ids) => session.run_tokens(ids, batch).map(|_| ()),
    }
}

/// Measures the latency of `session` on a synthetic batch.
pub fn measure_latency(session: &mut Session, options: &LatencyOptions) -> Result<LatencyReport> {
    if options.batch == 0 || options.max_loops == 0 {
        return Err(RtError::Parameter {
            name: "latency options",
            reason: "batch and max loops must be at least 1".into(),
        });
    }
    let input = synthetic_input(session.input_spec(), options.batch);
    let start = Instant::now();
    for _ in 0..options.warmup_loops {
        if start.elapsed() >= options.warmup_time {
            break;
        }
        run_once(session, &input, options.batch)?;
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < options.max_loops
        && (samples.is_empty() || start.elapsed() < options.max_time)
    {
        let t = Instant::now();
        run_once(session, &input, options.batch)?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(LatencyReport::from_samples(&mut samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let r = LatencyReport::from_samples(&mut samples);
        assert_eq!(
            (r.median_ms, r.p90_ms, r.p99_ms, r.mean_ms, r.loops),
            (50.5, 90.0, 99.0, 50.5, 100)
        );
        let r = LatencyReport::from_samples(&mut [3.0]);
        assert_eq!((r.median_ms, r.p90_ms, r.p99_ms), (3.0, 3.0, 3.0));
    }
}
