//! A weight tensor with its quantizer: float master copy, SAWB scale EMA, LSQ step.

use super::init::ParamInit;
use crate::quantize::{quantize_weight, WeightQuantizer};
use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor};
use qfront_quant::BitWidth;

/// A quantized weight of rank `D`, output channel first.
#[derive(Module, Debug)]
pub struct QuantWeight<const D: usize> {
    /// The float master weights the optimizer updates.
    pub weight: Param<Tensor<D>>,
    /// EMA of the SAWB scale (per tensor or per output channel).
    pub scale_ema: RunningState<Tensor<1>>,
    /// The learned step of LSQ (present only for LSQ).
    pub lsq_step: Option<Param<Tensor<1>>>,
    /// Weight quantizer.
    #[module(skip)]
    pub quantizer: WeightQuantizer,
    /// Weight bits (32 = float).
    #[module(skip)]
    pub bits: BitWidth,
}

impl<const D: usize> QuantWeight<D> {
    /// Wraps an initial weight.
    pub fn new(
        weight: Tensor<D>,
        quantizer: WeightQuantizer,
        bits: BitWidth,
        device: &Device,
    ) -> Self {
        let out_channels = weight.dims()[0];
        let scale_len = match quantizer {
            WeightQuantizer::Sawb {
                granularity: qfront_quant::quantizers::sawb::ScaleGranularity::PerOutputChannel,
                ..
            } => out_channels,
            _ => 1,
        };
        let lsq_step = match quantizer {
            WeightQuantizer::Lsq if !bits.is_full_precision() => {
                let qp = ((1u64 << (bits.get() - 1)) - 1) as f64;
                let init = weight
                    .clone()
                    .abs()
                    .mean()
                    .mul_scalar(2.0 / qp.sqrt())
                    .clamp_min(1e-6);
                Some(Param::from_tensor(init))
            }
            _ => None,
        };
        Self {
            weight: Param::from_tensor(weight),
            scale_ema: RunningState::new(Tensor::zeros([scale_len], device)),
            lsq_step,
            quantizer,
            bits,
        }
    }

    /// He-uniform initialised weight of `shape` with the given fan-in.
    pub fn init(
        shape: [usize; D],
        fan_in: usize,
        quantizer: WeightQuantizer,
        bits: BitWidth,
        init: &mut ParamInit,
        device: &Device,
    ) -> Self {
        Self::new(
            init.he_uniform(shape, fan_in, device),
            quantizer,
            bits,
            device,
        )
    }

    /// The fake-quantized weight used in the forward pass.
    pub fn quantized(&self) -> Tensor<D> {
        let w = self.weight.val();
        let training = w.device().is_autodiff();
        quantize_weight(
            w,
            &self.quantizer,
            self.bits,
            &self.scale_ema,
            self.lsq_step.as_ref().map(|s| s.val()),
            training,
        )
    }
}
