//! The candidates' latent samples as one matrix product per outcome.
//!
//! A candidate's latent sample for outcome `j` and base sample `t` is
//! `μ + wᵀ·z_b,t + s·z_x,t` (`gp::candidate`). Taken one sample at a time, `wᵀ·z_b,t` is a dot
//! product of `n_b` terms whose additions wait on one another: after 200 trials it was an
//! eighth of DTLZ4's ask (the raw samples: 1,024 candidates × 128 samples × 3 outcomes × about
//! 100 baseline points). For a block of candidates the dot products are `W·Z_jᵀ`
//! (`candidates × n_b` by `n_b × N`), one matrix product (faer) per outcome.

use crate::gp::{after_wide_kernels, CandidateTerms};
use faer::MatRef;

/// The base samples' normals, per sample and, for the products, per outcome.
pub(super) struct SampleNormals {
    /// Per sample: `m` blocks of `n_b` baseline normals, then `m` candidate normals.
    per_sample: Vec<Vec<f64>>,
    /// Per outcome: every sample's baseline normals, `N × n_b` row-major.
    baseline_by_outcome: Vec<Vec<f64>>,
    outcomes: usize,
    baseline_size: usize,
}

impl SampleNormals {
    /// Arranges `per_sample` (each `m·n_b + m` normals) for `outcomes` outcomes over
    /// `baseline_size` baseline points.
    pub(super) fn new(per_sample: Vec<Vec<f64>>, outcomes: usize, baseline_size: usize) -> Self {
        let nb = baseline_size;
        let baseline_by_outcome = (0..outcomes)
            .map(|j| {
                per_sample
                    .iter()
                    .flat_map(|z| z[j * nb..(j + 1) * nb].iter().copied())
                    .collect()
            })
            .collect();
        Self {
            per_sample,
            baseline_by_outcome,
            outcomes,
            baseline_size,
        }
    }

    /// Per sample: `m` blocks of `n_b` baseline normals, then `m` candidate normals.
    pub(super) fn per_sample(&self) -> &[Vec<f64>] {
        &self.per_sample
    }

    /// The number of samples N.
    pub(super) fn samples(&self) -> usize {
        self.per_sample.len()
    }

    /// Outcome `j`'s latent samples of the candidates whose terms are `terms`, `candidates × N`
    /// row-major: `μ_q + w_qᵀ·z_b,t + s_q·z_x,t`.
    pub(super) fn latents(&self, j: usize, terms: &[&CandidateTerms]) -> Vec<f64> {
        let (m, nb, samples, candidates) = (
            self.outcomes,
            self.baseline_size,
            self.samples(),
            terms.len(),
        );
        let w: Vec<f64> = terms.iter().flat_map(|t| t.w.iter().copied()).collect();
        let product = after_wide_kernels(|| {
            MatRef::from_row_major_slice(&w, candidates, nb)
                * MatRef::from_row_major_slice(&self.baseline_by_outcome[j], samples, nb)
                    .transpose()
        });
        let mut latents = Vec::with_capacity(candidates * samples);
        for (q, term) in terms.iter().enumerate() {
            for (t, z) in self.per_sample.iter().enumerate() {
                latents.push(term.mean + product[(q, t)] + term.sd * z[m * nb + j]);
            }
        }
        latents
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product equals the sample-by-sample dot products up to rounding.
    #[test]
    fn latents_are_the_dot_products() {
        let (m, nb, samples) = (2, 5, 7);
        let per_sample: Vec<Vec<f64>> = (0..samples)
            .map(|t| {
                (0..m * nb + m)
                    .map(|i| ((t * 31 + i * 17) % 13) as f64 / 6.0 - 1.0)
                    .collect()
            })
            .collect();
        let normals = SampleNormals::new(per_sample.clone(), m, nb);
        let terms: Vec<CandidateTerms> = (0..3)
            .map(|q| CandidateTerms {
                mean: q as f64 - 0.5,
                w: (0..nb)
                    .map(|b| ((q + 2 * b) % 5) as f64 * 0.3 - 0.4)
                    .collect(),
                sd: 0.1 + q as f64,
                ..CandidateTerms::default()
            })
            .collect();
        let refs: Vec<&CandidateTerms> = terms.iter().collect();
        for j in 0..m {
            let latents = normals.latents(j, &refs);
            for (q, term) in terms.iter().enumerate() {
                for (t, z) in per_sample.iter().enumerate() {
                    let dot: f64 = (0..nb).map(|b| term.w[b] * z[j * nb + b]).sum();
                    let want = term.mean + dot + term.sd * z[m * nb + j];
                    let got = latents[q * samples + t];
                    assert!((got - want).abs() < 1e-12, "{j} {q} {t}: {got} vs {want}");
                }
            }
        }
    }
}
