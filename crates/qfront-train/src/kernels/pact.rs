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

use super::build_in_chunks;

/// Elements per parallel work item; also the granularity of the α-gradient partial sums, which
/// are added in a fixed order so the result does not depend on the thread count.
const CHUNK: usize = 1 << 14;

/// PACT forward; `steps` is `2ᵇ − 1`, or 0 for a clipped ReLU without quantization.
pub fn pact_forward(input: &[f32], alpha: f32, steps: u32) -> Vec<f32> {
    let n = steps as f64;
    // The composed form multiplies by host scalars converted to f32 (methods-spec §1.2:
    // `round(y·(n/α))·(α/n)`).
    let (to_grid, from_grid) = ((n / alpha as f64) as f32, (alpha as f64 / n) as f32);
    let (output, _) = build_in_chunks(input.len(), CHUNK, |chunk, out: &mut [f32]| {
        let x = &input[chunk * CHUNK..][..out.len()];
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
    let (grad_input, partials) = build_in_chunks(input.len(), CHUNK, |chunk, dx: &mut [f32]| {
        let x = &input[chunk * CHUNK..][..dx.len()];
        let dy = &grad_output[chunk * CHUNK..][..dx.len()];
        let mut alpha_grad = 0.0f32;
        for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
            let above = v >= alpha;
            *d = if !above && v >= 0.0 { g } else { 0.0 };
            alpha_grad += if above { g } else { 0.0 };
        }
        alpha_grad
    });
    (grad_input, partials.iter().sum())
}
