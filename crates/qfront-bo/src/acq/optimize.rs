//! Acquisition optimization as BoTorch's `optimize_acqf` does it (methods-spec §4.5):
//! evaluate `raw_samples` scrambled Sobol points, pick `restarts` starting points among them by
//! Boltzmann sampling on their standardized values (`initialize_q_batch`, η = 2; the best raw
//! point is always kept), run the bounded L-BFGS from each inside the unit cube, keep the best.
//!
//! Optional anchors (the observed Pareto-optimal points) add local raw samples: each anchor
//! with a random subset of coordinates (each with probability `min(1, 20/d)`) moved by
//! `N(0, 0.1²)` and clipped, as the SAAS reference code and BoTorch's
//! `sample_perturbed_subset_dims` do. In high dimension a Sobol-only start sends the
//! coordinates the model thinks irrelevant to the cube's corners; starts near good points keep
//! them where the data says they are good. The best local raw point is always a start.

use super::Acquisition;
use crate::optim::{minimize_box, LbfgsOptions};
use crate::sampling::SobolSampler;
use crate::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Settings of [`optimize_acquisition`].
#[derive(Debug, Clone, PartialEq)]
pub struct AcquisitionOptimizerOptions {
    /// Sobol points scored before the local searches (BoTorch tutorials 512; Ax 1000).
    pub raw_samples: usize,
    /// Local searches (BoTorch tutorials 10; Ax 20).
    pub restarts: usize,
    /// L-BFGS settings of each local search (BoTorch: 200 iterations; here also steps of at
    /// most 0.1 per coordinate, so coordinates the model finds irrelevant stay near their start
    /// instead of jumping to a face of the cube).
    pub lbfgs: LbfgsOptions,
    /// Seed of the raw samples and the Boltzmann draw.
    pub seed: u64,
    /// Local raw samples per anchor (see the module notes).
    pub perturbations_per_anchor: usize,
    /// At most this many local raw samples in all (at least one per anchor): past
    /// `max_local_samples / perturbations_per_anchor` anchors each gets fewer.
    pub max_local_samples: usize,
    /// Coordinates the local searches may move (`None`: all). The others keep their start
    /// values: a SAAS model's inactive coordinates stay where a start point put them.
    pub free_dimensions: Option<Vec<bool>>,
}

impl Default for AcquisitionOptimizerOptions {
    fn default() -> Self {
        Self {
            raw_samples: 512,
            restarts: 10,
            lbfgs: LbfgsOptions {
                max_step: 0.1,
                ..LbfgsOptions::default()
            },
            seed: 0,
            perturbations_per_anchor: 32,
            max_local_samples: 512,
            free_dimensions: None,
        }
    }
}

/// Maximizes `acquisition` over `[0, 1]^dim`, with local raw samples around `anchors`;
/// returns the best point and its value.
pub fn optimize_acquisition(
    acquisition: &dyn Acquisition,
    dim: usize,
    anchors: &[Vec<f64>],
    options: &AcquisitionOptimizerOptions,
) -> Result<(Vec<f64>, f64)> {
    let (raw, sobol_count) = raw_points(dim, anchors, options)?;
    let values = acquisition.evaluate_many(&raw);
    let starts = choose_starts(&values, sobol_count, options);
    Ok(best_search(&starts, &raw, &values, |s| {
        local_search(
            acquisition,
            &raw[s],
            options.free_dimensions.as_deref(),
            options,
        )
    }))
}

/// The best of `search(s)` for each start `s` and of the first start's raw point itself
/// (`raw[starts[0]]`, scoring `values[starts[0]]`). The searches run in parallel (rayon's
/// pool) and are compared in the starts' order, a later one winning only when strictly
/// better, so the point chosen does not depend on how the work was spread.
pub(crate) fn best_search(
    starts: &[usize],
    raw: &[Vec<f64>],
    values: &[f64],
    search: impl Fn(usize) -> (Vec<f64>, f64) + Sync,
) -> (Vec<f64>, f64) {
    let searched: Vec<(Vec<f64>, f64)> = starts.par_iter().map(|&s| search(s)).collect();
    let mut best = (raw[starts[0]].clone(), values[starts[0]]);
    for (x, value) in searched {
        if value > best.1 {
            best = (x, value);
        }
    }
    best
}

