//! Weight quantizers on tensors: SAWB (per tensor / per output channel, EMA scale in
//! evaluation), DoReFa, min-max and LSQ. The weight's first dimension is the output channel.

use super::config::WeightQuantizer;
use crate::kernels::{self, weight_quant::WeightRule};
use burn::module::RunningState;
use burn::tensor::Tensor;
use qfront_quant::quantizers::minmax::{MinMax, MinMaxMode};
use qfront_quant::quantizers::sawb::{sawb_coefficients, Sawb, SawbGradient, ScaleGranularity};
use qfront_quant::BitWidth;

/// The EMA of the SAWB scale kept by a layer (one entry per tensor or per output channel;
/// zero means "not yet set", so the first training step resets it, as S2 `SAWB_rc` does).
pub type WeightScale = RunningState<Tensor<1>>;

/// SAWB EMA momentum (S2 `movAvgFac`).
const SAWB_EMA_MOMENTUM: f64 = 0.1;

/// Fake-quantizes a weight tensor of rank `D` (`[out, …]`).
///
/// `training` selects the fresh statistics (and updates the EMA); otherwise SAWB uses the EMA
/// scale. `lsq_step` is the learned step of an LSQ layer.
pub fn quantize_weight<const D: usize>(
    w: Tensor<D>,
    quantizer: &WeightQuantizer,
    bits: BitWidth,
    ema: &WeightScale,
    lsq_step: Option<Tensor<1>>,
    training: bool,
) -> Tensor<D> {
    if bits.is_full_precision() {
        return w;
    }
    if training && kernels::supports(w.dtype()) {
        if let Some(rule) = straight_through_rule(quantizer, bits, w.dims()[0]) {
            let (quantized, scales) = kernels::fused_quantize_weight(w, rule);
            if let WeightRule::Sawb { .. } = rule {
                update_sawb_ema(ema, scales);
            }
            return quantized;
        }
    }
    match *quantizer {
        WeightQuantizer::Sawb {
            grid,
            granularity,
            gradient,
        } => {
            let shape = w.shape();
            let dims = shape.dims::<D>();
            let channels = match granularity {
                ScaleGranularity::PerTensor => 1,
                ScaleGranularity::PerOutputChannel => dims[0],
            };
            let w_d = w.clone().detach();
            let rows: Tensor<2> = w_d.clone().reshape([channels as i64, -1]);
            let coefficients = sawb_coefficients(grid, bits);
            let rms = rows.clone().powf_scalar(2.0).mean_dim(1).sqrt();
            let mean_abs = rows.clone().abs().mean_dim(1);
            let max_abs = rows.abs().max_dim(1);
            let formula = rms.mul_scalar(coefficients.c1) - mean_abs.mul_scalar(coefficients.c2);
            let fresh = formula
                .clone()
                .mask_where(formula.lower_equal_elem(0.0), max_abs)
                .reshape([channels]);
            let alpha = if training {
                update_sawb_ema(ema, fresh.clone());
                fresh
            } else {
                let stored = ema.value_sync().to_device(&fresh.device());
                let unset = stored.clone().equal_elem(0.0);
                stored.mask_where(unset, fresh)
            };
            let mut alpha_shape = [1usize; D];
            alpha_shape[0] = channels;
            let a = alpha.reshape(alpha_shape).expand(shape);
            let n = grid.steps(bits) as f64;
            let u = w_d
                .clone()
                .div(a.clone())
                .clamp(-1.0, 1.0)
                .mul_scalar(0.5)
                .add_scalar(0.5);
            let q = u
                .mul_scalar(n)
                .round()
                .mul_scalar(2.0 / n)
                .sub_scalar(1.0)
                .mul(a.clone());
            let ste = w.clone() + (q.clone() - w_d.clone());
            match gradient {
                SawbGradient::PassThrough => ste,
                SawbGradient::Clipped => ste.mask_where(w_d.abs().greater(a), q),
            }
        }
        WeightQuantizer::Dorefa => {
            let shape = w.shape();
            let n = bits.unsigned_steps() as f64;
            let t = w.tanh();
            // The max keeps its gradient, as autograd would give it (qfront-quant's DoReFa).
            let m = t
                .clone()
                .abs()
                .max()
                .clamp_min(1e-12)
                .reshape([1; D])
                .expand(shape);
            let surrogate = t.div(m);
            let s_d = surrogate.clone().detach();
            let q = s_d
                .clone()
                .mul_scalar(0.5)
                .add_scalar(0.5)
                .mul_scalar(n)
                .round()
                .mul_scalar(2.0 / n)
                .sub_scalar(1.0);
            surrogate + (q - s_d)
        }
        WeightQuantizer::MinMax { mode } => {
            let w_d = w.clone().detach();
            let q = match mode {
                MinMaxMode::Symmetric => {
                    let qmax = ((1u64 << (bits.get() - 1)) - 1) as f64;
                    let scale = w_d
                        .clone()
                        .abs()
                        .max()
                        .div_scalar(qmax)
                        .clamp_min(1e-12)
                        .reshape([1; D])
                        .expand(w_d.shape());
                    w_d.clone()
                        .div(scale.clone())
                        .round()
                        .clamp(-qmax, qmax)
                        .mul(scale)
                }
                MinMaxMode::Asymmetric => {
                    let qmax = bits.unsigned_steps() as f64;
                    let lo = w_d.clone().min().clamp_max(0.0);
                    let hi = w_d.clone().max().clamp_min(0.0);
                    let scale = (hi - lo.clone()).div_scalar(qmax).clamp_min(1e-12);
                    let zero_point = lo.neg().div(scale.clone()).round().clamp(0.0, qmax);
                    let s = scale.reshape([1; D]).expand(w_d.shape());
                    let z = zero_point.reshape([1; D]).expand(w_d.shape());
                    (w_d.clone().div(s.clone()).round() + z.clone())
                        .clamp(0.0, qmax)
                        .sub(z)
                        .mul(s)
                }
            };
            w.clone() + (q - w_d)
        }
        WeightQuantizer::Lsq => {
            let step = lsq_step.expect("an LSQ layer always carries its step");
            let (qn, qp) = (
                (1u64 << (bits.get() - 1)) as f64,
                ((1u64 << (bits.get() - 1)) - 1) as f64,
            );
            let numel = w.shape().num_elements() as f64;
            let g = 1.0 / (numel * qp).sqrt();
            // Gradient scaling trick of the LSQ paper: forward value s, gradient g·∂L/∂s.
            let s = step.clone().mul_scalar(g) + (step.clone() - step.mul_scalar(g)).detach();
            let s = s.reshape([1; D]).expand(w.shape());
            let v = w.div(s.clone()).clamp(-qn, qp);
            let rounded = v.clone() + (v.clone().round() - v).detach();
            rounded.mul(s)
        }
    }
}

