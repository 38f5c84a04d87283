//! Fused CPU kernels for the training hot path, plugged into burn as a backend extension.
//!
//! The composed burn forms of convolution, PACT, batch norm, pooling and the weight quantizers
//! cost several full-size passes each on the flex backend (see each kernel's module for the
//! profile that motivated it). Each operation here is one [`QatKernels`] method with a flex
//! implementation (`flex`) over the slice kernels ([`conv`], [`pact`], [`batch_norm`],
//! [`max_pool`], [`token_pool`], [`weight_quant`]) and an autodiff implementation (`autodiff`)
//! with its own backward pass, following burn's backend-extension mechanism
//! (`#[backend_extension]` + a handwritten `Autodiff<B, C>` implementation).
//!
//! The wrappers below take and return ordinary `Tensor`s and fall back to the composed burn
//! operations when a case is outside what the kernels do (non-f32 data, grouped or dilated
//! convolutions, a kernel larger than its input, inference-mode batch norm), so callers never
//! need to know which path ran. The tests (`tests/fused_kernels.rs`) compare every kernel with
//! the composed burn form, values and gradients, on seeded random inputs.

mod autodiff;
pub mod batch_norm;
pub mod conv;
mod flex;
pub mod max_pool;
pub mod pact;
pub mod token_pool;
pub mod weight_quant;

use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch};
use burn::module::RunningState;
use burn::nn::BatchNorm;
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use weight_quant::WeightRule;

/// The fused training kernels as a burn backend extension (flex, and autodiff over flex).
#[backend_extension(Flex, Autodiff)]
pub trait QatKernels: Backend {
    /// PACT on any tensor with a one-element clip `alpha`; `steps = 2ᵇ − 1`, 0 for no rounding.
    fn pact(x: FloatTensor<Self>, alpha: FloatTensor<Self>, steps: u32) -> FloatTensor<Self>;

    /// Dense 2-D convolution without bias, NCHW, `weight` `[out, in, kh, kw]`.
    fn conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding_height: usize,
        padding_width: usize,
    ) -> FloatTensor<Self>;

    /// Square max pooling without padding on NCHW input.
    fn max_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self>;

    /// A weight fake-quantized by a straight-through `rule`: `(w + (q − w), scales)`; the
    /// scales (per SAWB row, or the min-max step) are not differentiable.
    fn quantize_weight_ste(
        weight: FloatTensor<Self>,
        rule: WeightRule,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Max over the real tokens: `x` `[batch, tokens, dim]`, `mask` `[batch, tokens]` of 0/1
    /// (not differentiated) → `[batch, dim]`.
    fn masked_max_tokens(x: FloatTensor<Self>, mask: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Training-mode batch norm over `[N, C, ...]`: `(output, batch mean, biased variance)`;
    /// only the output is differentiable.
    fn batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// PACT through the fused kernel (paper gradient); `steps` as in [`QatKernels::pact`].
/// The caller checks [`supports`] first.
pub fn fused_pact<const D: usize>(x: Tensor<D>, alpha: Tensor<1>, steps: u32) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as QatKernels>::pact(
        x.into_dispatch(),
        alpha.into_dispatch(),
        steps,
    ))
}

/// Whether the fused kernels handle tensors of this data type (f32, the training type).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}

/// 2-D convolution with optional bias: the fused kernel for dense, undilated, square-stride
/// f32 convolutions whose kernel fits the padded input, burn's `conv2d` otherwise.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let [_, _, kernel_height, kernel_width] = weight.dims();
    // A kernel larger than the padded input (refused when a model is built) stays burn's.
    let fits = kernel_height <= height + 2 * options.padding[0].0
        && kernel_width <= width + 2 * options.padding[1].0;
    let fused = supports(x.dtype())
        && fits
        && options.groups == 1
        && options.dilation == [1, 1]
        && options.stride[0] == options.stride[1]
        && !options.is_asymmetric();
    if !fused {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    }
    let output = Tensor::from_dispatch(<Dispatch as QatKernels>::conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options.stride[0],
        options.padding[0].0,
        options.padding[1].0,
    ));
    match bias {
        Some(bias) => {
            let channels = bias.dims()[0];
            output + bias.reshape([1, channels, 1, 1])
        }
        None => output,
    }
}

