//! The flex implementation of [`QatKernels`]: tensors in, slice kernels, tensors out.

use super::batch_norm::{batch_norm_forward, batch_statistics, inverse_std, NormGeometry};
use super::conv::{conv2d_forward, ConvGeometry};
use super::max_pool::{max_pool_forward, PoolGeometry};
use super::pact::pact_forward;
use super::token_pool::{masked_max_forward, TokenGeometry};
use super::weight_quant::{quantize_weight_rule, WeightRule};
use super::QatKernels;
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::{Shape, TensorData};

/// The tensor's elements as a contiguous f32 slice (copying only when it is a strided view).
pub(super) fn contiguous(tensor: FlexTensor) -> FlexTensor {
    if tensor.as_slice::<f32>().is_some() {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

/// The f32 elements of a tensor made [`contiguous`].
pub(super) fn values(tensor: &FlexTensor) -> &[f32] {
    tensor
        .as_slice::<f32>()
        .expect("the fused kernels take contiguous f32 tensors (checked by the wrappers)")
}

/// A new flex tensor owning `data`.
pub(super) fn tensor(data: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

/// The single value of a one-element tensor.
pub(super) fn scalar(tensor: &FlexTensor) -> f32 {
    contiguous(tensor.clone()).as_slice::<f32>().expect("f32")[0]
}

/// The geometry of `x` (NCHW) convolved with `weight` (`[out, in, kh, kw]`).
pub(super) fn conv_geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    stride: usize,
    padding_height: usize,
    padding_width: usize,
) -> ConvGeometry {
    let [batch, in_channels, in_height, in_width] = x.layout().shape().dims();
    let [out_channels, _, kernel_height, kernel_width] = weight.layout().shape().dims();
    ConvGeometry {
        batch,
        in_channels,
        in_height,
        in_width,
        out_channels,
        kernel_height,
        kernel_width,
        stride_height: stride,
        stride_width: stride,
        pad_height: padding_height,
        pad_width: padding_width,
    }
}

/// The geometry of a square max pooling of `x` (NCHW).
fn pool_geometry(x: &FlexTensor, kernel: usize, stride: usize) -> PoolGeometry {
    let [batch, channels, in_height, in_width] = x.layout().shape().dims();
    PoolGeometry {
        planes: batch * channels,
        in_height,
        in_width,
        kernel,
        stride,
    }
}

/// The NCHW (or `[N, C, ...]`) layout batch norm sees in `x`.
pub(super) fn norm_geometry(x: &FlexTensor) -> NormGeometry {
    let shape = x.layout().shape();
    let (batch, channels) = (shape[0], shape[1]);
    NormGeometry {
        batch,
        channels,
        plane: shape.num_elements() / (batch * channels).max(1),
    }
}

/// Training-mode batch norm on flex tensors: `(output, mean, variance, 1/√(σ² + ε))`.
pub(super) fn batch_norm_train_flex(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
) -> (FlexTensor, Vec<f32>, Vec<f32>, Vec<f32>) {
    let g = norm_geometry(x);
    let (mean, variance) = batch_statistics(values(x), &g);
    let inv_std = inverse_std(&variance, epsilon);
    let (gamma, beta) = (contiguous(gamma.clone()), contiguous(beta.clone()));
    let output = batch_norm_forward(
        values(x),
        values(&gamma),
        values(&beta),
        &mean,
        &inv_std,
        &g,
    );
    let output = tensor(output, x.layout().shape().clone());
    (output, mean, variance, inv_std)
}

/// The `[batch, tokens, dim]` layout of a token pooling input.
fn token_geometry(h: &FlexTensor) -> TokenGeometry {
    let [batch, tokens, dim] = h.layout().shape().dims();
    TokenGeometry { batch, tokens, dim }
}

/// PACT of a contiguous `x` with clip `alpha`.
pub(super) fn pact_flex(x: &FlexTensor, alpha: f32, steps: u32) -> FlexTensor {
    tensor(
        pact_forward(values(x), alpha, steps),
        x.layout().shape().clone(),
    )
}

/// The convolution of contiguous `x` and `weight` with geometry `g`.
pub(super) fn conv2d_flex(x: &FlexTensor, weight: &FlexTensor, g: &ConvGeometry) -> FlexTensor {
    let output = conv2d_forward(values(x), values(weight), g);
    let shape = Shape::new([g.batch, g.out_channels, g.out_height(), g.out_width()]);
    tensor(output, shape)
}

/// Max pooling of a contiguous `x`: the output, the argmax offsets and the geometry.
pub(super) fn max_pool_flex(
    x: &FlexTensor,
    kernel: usize,
    stride: usize,
) -> (FlexTensor, Vec<u32>, PoolGeometry) {
    let g = pool_geometry(x, kernel, stride);
    let [batch, channels, _, _] = x.layout().shape().dims();
    let (output, argmax) = max_pool_forward(values(x), &g);
    let shape = Shape::new([batch, channels, g.out_height(), g.out_width()]);
    (tensor(output, shape), argmax, g)
}

/// The max over real tokens of a contiguous `x` under a contiguous `mask`: the output, the
/// winning tokens and the geometry.
pub(super) fn masked_max_flex(
    x: &FlexTensor,
    mask: &FlexTensor,
) -> (FlexTensor, Vec<u32>, TokenGeometry) {
    let g = token_geometry(x);
    let (output, winner) = masked_max_forward(values(x), values(mask), &g);
    (tensor(output, Shape::new([g.batch, g.dim])), winner, g)
}

impl QatKernels for Flex {
    fn pact(x: FlexTensor, alpha: FlexTensor, steps: u32) -> FlexTensor {
        pact_flex(&contiguous(x), scalar(&alpha), steps)
    }

    fn conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        stride: usize,
        padding_height: usize,
        padding_width: usize,
    ) -> FlexTensor {
        let (x, weight) = (contiguous(x), contiguous(weight));
        let g = conv_geometry(&x, &weight, stride, padding_height, padding_width);
        conv2d_flex(&x, &weight, &g)
    }

    fn batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let x = contiguous(x);
        let channels = x.layout().shape()[1];
        let (output, mean, variance, _) = batch_norm_train_flex(&x, &gamma, &beta, epsilon);
        let per_channel = || Shape::new([channels]);
        (
            output,
            tensor(mean, per_channel()),
            tensor(variance, per_channel()),
        )
    }

    fn quantize_weight_ste(weight: FlexTensor, rule: WeightRule) -> (FlexTensor, FlexTensor) {
        let weight = contiguous(weight);
        let (output, scales) = quantize_weight_rule(values(&weight), rule);
        let count = scales.len();
        (
            tensor(output, weight.layout().shape().clone()),
            tensor(scales, Shape::new([count])),
        )
    }

    fn masked_max_tokens(x: FlexTensor, mask: FlexTensor) -> FlexTensor {
        masked_max_flex(&contiguous(x), &contiguous(mask)).0
    }

    fn max_pool2d(x: FlexTensor, kernel: usize, stride: usize) -> FlexTensor {
        max_pool_flex(&contiguous(x), kernel, stride).0
    }
}