/// `ema ← (1 − m)·ema + m·fresh`, or `fresh` where the EMA is still unset (zero), as S2's
/// `SAWB_rc` resets it on the first training step.
fn update_sawb_ema(ema: &WeightScale, fresh: Tensor<1>) {
    let stored = ema.value_sync().to_device(&fresh.device());
    let unset = stored.clone().equal_elem(0.0);
    let updated = stored
        .mul_scalar(1.0 - SAWB_EMA_MOMENTUM)
        .add(fresh.clone().mul_scalar(SAWB_EMA_MOMENTUM));
    ema.update(updated.mask_where(unset, fresh.detach()).detach());
}

/// The fused kernel's rule for the straight-through quantizers (SAWB with either STE,
/// min-max); `None` for DoReFa and LSQ, whose gradients go through the scale and stay composed.
fn straight_through_rule(
    quantizer: &WeightQuantizer,
    bits: BitWidth,
    out_channels: usize,
) -> Option<WeightRule> {
    match *quantizer {
        WeightQuantizer::Sawb {
            grid,
            granularity,
            gradient,
        } => Some(WeightRule::Sawb {
            quantizer: Sawb::new(bits.get(), grid, gradient).ok()?,
            rows: match granularity {
                ScaleGranularity::PerTensor => 1,
                ScaleGranularity::PerOutputChannel => out_channels,
            },
        }),
        WeightQuantizer::MinMax { mode } => {
            Some(WeightRule::MinMax(MinMax::new(bits.get(), mode).ok()?))
        }
        _ => None,
    }
}
