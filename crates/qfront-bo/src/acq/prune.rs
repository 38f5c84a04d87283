//! Baseline pruning for qNEHVI (BoTorch `prune_inferior_points_multi_objective`, Ax default
//! `prune_baseline = True`): keep the observed points that are Pareto-optimal and better than
//! the reference point in at least one joint posterior sample.
//!
//! The test runs on the models' standardized latent samples, not on the objective values:
//! every output is a strictly increasing function of its latent value (an affine map, then
//! the inverse of the Yeo–Johnson warp where there is one), so Pareto dominance and the
//! comparison with the reference point are the same on either scale, once the reference is
//! mapped to the latent scale ([`ExactGp::latent_of_output`]). That spares the warp's inverse
//! (a `powf`) on each of the 2048 × n × m sampled values: the pruning drew 59% of a
//! 50-trial BraninCurrin run's profile samples (BENCHMARKS, issue #14).
//!
//! [`ExactGp::latent_of_output`]: crate::gp::ExactGp::latent_of_output

use super::{Constraints, ModelEnsemble};
use crate::moo::is_non_dominated;
use crate::sampling::SobolSampler;
use crate::Result;
use rayon::prelude::*;

/// Samples judged per task of the pool: a sample's test is `O(n²)` at worst, so a block of
/// 128 is enough work to hand over, and 512 or 2,048 samples make 4 or 16 blocks.
const PRUNE_SAMPLE_BLOCK: usize = 128;

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
    // Per outcome in parallel (rayon's pool), as are the draws: values identical to one pass.
    let posteriors = member
        .par_iter()
        .map(|gp| gp.baseline_posterior(points))
        .collect::<Result<Vec<_>>>()?;
    let mut sobol = SobolSampler::new(n * m, seed ^ 0x7072_756e)?;
    let draws = sobol.draw_normal(samples)?;
    // All draws of model j at once (one GEMM): column s of its `n × samples` normals is
    // draw s's block `j·n..(j + 1)·n`.
    let joint: Vec<Vec<f64>> = posteriors
        .par_iter()
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
    // Objective j beats the reference in a sample exactly when its latent value exceeds
    // this (module notes).
    let latent_reference = super::latent_point(&member[..objectives], reference);
    // The points on some sample's front: a union over samples, so blocks of samples are
    // judged in parallel (rayon's pool) and their answers joined, the same set as one pass.
    let keep_in = |block: std::ops::Range<usize>| -> Vec<bool> {
        let mut keep = vec![false; n];
        // The points that beat the reference and are feasible in the sample, and their
        // latent objective values (buffers reused from sample to sample).
        let mut qualifying: Vec<usize> = Vec::with_capacity(n);
        let mut rows: Vec<Vec<f64>> = vec![Vec::with_capacity(objectives); n];
        let mut slacks = vec![0.0; m - objectives];
        for s in block {
            qualifying.clear();
            for a in 0..n {
                let beats_reference = latent_reference
                    .iter()
                    .enumerate()
                    .all(|(j, r)| joint[j][a * samples + s] > *r);
                if !beats_reference {
                    continue;
                }
                // Constraint slacks have no warp: their outputs cost no `powf`.
                for (k, slack) in slacks.iter_mut().enumerate() {
                    let j = objectives + k;
                    *slack = member[j].to_output_value(joint[j][a * samples + s]);
                }
                if Constraints::feasible(&slacks) {
                    qualifying.push(a);
                }
            }
            // A point that fails the reference cannot dominate one that beats it (it would
            // beat it too), and an infeasible one is off the front: the front of the
            // qualifying points is the qualifying part of the sample's front.
            if qualifying.iter().all(|&a| keep[a]) {
                continue;
            }
            for (row, &a) in rows.iter_mut().zip(&qualifying) {
                row.clear();
                row.extend((0..objectives).map(|j| joint[j][a * samples + s]));
            }
            let mask = is_non_dominated(&rows[..qualifying.len()]);
            for (&a, on_front) in qualifying.iter().zip(mask) {
                keep[a] |= on_front;
            }
        }
        keep
    };
    let blocks: Vec<std::ops::Range<usize>> = (0..samples)
        .step_by(PRUNE_SAMPLE_BLOCK)
        .map(|first| first..(first + PRUNE_SAMPLE_BLOCK).min(samples))
        .collect();
    let keep = blocks.into_par_iter().map(keep_in).reduce(
        || vec![false; n],
        |a, b| a.iter().zip(&b).map(|(x, y)| *x || *y).collect(),
    );
    let kept: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    Ok(if kept.is_empty() {
        (0..n).collect()
    } else {
        kept
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::{ExactGp, GpFitOptions, YeoJohnson};

    /// The definition, sample by sample on the objective scale: every sampled value mapped
    /// through `to_output_value` (the warp undone), infeasible points set to −∞, the
    /// non-dominated mask of all points, then the reference test.
    fn pruned_by_definition(
        models: &ModelEnsemble,
        points: &[Vec<f64>],
        reference: &[f64],
        samples: usize,
        seed: u64,
    ) -> Vec<usize> {
        let (n, member, objectives) = (points.len(), &models[0], reference.len());
        let m = member.len();
        let posteriors: Vec<_> = member
            .iter()
            .map(|gp| gp.baseline_posterior(points).unwrap())
            .collect();
        let draws = SobolSampler::new(n * m, seed ^ 0x7072_756e)
            .unwrap()
            .draw_normal(samples)
            .unwrap();
        let mut keep = vec![false; n];
        for draw in &draws {
            let outputs: Vec<Vec<f64>> = (0..n)
                .map(|a| {
                    (0..m)
                        .map(|j| {
                            let latent = posteriors[j].sample_at(a, &draw[j * n..(j + 1) * n]);
                            member[j].to_output_value(latent)
                        })
                        .collect()
                })
                .collect();
            let candidates: Vec<Vec<f64>> = outputs
                .iter()
                .map(|v| {
                    if v[objectives..].iter().all(|s| *s >= 0.0) {
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
        if kept.is_empty() {
            (0..n).collect()
        } else {
            kept
        }
    }

    /// Two objectives (one spanning orders of magnitude, fitted through a Yeo–Johnson warp)
    /// and a constraint slack, or three objectives: the latent-scale pruning keeps exactly
    /// the points the definition keeps, for loose and tight reference points.
    #[test]
    fn latent_pruning_keeps_what_the_definition_keeps() {
        let x = SobolSampler::new(3, 21).unwrap().draw(30).unwrap();
        let outcomes: [fn(&[f64]) -> f64; 3] = [
            |p| -(4.0 * p[0] + p[2]).exp(),
            |p| -(p[0] - 0.8).powi(2) + 0.3 * p[1] - 0.1 * p[2],
            |p| 0.6 - p[1] - 0.2 * p[2],
        ];
        let models: Vec<ExactGp> = outcomes
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let y: Vec<f64> = x.iter().map(|p| f(p)).collect();
                if j == 0 {
                    let warp = YeoJohnson::fit(&y);
                    assert!(warp.lambda > 1.0, "the first outcome should be warped");
                    let warped: Vec<f64> = y.iter().map(|v| warp.apply(*v)).collect();
                    ExactGp::fit(&x, &warped, &GpFitOptions::default())
                        .unwrap()
                        .with_output_warp(warp)
                } else {
                    ExactGp::fit(&x, &y, &GpFitOptions::default()).unwrap()
                }
            })
            .collect();
        let ensemble: ModelEnsemble = vec![models];
        let mut pruned_some = false;
        for (reference, seed) in [
            (vec![-1e3, -1.0], 3),
            (vec![-20.0, -0.2], 4),
            (vec![-5.0, 0.0], 5),
            (vec![-20.0, -0.2, -0.5], 6),
        ] {
            let fast = prune_baseline(&ensemble, &x, &reference, 256, seed).unwrap();
            let slow = pruned_by_definition(&ensemble, &x, &reference, 256, seed);
            assert_eq!(fast, slow, "reference {reference:?}");
            pruned_some |= fast.len() < x.len();
        }
        assert!(pruned_some, "some reference should prune some points");
    }
}
