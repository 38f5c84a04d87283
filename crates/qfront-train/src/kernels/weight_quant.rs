//! Weight fake-quantizers with a straight-through gradient — SAWB (pass-through or clipped
//! STE), symmetric and asymmetric min-max — as one statistics pass and one quantization pass.
//!
//! For these rules the composed form is `w + (q(w_d) − w_d)` with every statistic taken on the
//! detached `w_d`: the scale reductions (`mean_dim`, `max_dim`, each through a transposed copy
//! on flex), a dozen elementwise passes, and on the tape an add, a sub and their backward
//! steps. The value here is the same float sequence (`out = w + (q − w)`; with the clipped STE
//! `out = q` where `|w| > α`), and the backward is the identity (clipped: `dw = dy·[|w| ≤ α]`,
//! one pass). Written by hand:
//! these are qfront's quantizers (methods-spec §2), no crate implements them.
//!
//! Formulas (qfront-quant's `sawb` and `minmax` modules, whose golden vectors pin them):
//! * SAWB, per row `r` of `[channels, rest]`: `α = c1·√E[w²] − c2·E|w|` (`max|w|` when not
//!   positive), `u = clamp(w/α, −1, 1)/2 + 1/2`, `q = α·(round(u·n)·2/n − 1)`;
//! * min-max symmetric: `s = max(max|w| / qmax, 10⁻¹²)`, `q = s·clamp(round(w/s), ±qmax)`;
//! * min-max asymmetric: `lo = min(min w, 0)`, `hi = max(max w, 0)`,
//!   `s = max((hi − lo)/qmax, 10⁻¹²)`, `z = clamp(round(−lo/s), 0, qmax)`,
//!   `q = s·(clamp(round(w/s) + z, 0, qmax) − z)`.

use super::{build_in_chunks, round_half_even_small};
use rayon::prelude::*;

/// Elements per parallel work item of the quantization pass.
const CHUNK: usize = 1 << 14;

/// A weight quantizer with an identity (straight-through) gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightRule {
    /// SAWB (pass-through gradient) with one scale per row of `[rows, rest]`.
    Sawb {
        /// Multiplier of `√E[w²]`.
        c1: f64,
        /// Multiplier of `E|w|`.
        c2: f64,
        /// Grid steps `n` (`2ᵇ − 1` on the no-zero grid, `2ᵇ − 2` zero-aligned).
        steps: u32,
        /// Scale rows: 1 per tensor, or the output channels.
        rows: usize,
        /// The clipped STE (no gradient where `|w| > α`) instead of the pass-through one.
        clipped: bool,
    },
    /// Symmetric min-max with codes `−qmax..=qmax`.
    MinMaxSymmetric {
        /// `2^(b−1) − 1`.
        qmax: u32,
    },
    /// Asymmetric min-max with codes `0..=qmax` and an integer zero point.
    MinMaxAsymmetric {
        /// `2ᵇ − 1`.
        qmax: u32,
    },
}

/// The straight-through value `w + (q − w)`, the exact float sequence of the composed form.
#[inline(always)]
fn straight_through(w: f32, q: f32) -> f32 {
    w + (q - w)
}

/// `(min, max)` of a slice, in parallel (exact: min and max do not depend on the order).
fn min_max(w: &[f32]) -> (f32, f32) {
    w.par_chunks(CHUNK)
        .map(|c| {
            c.iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                })
        })
        .reduce(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |(a, b), (c, d)| (a.min(c), b.max(d)),
        )
}

/// SAWB's fresh scale of one row. Long rows (a per-tensor scale) are summed in parallel
/// chunks whose partial sums are added in chunk order, so the value does not depend on the
/// thread count.
fn sawb_row_scale(row: &[f32], c1: f64, c2: f64) -> f32 {
    let count = row.len() as f64;
    let moments = |part: &[f32]| {
        part.iter().fold((0.0f64, 0.0f64, 0.0f32), |acc, &v| {
            (
                acc.0 + (v as f64) * (v as f64),
                acc.1 + v.abs() as f64,
                acc.2.max(v.abs()),
            )
        })
    };
    let partials: Vec<(f64, f64, f32)> = if row.len() > CHUNK {
        row.par_chunks(CHUNK).map(moments).collect()
    } else {
        vec![moments(row)]
    };
    let (squares, magnitudes, max_abs) = partials.into_iter().fold((0.0, 0.0, 0.0f32), |a, b| {
        (a.0 + b.0, a.1 + b.1, a.2.max(b.2))
    });
    let rms = ((squares / count) as f32).sqrt();
    let mean_abs = (magnitudes / count) as f32;
    let formula = rms * c1 as f32 - mean_abs * c2 as f32;
    if formula <= 0.0 {
        max_abs
    } else {
        formula
    }
}