/// `bn.forward(x)` with the training-mode normalization through the fused kernel: the same
/// batch statistics, output, gradients and running-statistics update
/// (`r ← (1 − m)·r + m·batch`) as burn's `BatchNorm::forward`; inference and non-f32 inputs
/// go to burn's own.
pub fn batch_norm<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    if !(x.device().is_autodiff() && bn.training.is_enabled() && supports(x.dtype())) {
        return bn.forward(x);
    }
    let device = x.device();
    let (output, mean, variance) = <Dispatch as QatKernels>::batch_norm_train(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
    );
    let update = |running: &RunningState<Tensor<1>>, batch: Tensor<1>| {
        let value = running
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(batch.detach().mul_scalar(bn.momentum));
        running.update(value.detach());
    };
    update(&bn.running_mean, Tensor::from_dispatch(mean));
    update(&bn.running_var, Tensor::from_dispatch(variance));
    Tensor::from_dispatch(output)
}

/// A weight fake-quantized by a straight-through rule through the fused kernel:
/// `(quantized weight, scales)`. The caller checks [`supports`] first.
pub fn fused_quantize_weight<const D: usize>(
    weight: Tensor<D>,
    rule: WeightRule,
) -> (Tensor<D>, Tensor<1>) {
    let (output, scales) =
        <Dispatch as QatKernels>::quantize_weight_ste(weight.into_dispatch(), rule);
    (Tensor::from_dispatch(output), Tensor::from_dispatch(scales))
}

/// Max over the real tokens through the fused kernel (`h` `[batch, tokens, dim]`, `mask`
/// `[batch, tokens]` of 0/1); the values and gradients of `(h·m + (m − 1)·10⁴).max_dim(1)`.
/// The caller checks [`supports`] first.
pub fn fused_masked_max_tokens(h: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as QatKernels>::masked_max_tokens(
        h.into_dispatch(),
        mask.into_dispatch(),
    ))
}

/// Square max pooling without padding (floor mode): the fused kernel for f32, burn's
/// `max_pool2d` otherwise.
pub fn max_pool2d(x: Tensor<4>, kernel: usize, stride: usize) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    if !supports(x.dtype()) || kernel > height || kernel > width {
        let options = MaxPoolOptions::new([kernel, kernel]).with_stride([stride, stride]);
        return burn::tensor::module::max_pool2d(x, options);
    }
    Tensor::from_dispatch(<Dispatch as QatKernels>::max_pool2d(
        x.into_dispatch(),
        kernel,
        stride,
    ))
}

/// `round_ties_even` for `|v| ≤ 2²²` by the float trick: adding `1.5·2²³` leaves no
/// fraction bits, so the hardware rounds (to nearest, ties to even, the default mode) and the
/// subtraction is exact. `f32::round_ties_even` compiles to a `rintf` call on baseline x86-64
/// (no SSE4.1 `roundps`), one call per element, which profiled at 5.6% of a QAT step; this form
/// vectorizes. Grid positions and codes are at most `2⁸ − 1` in magnitude, far inside the
/// range.
#[inline(always)]
pub(crate) fn round_half_even_small(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
    (v + MAGIC) - MAGIC
}

/// A `len`-element buffer built in parallel: split into chunks of `chunk` elements, each
/// zero-filled by the worker that then passes it to `fill(chunk index, chunk)`; returns the
/// buffer and the per-chunk results in chunk order.
///
/// `vec![0.0; len]` cleared every output on the calling thread while the workers waited
/// (the allocator keeps freed buffers, so `calloc` must clear them): `memset` was 3.6% of
/// all samples of a float LeNet step at 2 threads. Here each chunk is cleared in parallel,
/// in cache just before use (float step 24.1 → 23.7 ms).
pub(crate) fn build_in_chunks<T, R>(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [T]) -> R + Sync + Send,
) -> (Vec<T>, Vec<R>)
where
    T: Copy + Default + Send + Sync,
    R: Send,
{
    let mut buffer: Vec<T> = Vec::with_capacity(len);
    let results: Vec<R> = buffer.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .map(|(index, part)| {
            for slot in part.iter_mut() {
                slot.write(T::default());
            }
            // SAFETY: every element of `part` was initialized just above.
            let part = unsafe { &mut *(part as *mut [MaybeUninit<T>] as *mut [T]) };
            fill(index, part)
        })
        .collect();
    // SAFETY: the chunks cover `0..len`, and each was initialized in the loop above.
    unsafe { buffer.set_len(len) };
    (buffer, results)
}
