//! PACT (methods-spec §1.2) as one pass forward and one pass backward on plain slices.
//!
//! The composed form (`clamp_min`, `greater_equal`, `mask_where`, the detached rounding and the
//! straight-through sum) runs six full-size passes forward and, through burn's generic masks,
//! several more backward; profiling put them at 13–15% of a LeNet QAT step. Here:
//!
//! * forward: `c = clamp(x, 0, α)`, and at `b < 32` bits `y = c + (round(c·n/α)·α/n − c)`
//!   with `n = 2ᵇ − 1` — the exact float sequence of the composed form, so both give
//!   bit-identical values;
//! * backward (the paper's partition): `∂y/∂x = 1` on `[0, α)`, `∂y/∂α = 1` on `[α, ∞)`, so
//!   `dx = dy·[0 ≤ x < α]` and `dα = Σ dy·[x ≥ α]`.
//!
//! Written by hand: this is qfront's own quantizer, no crate implements it.

use rayon::prelude::*;

/// Elements per parallel work item; also the granularity of the α-gradient partial sums, which
/// are added in a fixed order so the result does not depend on the thread count.
const CHUNK: usize = 1 << 14;

/// PACT forward; `steps` is `2ᵇ − 1`, or 0 for a clipped ReLU without quantization.
pub fn pact_forward(input: &[f32], alpha: f32, steps: u32) -> Vec<f32> {
    let mut output = vec![0.0f32; input.len()];
    let n = steps as f64;
    // The composed form multiplies by host scalars converted to f32 (methods-spec §1.2:
    // `round(y·(n/α))·(α/n)`).
    let (to_grid, from_grid) = ((n / alpha as f64) as f32, (alpha as f64 / n) as f32);
    output
        .par_chunks_mut(CHUNK)
        .zip(input.par_chunks(CHUNK))
        .for_each(|(out, x)| {
            for (y, &v) in out.iter_mut().zip(x) {
                let clipped = if v >= alpha { alpha } else { v.max(0.0) };
                *y = if steps == 0 {
                    clipped
                } else {
                    let q = super::round_half_even_small(clipped * to_grid) * from_grid;
                    clipped + (q - clipped)
                };
            }
        });
    output
}

/// PACT backward: `(dx, dα)` from the input `x` and the output gradient `dy`.
pub fn pact_backward(input: &[f32], grad_output: &[f32], alpha: f32) -> (Vec<f32>, f32) {
    let mut grad_input = vec![0.0f32; input.len()];
    let partials: Vec<f32> = grad_input
        .par_chunks_mut(CHUNK)
        .zip(input.par_chunks(CHUNK))
        .zip(grad_output.par_chunks(CHUNK))
        .map(|((dx, x), dy)| {
            let mut alpha_grad = 0.0f32;
            for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
                let above = v >= alpha;
                *d = if !above && v >= 0.0 { g } else { 0.0 };
                alpha_grad += if above { g } else { 0.0 };
            }
            alpha_grad
        })
        .collect();
    (grad_input, partials.iter().sum())
}