/// `out[i] = f(row of i, w[i])` for every element, in parallel chunks.
fn apply(w: &[f32], row_len: usize, f: impl Fn(usize, f32) -> f32 + Sync) -> Vec<f32> {
    let (out, _) = build_in_chunks(w.len(), CHUNK, |chunk, o: &mut [f32]| {
        let first = chunk * CHUNK;
        for (i, (y, &v)) in o.iter_mut().zip(&w[first..]).enumerate() {
            *y = f((first + i) / row_len, v);
        }
    });
    out
}

/// The fake-quantized weight (value `w + (q − w)`) and the scale(s) used: one per SAWB row,
/// or the single min-max step.
pub fn quantize_weight_rule(w: &[f32], rule: WeightRule) -> (Vec<f32>, Vec<f32>) {
    match rule {
        WeightRule::Sawb {
            c1,
            c2,
            steps,
            rows,
            clipped,
        } => {
            let row_len = (w.len() / rows.max(1)).max(1);
            let scales: Vec<f32> = w
                .par_chunks(row_len)
                .map(|row| sawb_row_scale(row, c1, c2))
                .collect();
            let n = steps as f64;
            let (to_grid, from_grid) = (n as f32, (2.0 / n) as f32);
            let quantize = |alpha: f32, v: f32| {
                let u = (v / alpha).clamp(-1.0, 1.0) * 0.5 + 0.5;
                (round_half_even_small(u * to_grid) * from_grid - 1.0) * alpha
            };
            let out = apply(w, row_len, |r, v| {
                let alpha = scales[r];
                let q = quantize(alpha, v);
                // The clipped STE outputs q itself outside the clip (`w + (q − w)` inside).
                if clipped && v.abs() > alpha {
                    q
                } else {
                    straight_through(v, q)
                }
            });
            (out, scales)
        }
        WeightRule::MinMaxSymmetric { qmax } => {
            let (lo, hi) = min_max(w);
            let qmax = qmax as f32;
            let scale = (lo.abs().max(hi.abs()) / qmax).max(1e-12);
            let out = apply(w, w.len().max(1), |_, v| {
                straight_through(
                    v,
                    round_half_even_small(v / scale).clamp(-qmax, qmax) * scale,
                )
            });
            (out, vec![scale])
        }
        WeightRule::MinMaxAsymmetric { qmax } => {
            let (lo, hi) = min_max(w);
            let (lo, hi, qmax) = (lo.min(0.0), hi.max(0.0), qmax as f32);
            let scale = ((hi - lo) / qmax).max(1e-12);
            let zero_point = (-lo / scale).round_ties_even().clamp(0.0, qmax);
            let out = apply(w, w.len().max(1), |_, v| {
                let code = (round_half_even_small(v / scale) + zero_point).clamp(0.0, qmax);
                straight_through(v, (code - zero_point) * scale)
            });
            (out, vec![scale])
        }
    }
}

/// The clipped SAWB STE's backward: `dw = dy·[|w| ≤ α_row]`.
pub fn sawb_clipped_backward(w: &[f32], grad_output: &[f32], scales: &[f32]) -> Vec<f32> {
    let row_len = (w.len() / scales.len().max(1)).max(1);
    let (grad, _) = build_in_chunks(w.len(), CHUNK, |chunk, g: &mut [f32]| {
        let first = chunk * CHUNK;
        let (x, dy) = (&w[first..], &grad_output[first..]);
        for (i, ((g, &v), &d)) in g.iter_mut().zip(x).zip(dy).enumerate() {
            *g = if v.abs() > scales[(first + i) / row_len] {
                0.0
            } else {
                d
            };
        }
    });
    grad
}