/// The raw samples: `raw_samples` scrambled Sobol points, then the local samples around
/// `anchors`; returns them and how many are Sobol points.
pub(crate) fn raw_points(
    dim: usize,
    anchors: &[Vec<f64>],
    options: &AcquisitionOptimizerOptions,
) -> Result<(Vec<Vec<f64>>, usize)> {
    let mut raw =
        SobolSampler::new(dim, options.seed ^ 0x7261_7773)?.draw(options.raw_samples.max(1))?;
    let sobol_count = raw.len();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x7065_7274);
    let probability = (20.0 / dim as f64).min(1.0);
    // The local raw samples share one budget, as BoTorch's raw samples do: a 4-objective
    // front of a hundred points would otherwise add thousands of evaluations per ask.
    let per_anchor = if anchors.is_empty() {
        0
    } else {
        options
            .perturbations_per_anchor
            .min((options.max_local_samples / anchors.len()).max(1))
    };
    for anchor in anchors {
        for _ in 0..per_anchor {
            let mut x = anchor.clone();
            let mut moved = false;
            for v in x.iter_mut() {
                if rng.gen::<f64>() < probability {
                    *v = (*v + 0.1 * standard_normal(&mut rng)).clamp(0.0, 1.0);
                    moved = true;
                }
            }
            if !moved {
                let i = rng.gen_range(0..dim);
                x[i] = (x[i] + 0.1 * standard_normal(&mut rng)).clamp(0.0, 1.0);
            }
            raw.push(x);
        }
    }
    Ok((raw, sobol_count))
}

/// The starts of the local searches among the raw points: Boltzmann sampling on their values,
/// plus the best local raw sample.
pub(crate) fn choose_starts(
    values: &[f64],
    sobol_count: usize,
    options: &AcquisitionOptimizerOptions,
) -> Vec<usize> {
    let mut starts = boltzmann_starts(values, options.restarts.max(1), options.seed);
    if values.len() > sobol_count {
        let local_best = (sobol_count..values.len()).fold(sobol_count, |b, i| {
            if values[i] > values[b] {
                i
            } else {
                b
            }
        });
        if !starts.contains(&local_best) {
            starts.push(local_best);
        }
    }
    starts
}

/// The bounded L-BFGS from `start` inside the unit cube, moving only the `free` coordinates
/// (all when `None`); returns the point reached and its value.
pub(crate) fn local_search(
    acquisition: &dyn Acquisition,
    start: &[f64],
    free: Option<&[bool]>,
    options: &AcquisitionOptimizerOptions,
) -> (Vec<f64>, f64) {
    let dim = start.len();
    let outcome = minimize_box(
        |x, g| {
            let (v, grad) = acquisition.evaluate(x, true);
            for (gi, vi) in g.iter_mut().zip(&grad) {
                *gi = -vi;
            }
            -v
        },
        start,
        &fixed_bounds(&vec![0.0; dim], start, free),
        &fixed_bounds(&vec![1.0; dim], start, free),
        &options.lbfgs,
    );
    (outcome.x, -outcome.value)
}

/// `bounds` with the coordinates that may not move pinned to `start`.
fn fixed_bounds(bounds: &[f64], start: &[f64], free: Option<&[bool]>) -> Vec<f64> {
    match free {
        None => bounds.to_vec(),
        Some(free) => bounds
            .iter()
            .zip(start)
            .zip(free)
            .map(|((b, s), f)| if *f { *b } else { *s })
            .collect(),
    }
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `initialize_q_batch`: the best index, then indices drawn without replacement with
/// weights `exp(η·z)`, z the standardized values (uniform when they are all equal).
fn boltzmann_starts(values: &[f64], count: usize, seed: u64) -> Vec<usize> {
    let n = values.len();
    let best = (0..n).fold(0, |b, i| if values[i] > values[b] { i } else { b });
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let mut weights: Vec<f64> = values
        .iter()
        .map(|v| {
            if sd > 0.0 {
                (2.0 * (v - mean) / sd).exp()
            } else {
                1.0
            }
        })
        .collect();
    weights[best] = 0.0;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x626f_6c74);
    let mut chosen = vec![best];
    while chosen.len() < count.min(n) {
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            break;
        }
        let mut u = rng.gen::<f64>() * total;
        let mut pick = n - 1;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                pick = i;
                break;
            }
            u -= w;
        }
        chosen.push(pick);
        weights[pick] = 0.0;
    }
    chosen
}
