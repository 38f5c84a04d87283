//! 2-D convolution as im2col + GEMM on plain slices, forward and both backward products.
//!
//! Layouts are NCHW for activations and `[out, in, kh, kw]` for weights. Per sample, with
//! `K = in·kh·kw` (the patch length) and `P = out_h·out_w` (the output plane),
//!
//! * forward:  `y[n] (out×P) = W (out×K) · col(x[n]) (K×P)`;
//! * input gradient:  `dx[n] = col2im(Wᵀ (K×out) · dy[n] (out×P))`;
//! * weight gradient: `dW (out×K) = Σₙ dy[n] (out×P) · col(x[n])ᵀ (P×K)`.
//!
//! burn's flex backend computes the weight gradient as a convolution of the batch-transposed
//! input with the batch-transposed output gradient as a `H×W` kernel, which turns a small GEMM
//! into an im2col over the whole batch per output pixel; profiling put that, the transposes and
//! the generic conv3d-shaped im2col at about 40% of a LeNet training step. Written by hand
//! because no crate offers a training convolution on CPU slices; the GEMMs are the `gemm`
//! crate's (the one burn itself uses), so only the data movement is ours.
//!
//! Work is split into fixed-size chunks of samples, so reductions over the batch (the weight
//! gradient) add partial sums in the same order whatever the thread count: results are
//! reproducible run to run.

use super::build_in_chunks;
use rayon::prelude::*;

/// Samples per parallel work item (also the granularity of the weight-gradient partial sums).
const SAMPLES_PER_CHUNK: usize = 4;

/// Shapes and hyper-parameters of one dense (groups = 1) 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch size `N`.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input height.
    pub in_height: usize,
    /// Input width.
    pub in_width: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height.
    pub kernel_height: usize,
    /// Kernel width.
    pub kernel_width: usize,
    /// Vertical stride.
    pub stride_height: usize,
    /// Horizontal stride.
    pub stride_width: usize,
    /// Zero padding above and below.
    pub pad_height: usize,
    /// Zero padding left and right.
    pub pad_width: usize,
}

impl ConvGeometry {
    /// Output height `⌊(H + 2p − k)/s⌋ + 1`.
    pub fn out_height(&self) -> usize {
        (self.in_height + 2 * self.pad_height - self.kernel_height) / self.stride_height + 1
    }

    /// Output width `⌊(W + 2p − k)/s⌋ + 1`.
    pub fn out_width(&self) -> usize {
        (self.in_width + 2 * self.pad_width - self.kernel_width) / self.stride_width + 1
    }

    /// Patch length `K = in·kh·kw` (the GEMM's inner dimension).
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel_height * self.kernel_width
    }

    /// Output plane `P = out_h·out_w`.
    pub fn out_plane(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Elements of one input sample.
    pub fn in_sample_len(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }

    /// Elements of one output sample.
    pub fn out_sample_len(&self) -> usize {
        self.out_channels * self.out_plane()
    }

    /// A 1×1, stride-1, unpadded convolution reads the input as its own im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel_height == 1
            && self.kernel_width == 1
            && self.stride_height == 1
            && self.stride_width == 1
            && self.pad_height == 0
            && self.pad_width == 0
    }
}

/// Writes the im2col matrix (K×P, row-major) of one input sample; padding reads as zero.
fn im2col(sample: &[f32], g: &ConvGeometry, col: &mut [f32]) {
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let plane = out_h * out_w;
    let mut row = 0;
    for channel in 0..g.in_channels {
        let input = &sample[channel * g.in_height * g.in_width..][..g.in_height * g.in_width];
        for ky in 0..g.kernel_height {
            for kx in 0..g.kernel_width {
                let dst = &mut col[row * plane..][..plane];
                for oy in 0..out_h {
                    let line = &mut dst[oy * out_w..][..out_w];
                    let iy = (oy * g.stride_height + ky) as isize - g.pad_height as isize;
                    if iy < 0 || iy >= g.in_height as isize {
                        line.fill(0.0);
                        continue;
                    }
                    let src = &input[iy as usize * g.in_width..][..g.in_width];
                    copy_line(src, line, kx, g.stride_width, g.pad_width);
                }
                row += 1;
            }
        }
    }
}

