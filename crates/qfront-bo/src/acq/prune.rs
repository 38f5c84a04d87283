//! Baseline pruning for qNEHVI (BoTorch `prune_inferior_points_multi_objective`, Ax default
//! `prune_baseline = True`): keep the observed points that are Pareto-optimal and better than
//! the reference point in at least one joint posterior sample.

use super::{Constraints, ModelEnsemble};
use crate::moo::is_non_dominated;
use crate::sampling::SobolSampler;
use crate::Result;

/// The indices of `points` worth keeping in the qNEHVI baseline, judged on `samples` joint
/// posterior draws of the first ensemble member (BoTorch uses 2048). Models after the
/// `reference.len()` objectives are constraint slacks; a point infeasible in a sample is not
/// on that sample's front. All indices are kept when
/// no point ever qualifies (an empty baseline would make every candidate look equally good).
pub fn prune_baseline(
    models: &ModelEnsemble,
    points: &[Vec<f64>],
    reference: &[f64],
    samples: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let n = points.len();
    if n <= 1 {
        return Ok((0..n).collect());
    }
    let member = &models[0];
    let m = member.len();
    let objectives = reference.len();
    let posteriors = member
        .iter()
        .map(|gp| gp.baseline_posterior(points))
        .collect::<Result<Vec<_>>>()?;
    let mut sobol = SobolSampler::new(n * m, seed ^ 0x7072_756e)?;
    let draws = sobol.draw_normal(samples)?;
    // All draws of model j at once (one GEMM): column s of its `n × samples` normals is
    // draw s's block `j·n..(j + 1)·n`.
    let joint: Vec<Vec<f64>> = posteriors
        .iter()
        .enumerate()
        .map(|(j, post)| {
            let mut z = vec![0.0; n * samples];
            for (s, draw) in draws.iter().enumerate() {
                for b in 0..n {
                    z[b * samples + s] = draw[j * n + b];
                }
            }
            post.samples(&z, samples)
        })
        .collect();
    let mut keep = vec![false; n];
    for s in 0..samples {
        let mut values = vec![vec![0.0; m]; n];
        for (j, (gp, sampled)) in member.iter().zip(&joint).enumerate() {
            for a in 0..n {
                values[a][j] = gp.to_output_value(sampled[a * samples + s]);
            }
        }
        // Infeasible points (any slack after the objectives < 0) cannot be on the front.
        let candidates: Vec<Vec<f64>> = values
            .iter()
            .map(|v| {
                if Constraints::feasible(&v[objectives..]) {
                    v[..objectives].to_vec()
                } else {
                    vec![f64::NEG_INFINITY; objectives]
                }
            })
            .collect();
        for (i, nd) in is_non_dominated(&candidates).into_iter().enumerate() {
            if nd && candidates[i].iter().zip(reference).all(|(v, r)| v > r) {
                keep[i] = true;
            }
        }
    }
    let kept: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    Ok(if kept.is_empty() {
        (0..n).collect()
    } else {
        kept
    })
}
