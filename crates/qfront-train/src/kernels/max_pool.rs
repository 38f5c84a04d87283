//! Max pooling (square window, no padding, floor mode) with the argmax kept for the backward
//! pass, on plain slices.
//!
//! burn's flex backend routes 2-D pooling through its 3-D implementation with `i64` indices
//! and a generic scatter backward (11% of a LeNet training step when profiled); here the window
//! position of each maximum is a `u32` offset in its plane and the backward is one scatter per
//! plane. The first maximum of a window wins ties, as in burn and PyTorch. Written by hand:
//! no crate offers it on slices.

use super::build_in_chunks;
use rayon::prelude::*;

/// Shapes of one max pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Number of planes `N·C`.
    pub planes: usize,
    /// Input height.
    pub in_height: usize,
    /// Input width.
    pub in_width: usize,
    /// Window side.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
}

impl PoolGeometry {
    /// Output height `⌊(H − k)/s⌋ + 1`.
    pub fn out_height(&self) -> usize {
        (self.in_height - self.kernel) / self.stride + 1
    }

    /// Output width `⌊(W − k)/s⌋ + 1`.
    pub fn out_width(&self) -> usize {
        (self.in_width - self.kernel) / self.stride + 1
    }
}

/// Forward: the pooled planes and, per output, the offset of its maximum within the input plane.
pub fn max_pool_forward(input: &[f32], g: &PoolGeometry) -> (Vec<f32>, Vec<u32>) {
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let (in_plane, out_plane) = (g.in_height * g.in_width, out_h * out_w);
    let mut output = vec![0.0f32; g.planes * out_plane];
    let mut argmax = vec![0u32; g.planes * out_plane];
    output
        .par_chunks_mut(out_plane)
        .zip(argmax.par_chunks_mut(out_plane))
        .zip(input.par_chunks(in_plane))
        .for_each(|((out, arg), plane)| {
            if g.kernel == 2 && g.stride == 2 {
                pool_plane_2x2(plane, g.in_width, out_h, out_w, out, arg);
                return;
            }
            for oy in 0..out_h {
                for ox in 0..out_w {
                    let (y0, x0) = (oy * g.stride, ox * g.stride);
                    let mut best = y0 * g.in_width + x0;
                    let mut best_value = plane[best];
                    for ky in 0..g.kernel {
                        let row = (y0 + ky) * g.in_width + x0;
                        for (kx, &value) in plane[row..row + g.kernel].iter().enumerate() {
                            // `>` keeps the first maximum of a window.
                            if value > best_value {
                                best_value = value;
                                best = row + kx;
                            }
                        }
                    }
                    out[oy * out_w + ox] = best_value;
                    arg[oy * out_w + ox] = best as u32;
                }
            }
        });
    (output, argmax)
}

/// The 2×2, stride-2 case (LeNet's), branch-free: the four candidates of a window compared in
/// reading order, the first maximum kept. The generic loop spent 12% of a LeNet QAT step here.
fn pool_plane_2x2(
    plane: &[f32],
    width: usize,
    out_h: usize,
    out_w: usize,
    out: &mut [f32],
    arg: &mut [u32],
) {
    for oy in 0..out_h {
        let top = 2 * oy * width;
        let (upper, lower) = (
            &plane[top..top + width],
            &plane[top + width..top + 2 * width],
        );
        let out_row = &mut out[oy * out_w..(oy + 1) * out_w];
        let arg_row = &mut arg[oy * out_w..(oy + 1) * out_w];
        for ox in 0..out_w {
            let x = 2 * ox;
            let mut best = upper[x];
            let mut at = top + x;
            for (value, offset) in [
                (upper[x + 1], top + x + 1),
                (lower[x], top + width + x),
                (lower[x + 1], top + width + x + 1),
            ] {
                let take = value > best;
                best = if take { value } else { best };
                at = if take { offset } else { at };
            }
            out_row[ox] = best;
            arg_row[ox] = at as u32;
        }
    }
}

/// Backward: adds each output gradient to the input position its maximum came from.
pub fn max_pool_backward(grad_output: &[f32], argmax: &[u32], g: &PoolGeometry) -> Vec<f32> {
    let in_plane = g.in_height * g.in_width;
    let out_plane = g.out_height() * g.out_width();
    let (grad_input, _) =
        build_in_chunks(g.planes * in_plane, in_plane, |plane, dx: &mut [f32]| {
            let dy = &grad_output[plane * out_plane..][..out_plane];
            let arg = &argmax[plane * out_plane..][..out_plane];
            for (&index, &grad) in arg.iter().zip(dy) {
                dx[index as usize] += grad;
            }
        });
    grad_input
}