/// At stride 1, the output columns `first..last` whose input column `ox + offset` lies inside
/// `0..width`, and the input column `start` of `first`.
#[inline]
fn valid_columns(offset: isize, width: isize, out_width: usize) -> (usize, usize, usize) {
    let first = (-offset).clamp(0, out_width as isize) as usize;
    let last = (width - offset).clamp(first as isize, out_width as isize) as usize;
    (first, last, (first as isize + offset) as usize)
}

/// `line[ox] = src[ox·s + kx − pad]`, zero outside `src`.
#[inline]
fn copy_line(src: &[f32], line: &mut [f32], kx: usize, stride: usize, pad: usize) {
    let width = src.len() as isize;
    let offset = kx as isize - pad as isize;
    if stride == 1 {
        let (first, last, start) = valid_columns(offset, width, line.len());
        line[..first].fill(0.0);
        line[first..last].copy_from_slice(&src[start..start + (last - first)]);
        line[last..].fill(0.0);
    } else {
        for (ox, value) in line.iter_mut().enumerate() {
            let ix = (ox * stride) as isize + offset;
            *value = if ix >= 0 && ix < width {
                src[ix as usize]
            } else {
                0.0
            };
        }
    }
}

/// Adds the columns of `col` (K×P) back into one input-gradient sample (the adjoint of
/// [`im2col`]).
fn col2im_add(col: &[f32], g: &ConvGeometry, sample: &mut [f32]) {
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let plane = out_h * out_w;
    let width = g.in_width as isize;
    let mut row = 0;
    for channel in 0..g.in_channels {
        let input = &mut sample[channel * g.in_height * g.in_width..][..g.in_height * g.in_width];
        for ky in 0..g.kernel_height {
            for kx in 0..g.kernel_width {
                let src = &col[row * plane..][..plane];
                let offset = kx as isize - g.pad_width as isize;
                for oy in 0..out_h {
                    let iy = (oy * g.stride_height + ky) as isize - g.pad_height as isize;
                    if iy < 0 || iy >= g.in_height as isize {
                        continue;
                    }
                    let dst = &mut input[iy as usize * g.in_width..][..g.in_width];
                    let line = &src[oy * out_w..][..out_w];
                    if g.stride_width == 1 {
                        let (first, last, start) = valid_columns(offset, width, out_w);
                        for (d, s) in dst[start..start + (last - first)]
                            .iter_mut()
                            .zip(&line[first..last])
                        {
                            *d += s;
                        }
                    } else {
                        for (ox, value) in line.iter().enumerate() {
                            let ix = (ox * g.stride_width) as isize + offset;
                            if ix >= 0 && ix < width {
                                dst[ix as usize] += value;
                            }
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)` with explicit row/column strides, one thread.
#[allow(clippy::too_many_arguments)]
fn matmul(
    dst: &mut [f32],
    accumulate: bool,
    (m, n, k): (usize, usize, usize),
    lhs: &[f32],
    (lhs_row_stride, lhs_col_stride): (usize, usize),
    rhs: &[f32],
    (rhs_row_stride, rhs_col_stride): (usize, usize),
) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    assert!(
        m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_row_stride + (k - 1) * lhs_col_stride,
        "matmul: left operand too small"
    );
    assert!(
        n == 0 || k == 0 || rhs.len() > (k - 1) * rhs_row_stride + (n - 1) * rhs_col_stride,
        "matmul: right operand too small"
    );
    // SAFETY: the asserts above bound every index the GEMM reads or writes: dst is m×n
    // row-major, lhs/rhs reach at most the last element checked.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_col_stride as isize,
            lhs_row_stride as isize,
            rhs.as_ptr(),
            rhs_col_stride as isize,
            rhs_row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The im2col buffer of one sample (empty for a pointwise convolution, which needs none).
fn col_buffer(g: &ConvGeometry) -> Vec<f32> {
    if g.is_pointwise() {
        Vec::new()
    } else {
        vec![0.0f32; g.patch_len() * g.out_plane()]
    }
}

/// The K×P patch matrix of one sample: the sample itself for a pointwise convolution, else
/// its im2col written into `col`.
fn patches<'a>(sample: &'a [f32], g: &ConvGeometry, col: &'a mut [f32]) -> &'a [f32] {
    if g.is_pointwise() {
        sample
    } else {
        im2col(sample, g, col);
        col
    }
}

/// Forward convolution: `input` is `N×in×H×W`, `weight` `out×in×kh×kw`; returns `N×out×oh×ow`.
pub fn conv2d_forward(input: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (k, p) = (g.patch_len(), g.out_plane());
    let out_chunk_len = g.out_sample_len() * SAMPLES_PER_CHUNK;
    let (output, _) = build_in_chunks(
        g.batch * g.out_sample_len(),
        out_chunk_len,
        |chunk, out_chunk: &mut [f32]| {
            let in_chunk = &input[chunk * g.in_sample_len() * SAMPLES_PER_CHUNK..];
            let mut col = col_buffer(g);
            for (out, sample) in out_chunk
                .chunks_mut(g.out_sample_len())
                .zip(in_chunk.chunks(g.in_sample_len()))
            {
                let patches = patches(sample, g, &mut col);
                matmul(
                    out,
                    false,
                    (g.out_channels, p, k),
                    weight,
                    (k, 1),
                    patches,
                    (p, 1),
                );
            }
        },
    );
    output
}

/// Input gradient `dx` (`N×in×H×W`) from the output gradient `dy` (`N×out×oh×ow`).
pub fn conv2d_input_grad(grad_output: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (k, p) = (g.patch_len(), g.out_plane());
    let dx_chunk_len = g.in_sample_len() * SAMPLES_PER_CHUNK;
    let (grad_input, _) = build_in_chunks(
        g.batch * g.in_sample_len(),
        dx_chunk_len,
        |chunk, dx_chunk: &mut [f32]| {
            let dy_chunk = &grad_output[chunk * g.out_sample_len() * SAMPLES_PER_CHUNK..];
            let mut dcol = col_buffer(g);
            for (dx, dy) in dx_chunk
                .chunks_mut(g.in_sample_len())
                .zip(dy_chunk.chunks(g.out_sample_len()))
            {
                // dcol (K×P) = Wᵀ · dy; a pointwise convolution's dcol is dx itself.
                let product = |dst: &mut [f32]| {
                    matmul(
                        dst,
                        false,
                        (k, p, g.out_channels),
                        weight,
                        (1, k),
                        dy,
                        (p, 1),
                    )
                };
                if g.is_pointwise() {
                    product(dx);
                } else {
                    product(&mut dcol);
                    col2im_add(&dcol, g, dx);
                }
            }
        },
    );
    grad_input
}

/// Weight gradient `dW` (`out×in×kh×kw`) summed over the batch.
pub fn conv2d_weight_grad(input: &[f32], grad_output: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (k, p) = (g.patch_len(), g.out_plane());
    let partials: Vec<Vec<f32>> = input
        .par_chunks(g.in_sample_len() * SAMPLES_PER_CHUNK)
        .zip(grad_output.par_chunks(g.out_sample_len() * SAMPLES_PER_CHUNK))
        .map(|(in_chunk, dy_chunk)| {
            let mut col = col_buffer(g);
            let mut partial = vec![0.0f32; g.out_channels * k];
            for (i, (sample, dy)) in in_chunk
                .chunks(g.in_sample_len())
                .zip(dy_chunk.chunks(g.out_sample_len()))
                .enumerate()
            {
                let patches = patches(sample, g, &mut col);
                // dW += dy (out×P) · colᵀ (P×K); colᵀ[p][k] = col[k·P + p].
                matmul(
                    &mut partial,
                    i > 0,
                    (g.out_channels, k, p),
                    dy,
                    (p, 1),
                    patches,
                    (1, p),
                );
            }
            partial
        })
        .collect();
    let mut total = vec![0.0f32; g.out_channels * k];
    for partial in &partials {
        for (t, v) in total.iter_mut().zip(partial) {
            *t += v;
        }
    }
    total
}
