//! Integer codes of a trained weight tensor: the fake-quantized weights the model uses in
//! evaluation, divided by the step of their grid.
//!
//! | quantizer | step `s_o` | doubled zero point `z₂` | codes |
//! |---|---|---|---|
//! | SAWB no-zero (`n = 2^b − 1`) | `2α_o/n` | −1 (levels are odd half-steps) | `[−2^(b−1), 2^(b−1) − 1]` |
//! | SAWB zero-aligned (`n = 2^b − 2`) | `2α_o/n` | 0 | `±(2^(b−1) − 1)` |
//! | DoReFa | `2/(2^b − 1)` | −1 | as no-zero |
//! | min-max symmetric | `max\|w\|/(2^(b−1) − 1)` | 0 | `±(2^(b−1) − 1)` |
//! | min-max asymmetric | `(max − min)/(2^b − 1)` | `2·(zp − 2^(b−1))` | `q − 2^(b−1)` |
//! | LSQ | learned `s` | 0 | `[−2^(b−1), 2^(b−1) − 1]` |
//!
//! with `w = s_o·(c − z₂/2)`. The step is recomputed on the host from the same statistics
//! the layer uses (SAWB: the EMA scale kept for evaluation); each code is then
//! `round(w_q/s_o + z₂/2)` and must land within 0.02 of an integer, or the export fails.

use crate::layers::QuantWeight;
use crate::quantize::WeightQuantizer;
use crate::{Result, TrainError};
use burn::tensor::Tensor;
use qfront_quant::packing::code_range;
use qfront_quant::quantizers::minmax::MinMaxMode;
use qfront_quant::quantizers::sawb::{sawb_coefficients, SawbGrid, ScaleGranularity};
use qfront_rt::format::QuantizedWeights;

/// The host copy of a 1-D or N-D tensor.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn fail(layer: &str, reason: impl Into<String>) -> TrainError {
    TrainError::Export {
        layer: layer.into(),
        reason: reason.into(),
    }
}

/// Steps and doubled zero points per row (or one for the tensor).
fn grid<const D: usize>(
    layer: &str,
    qw: &QuantWeight<D>,
    w: &[f32],
    rows: usize,
) -> Result<(Vec<f64>, Vec<i32>)> {
    let bits = qw.bits;
    let b = bits.get();
    Ok(match qw.quantizer {
        WeightQuantizer::Sawb {
            grid, granularity, ..
        } => {
            let channels = match granularity {
                ScaleGranularity::PerTensor => 1,
                ScaleGranularity::PerOutputChannel => rows,
            };
            let per = w.len() / channels;
            let stored = values(qw.scale_ema.value());
            let coefficients = sawb_coefficients(grid, bits);
            let n = grid.steps(bits) as f64;
            let mut steps = Vec::with_capacity(channels);
            for ch in 0..channels {
                let part = &w[ch * per..(ch + 1) * per];
                let alpha = if stored.get(ch).is_some_and(|&a| a != 0.0) {
                    stored[ch] as f64
                } else {
                    let m = part.len() as f64;
                    let rms = (part.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / m).sqrt();
                    let mean_abs = part.iter().map(|&v| (v as f64).abs()).sum::<f64>() / m;
                    let formula = coefficients.c1 * rms - coefficients.c2 * mean_abs;
                    if formula <= 0.0 {
                        part.iter().map(|&v| (v as f64).abs()).fold(0.0, f64::max)
                    } else {
                        formula
                    }
                };
                steps.push(2.0 * alpha / n);
            }
            let z2 = match grid {
                SawbGrid::NoZero => -1,
                SawbGrid::ZeroAligned => 0,
            };
            (steps, vec![z2])
        }
        WeightQuantizer::Dorefa => (vec![2.0 / ((1u64 << b) - 1) as f64], vec![-1]),
        WeightQuantizer::MinMax { mode } => match mode {
            MinMaxMode::Symmetric => {
                let qmax = ((1u64 << (b - 1)) - 1) as f64;
                let max = w.iter().map(|&v| (v as f64).abs()).fold(0.0, f64::max);
                (vec![(max / qmax).max(1e-12)], vec![0])
            }
            MinMaxMode::Asymmetric => {
                let qmax = ((1u64 << b) - 1) as f64;
                let lo = w.iter().copied().fold(f32::INFINITY, f32::min).min(0.0) as f64;
                let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max).max(0.0) as f64;
                let scale = ((hi - lo) / qmax).max(1e-12);
                let zero_point = (-lo / scale).round().clamp(0.0, qmax) as i32;
                (vec![scale], vec![2 * (zero_point - (1 << (b - 1)))])
            }
        },
        WeightQuantizer::Lsq => {
            let step = qw
                .lsq_step
                .as_ref()
                .map(|s| values(s.val())[0] as f64)
                .ok_or_else(|| fail(layer, "an LSQ layer without its step"))?;
            (vec![step], vec![0])
        }
    })
}

/// The codes of `qw` as a `[rows, columns]` matrix, with `columns` reordered by `order`
/// (`order[new] = old`; identity when `None`).
pub(crate) fn quantized_weights<const D: usize>(
    layer: &str,
    qw: &QuantWeight<D>,
    order: Option<&[usize]>,
) -> Result<QuantizedWeights> {
    let bits = qw.bits;
    if bits.is_full_precision() || bits.get() > 8 {
        return Err(fail(layer, format!("{}-bit weights; the runtime executes 2..=8 bits (train with --wbits/--first-bits/--last-bits ≤ 8)", bits.get())));
    }
    let dims = qw.weight.val().dims();
    let rows = dims[0];
    let raw = values(qw.weight.val());
    let quantized = values(qw.quantized());
    let columns = raw.len() / rows;
    let (steps, z2) = grid(layer, qw, &raw, rows)?;
    let (lo, hi) = code_range(bits);
    let mut codes = vec![0i8; rows * columns];
    for o in 0..rows {
        let step = if steps.len() == 1 { steps[0] } else { steps[o] };
        let z = if z2.len() == 1 { z2[0] } else { z2[o] } as f64 / 2.0;
        for new in 0..columns {
            let old = order.map_or(new, |ord| ord[new]);
            let x = quantized[o * columns + old] as f64 / step + z;
            let c = x.round();
            if (x - c).abs() > 1e-3 || c < lo as f64 || c > hi as f64 {
                return Err(fail(layer, format!("weight [{o}, {old}] = {} is off the {}-bit grid of step {step:.6e} (code {x:.3}); the model and its quantizer settings disagree", quantized[o * columns + old], bits.get())));
            }
            codes[o * columns + new] = c as i8;
        }
    }
    Ok(QuantizedWeights {
        codes,
        rows,
        columns,
        bits: bits.get(),
        scale: steps.iter().map(|&s| s as f32).collect(),
        zero_point_x2: z2,
    })
}
