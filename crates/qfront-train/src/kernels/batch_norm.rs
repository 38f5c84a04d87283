//! Training-mode batch normalization over NCHW tensors (Ioffe & Szegedy 2015), forward and
//! backward, on plain slices.
//!
//! Per channel `c`, over the `M = N·H·W` values of the batch: `μ = mean(x)`,
//! `σ² = mean((x − μ)²)` (biased), `x̂ = (x − μ)/√(σ² + ε)`, `y = γ·x̂ + β`. Backward, with
//! `dβ = Σ dy` and `dγ = Σ dy·x̂`: `dx = γ/√(σ² + ε) · (dy − dβ/M − x̂·dγ/M)`.
//!
//! burn's default (`ModuleOps::batch_norm_train` and its backward, which the flex backend
//! does not override) builds these from swapped-dimension copies, broadcasts and reductions:
//! about a dozen full-size passes and several transposed copies per layer. Here the forward is
//! two reduction passes per channel (mean, then squared deviations) and one elementwise pass,
//! the backward one reduction pass and one elementwise pass. Sums are added in f64 per channel
//! in a fixed order, so the result does not depend on the thread count.
//! Written by hand: no crate offers it on slices.

use super::build_in_chunks;
use rayon::prelude::*;

/// Layout of an NCHW tensor seen by batch norm: `batch` samples of `channels` planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormGeometry {
    /// Samples `N`.
    pub batch: usize,
    /// Channels `C`.
    pub channels: usize,
    /// Elements per plane `H·W` (1 for `[N, C]` inputs).
    pub plane: usize,
}

impl NormGeometry {
    /// Values per channel `M = N·H·W`.
    fn per_channel(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// Planes per parallel work item (about 4,096 elements, at least one plane).
    fn planes_per_chunk(&self) -> usize {
        (4096 / self.plane.max(1)).max(1)
    }

    /// The planes of channel `c`, one per sample.
    fn planes<'a>(&self, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (plane, stride) = (self.plane, self.channels * self.plane);
        (0..self.batch).map(move |n| &data[n * stride + c * plane..][..plane])
    }
}

/// Batch statistics: per channel mean and biased variance.
pub fn batch_statistics(input: &[f32], g: &NormGeometry) -> (Vec<f32>, Vec<f32>) {
    (0..g.channels)
        .into_par_iter()
        .map(|c| {
            let sum: f64 = g
                .planes(input, c)
                .map(|p| p.iter().map(|&v| v as f64).sum::<f64>())
                .sum();
            let mean = sum / g.per_channel();
            let squares: f64 = g
                .planes(input, c)
                .map(|p| p.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>())
                .sum();
            (mean as f32, (squares / g.per_channel()) as f32)
        })
        .unzip()
}

/// `y = a[c]·x + b[c]` over every plane (the forward's elementwise pass).
fn affine_per_channel(input: &[f32], scale: &[f32], shift: &[f32], g: &NormGeometry) -> Vec<f32> {
    let planes = g.planes_per_chunk();
    let (output, _) = build_in_chunks(input.len(), planes * g.plane, |chunk, out: &mut [f32]| {
        for (j, out) in out.chunks_mut(g.plane).enumerate() {
            let i = chunk * planes + j;
            let x = &input[i * g.plane..][..g.plane];
            let c = i % g.channels;
            let (a, b) = (scale[c], shift[c]);
            for (y, &v) in out.iter_mut().zip(x) {
                *y = a * v + b;
            }
        }
    });
    output
}

/// `1/√(σ² + ε)` per channel.
pub fn inverse_std(variance: &[f32], epsilon: f64) -> Vec<f32> {
    variance
        .iter()
        .map(|&v| (1.0 / (v as f64 + epsilon).sqrt()) as f32)
        .collect()
}

/// Forward: `y = γ·(x − μ)·inv_std + β` with the batch's own statistics.
pub fn batch_norm_forward(
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    g: &NormGeometry,
) -> Vec<f32> {
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    let shift: Vec<f32> = (0..g.channels)
        .map(|c| beta[c] - mean[c] * scale[c])
        .collect();
    affine_per_channel(input, &scale, &shift, g)
}

/// Gradients `(dx, dγ, dβ)` of the training-mode forward.
pub fn batch_norm_backward(
    input: &[f32],
    grad_output: &[f32],
    gamma: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    g: &NormGeometry,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // dβ = Σ dy, dγ = Σ dy·x̂ per channel.
    let (grad_beta, grad_gamma): (Vec<f64>, Vec<f64>) = (0..g.channels)
        .into_par_iter()
        .map(|c| {
            let (mu, s) = (mean[c], inv_std[c]);
            let mut sum_dy = 0.0f64;
            let mut sum_dy_xhat = 0.0f64;
            for (x, dy) in g.planes(input, c).zip(g.planes(grad_output, c)) {
                let (mut a, mut b) = (0.0f32, 0.0f32);
                for (&v, &d) in x.iter().zip(dy) {
                    a += d;
                    b += d * ((v - mu) * s);
                }
                sum_dy += a as f64;
                sum_dy_xhat += b as f64;
            }
            (sum_dy, sum_dy_xhat)
        })
        .unzip();
    // dx = k·(dy − dβ/M − x̂·dγ/M), with k = γ·inv_std, x̂ = (x − μ)·inv_std.
    let m = g.per_channel();
    let planes = g.planes_per_chunk();
    let (grad_input, _) =
        build_in_chunks(input.len(), planes * g.plane, |chunk, dx: &mut [f32]| {
            for (j, dx) in dx.chunks_mut(g.plane).enumerate() {
                let i = chunk * planes + j;
                let x = &input[i * g.plane..][..g.plane];
                let dy = &grad_output[i * g.plane..][..g.plane];
                let c = i % g.channels;
                let (mu, s) = (mean[c], inv_std[c]);
                let k = gamma[c] * s;
                let mean_dy = (grad_beta[c] / m) as f32;
                let mean_dy_xhat = (grad_gamma[c] / m) as f32;
                for ((out, &v), &d) in dx.iter_mut().zip(x).zip(dy) {
                    let x_hat = (v - mu) * s;
                    *out = k * (d - mean_dy - x_hat * mean_dy_xhat);
                }
            }
        });
    let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    (grad_input, to_f32(grad_gamma), to_f32(grad_beta))
}
