//! Weight fake-quantizers with a straight-through gradient — SAWB (pass-through or clipped
//! STE), symmetric and asymmetric min-max — as one statistics pass and one quantization pass.
//!
//! For these rules the composed form is `w + (q(w_d) − w_d)` with every statistic taken on the
//! detached `w_d`: the scale reductions (`mean_dim`, `max_dim`, each through a transposed copy
//! on flex), a dozen elementwise passes, and on the tape an add, a sub and their backward
//! steps. Here the output is `w + (q − w)` (with the clipped STE, `q` itself where `|w| > α`)
//! and the backward is the identity (clipped: `dw = dy·[|w| ≤ α]`, one pass).
//!
//! The quantizers are qfront-quant's (`Sawb`, `MinMax`, whose golden vectors pin them): their
//! scale and range come from [`Sawb::scale_from_moments`] and [`MinMax::range_from_bounds`]
//! over moments and bounds reduced here in parallel. Only the per-element step is written
//! again, with the rounding of [`super::round_half_even_small`]: qfront-quant's generic
//! `round_even` is a `rintf` call per element on baseline x86-64.

use super::{build_in_chunks, round_half_even_small};
use qfront_quant::quantizers::minmax::MinMax;
use qfront_quant::quantizers::sawb::{Sawb, SawbGradient};
use rayon::prelude::*;

/// Elements per parallel work item of the quantization pass.
const CHUNK: usize = 1 << 14;

/// A weight quantizer with a straight-through gradient, as the fused kernel runs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightRule {
    /// SAWB with one scale per row of `[rows, rest]` (1 row: per tensor).
    Sawb {
        /// The quantizer (bits, grid, coefficients, STE).
        quantizer: Sawb,
        /// Scale rows: 1 per tensor, or the output channels.
        rows: usize,
    },
    /// Min-max, symmetric or asymmetric, one range per tensor.
    MinMax(MinMax),
}

impl WeightRule {
    /// Whether the backward pass clips (SAWB's clipped STE: no gradient where `|w| > α`).
    pub fn clips(&self) -> bool {
        matches!(self, WeightRule::Sawb { quantizer, .. } if quantizer.gradient() == SawbGradient::Clipped)
    }
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

/// SAWB's fresh scale of one row, from moments summed in f64. Long rows (a per-tensor scale)
/// are summed in parallel chunks whose partial sums are added in chunk order, so the value
/// does not depend on the thread count.
fn sawb_row_scale(row: &[f32], quantizer: &Sawb) -> f32 {
    let moments = |part: &[f32]| {
        part.iter().fold((0.0f64, 0.0f64, 0.0f64), |acc, &v| {
            let v = v as f64;
            (acc.0 + v * v, acc.1 + v.abs(), acc.2.max(v.abs()))
        })
    };
    let partials: Vec<(f64, f64, f64)> = if row.len() > CHUNK {
        row.par_chunks(CHUNK).map(moments).collect()
    } else {
        vec![moments(row)]
    };
    let (sum_sq, sum_abs, max_abs) = partials.into_iter().fold((0.0, 0.0, 0.0f64), |a, b| {
        (a.0 + b.0, a.1 + b.1, a.2.max(b.2))
    });
    quantizer.scale_from_moments(sum_sq, sum_abs, max_abs, row.len()) as f32
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
        WeightRule::Sawb { quantizer, rows } => {
            let row_len = (w.len() / rows.max(1)).max(1);
            let scales: Vec<f32> = w
                .par_chunks(row_len)
                .map(|row| sawb_row_scale(row, &quantizer))
                .collect();
            let n = quantizer.steps() as f64;
            let (to_grid, from_grid) = (n as f32, (2.0 / n) as f32);
            let clipped = rule.clips();
            let out = apply(w, row_len, |r, v| {
                let alpha = scales[r];
                let u = (v / alpha).clamp(-1.0, 1.0) * 0.5 + 0.5;
                let q = (round_half_even_small(u * to_grid) * from_grid - 1.0) * alpha;
                // The clipped STE outputs q itself outside the clip (`w + (q − w)` inside).
                if clipped && v.abs() > alpha {
                    q
                } else {
                    straight_through(v, q)
                }
            });
            (out, scales)
        }
        WeightRule::MinMax(quantizer) => {
            let (lo, hi) = min_max(w);
            let range = quantizer.range_from_bounds(lo, hi);
            let out = apply(w, w.len().max(1), |_, v| {
                let code = (round_half_even_small(v / range.scale) + range.zero_point)
                    .clamp(range.qmin, range.qmax);
                straight_through(v, (code - range.zero_point) * range.scale)
            });
            (out, vec![range.scale])
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
