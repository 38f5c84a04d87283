//! The trainable model of a layer list ([`super::layer_list`]): one burn module per resolved
//! layer, run in order.

use super::layer_list::ResolvedLayer;
use super::plan::ModelPlan;
use crate::kernels::batch_norm;
use crate::kernels::max_pool2d;
use crate::layers::{
    PactActivation, ParamInit, QuantConv1d, QuantConv2d, QuantEmbedding, QuantLinear,
};
use crate::spec::ModelSpec;
use crate::spec::Pooling;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig};
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d};
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Int, Tensor};

/// A pooling window.
#[derive(Module, Debug)]
pub struct PoolWindow {
    /// Window size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
}

/// Average pooling onto the activation grid of the relu at index `grid`.
#[derive(Module, Debug)]
pub struct GridPool {
    /// The window.
    pub window: PoolWindow,
    /// Index of the relu (in the model's layers) whose grid the input is on.
    pub grid: usize,
}

/// One layer of a [`Sequential`] model. Layers without parameters carry a placeholder flag
/// (burn modules need a field).
#[derive(Module, Debug)]
pub enum SequentialLayer {
    /// Quantized convolution.
    Conv(QuantConv2d),
    /// Quantized linear layer.
    Linear(QuantLinear),
    /// Quantized embedding table.
    Embedding(QuantEmbedding),
    /// Quantized 1-D convolution over tokens.
    Conv1d(QuantConv1d),
    /// Pooling over real tokens: `true` for the mean, `false` for the max.
    TokenPool(bool),
    /// BatchNorm after a convolution.
    BatchNorm(BatchNorm),
    /// PACT activation.
    Relu(PactActivation),
    /// Max pooling.
    MaxPool(PoolWindow),
    /// Average pooling rounded onto a relu's activation grid.
    AvgPool(GridPool),
    /// Global average pooling.
    GlobalAvgPool(bool),
    /// Flatten.
    Flatten(bool),
    /// Dropout.
    Dropout(Dropout),
    /// Adds the output of the layer at this index (a relu) to the flow.
    Add(usize),
}

/// A model built from a layer list.
#[derive(Module, Debug)]
pub struct Sequential {
    /// The layers, in order.
    pub layers: Vec<SequentialLayer>,
    /// Indices of the layers whose outputs a residual `add` reads later (kept during the
    /// forward pass).
    #[module(skip)]
    pub residual_sources: Vec<usize>,
}

/// What flows between layers.
enum Flow {
    Image(Tensor<4>),
    Flat(Tensor<2>),
    /// `[batch, tokens, features]`.
    TokenFeatures(Tensor<3>),
}

impl Sequential {
    /// Builds from a validated spec, its plan and its resolved layers.
    pub fn new(
        spec: &ModelSpec,
        plan: &ModelPlan,
        resolved: &[ResolvedLayer],
        init: &mut ParamInit,
        device: &Device,
    ) -> Self {
        // The plan lists the layers with weights in list order; each relu belongs to the one
        // before it.
        let mut planned = plan.layers.iter();
        let mut current = None;
        let mut layers = Vec::with_capacity(resolved.len());
        for layer in resolved {
            if matches!(
                layer,
                ResolvedLayer::Conv2d { .. }
                    | ResolvedLayer::Linear { .. }
                    | ResolvedLayer::Embedding { .. }
                    | ResolvedLayer::Conv1d { .. }
            ) {
                current = planned.next();
            }
            let plan = || current.expect("the plan lists every layer with weights, in order");
            layers.push(match layer {
                ResolvedLayer::Conv2d { .. } => SequentialLayer::Conv(plan().conv2d(init, device)),
                ResolvedLayer::Linear { .. } => {
                    SequentialLayer::Linear(plan().linear(init, device))
                }
                ResolvedLayer::Embedding { .. } => {
                    SequentialLayer::Embedding(plan().embedding(init, device))
                }
                ResolvedLayer::Conv1d { .. } => {
                    SequentialLayer::Conv1d(plan().conv1d(init, device))
                }
                ResolvedLayer::Relu { .. } => {
                    SequentialLayer::Relu(plan().activation(spec, device))
                }
                ResolvedLayer::TokenPool { mode } => {
                    SequentialLayer::TokenPool(*mode == Pooling::Mean)
                }
                ResolvedLayer::BatchNorm { channels } => {
                    SequentialLayer::BatchNorm(BatchNormConfig::new(*channels).init(device))
                }
                ResolvedLayer::MaxPool { kernel, stride } => SequentialLayer::MaxPool(PoolWindow {
                    kernel: *kernel,
                    stride: *stride,
                }),
                ResolvedLayer::AvgPool {
                    kernel,
                    stride,
                    grid,
                } => SequentialLayer::AvgPool(GridPool {
                    window: PoolWindow {
                        kernel: *kernel,
                        stride: *stride,
                    },
                    grid: *grid,
                }),
                ResolvedLayer::GlobalAvgPool => SequentialLayer::GlobalAvgPool(true),
                ResolvedLayer::Flatten => SequentialLayer::Flatten(true),
                ResolvedLayer::Dropout { rate } => {
                    SequentialLayer::Dropout(DropoutConfig::new(*rate).init())
                }
                ResolvedLayer::Add { from } => SequentialLayer::Add(*from),
            });
        }
        let residual_sources = resolved
            .iter()
            .filter_map(|l| match l {
                ResolvedLayer::Add { from } => Some(*from),
                _ => None,
            })
            .collect();
        Self {
            layers,
            residual_sources,
        }
    }

    /// Logits of images `[batch, channels, height, width]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.run(Flow::Image(x), None)
    }

    /// Logits of token ids `[batch, tokens]` with their mask (1 = real token).
    pub fn forward_tokens(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let SequentialLayer::Embedding(embedding) = &self.layers[0] else {
            unreachable!("layer_list::resolve puts the embedding first for text")
        };
        self.run(Flow::TokenFeatures(embedding.forward(ids)), Some(mask))
    }

    fn run(&self, mut flow: Flow, mask: Option<Tensor<2>>) -> Tensor<2> {
        let skip = usize::from(matches!(flow, Flow::TokenFeatures(_)));
        // The outputs residual adds read later, by layer index.
        let mut saved: Vec<(usize, Tensor<4>)> = Vec::with_capacity(self.residual_sources.len());
        for (index, layer) in self.layers.iter().enumerate().skip(skip) {
            flow = match (layer, flow) {
                (SequentialLayer::Add(from), Flow::Image(x)) => {
                    let residual = saved
                        .iter()
                        .find(|(i, _)| i == from)
                        .map(|(_, t)| t.clone())
                        .expect("layer_list::resolve points an add at an earlier relu");
                    Flow::Image(x + residual)
                }
                (SequentialLayer::Conv(conv), Flow::Image(x)) => Flow::Image(conv.forward(x)),
                (SequentialLayer::BatchNorm(bn), Flow::Image(x)) => Flow::Image(batch_norm(bn, x)),
                (SequentialLayer::Relu(act), Flow::Image(x)) => Flow::Image(act.forward(x)),
                (SequentialLayer::Relu(act), Flow::Flat(x)) => Flow::Flat(act.forward(x)),
                (SequentialLayer::MaxPool(w), Flow::Image(x)) => {
                    Flow::Image(max_pool2d(x, w.kernel, w.stride))
                }
                (SequentialLayer::AvgPool(pool), Flow::Image(x)) => {
                    let SequentialLayer::Relu(act) = &self.layers[pool.grid] else {
                        unreachable!("layer_list::resolve points an avg_pool at a relu")
                    };
                    Flow::Image(avg_pool_on_grid(x, &pool.window, act))
                }
                (SequentialLayer::GlobalAvgPool(_), Flow::Image(x)) => {
                    Flow::Flat(adaptive_avg_pool2d(x, [1, 1]).flatten(1, 3))
                }
                (SequentialLayer::Flatten(_), Flow::Image(x)) => Flow::Flat(x.flatten(1, 3)),
                (SequentialLayer::Flatten(_), flat) => flat,
                (SequentialLayer::Dropout(d), Flow::Image(x)) => Flow::Image(d.forward(x)),
                (SequentialLayer::Dropout(d), Flow::Flat(x)) => Flow::Flat(d.forward(x)),
                (SequentialLayer::Linear(fc), Flow::Flat(x)) => Flow::Flat(fc.forward(x)),
                (SequentialLayer::Conv1d(conv), Flow::TokenFeatures(h)) => {
                    Flow::TokenFeatures(conv.forward(h.swap_dims(1, 2)).swap_dims(1, 2))
                }
                (SequentialLayer::Relu(act), Flow::TokenFeatures(h)) => {
                    Flow::TokenFeatures(act.forward(h))
                }
                (SequentialLayer::Dropout(d), Flow::TokenFeatures(h)) => {
                    Flow::TokenFeatures(d.forward(h))
                }
                (SequentialLayer::TokenPool(mean), Flow::TokenFeatures(h)) => {
                    let mask = mask.clone().expect("token inputs come with a mask");
                    Flow::Flat(pool_tokens(h, mask, *mean))
                }
                _ => unreachable!("layer_list::resolve checks every layer's input kind"),
            };
            if self.residual_sources.contains(&index) {
                if let Flow::Image(x) = &flow {
                    saved.push((index, x.clone()));
                }
            }
        }
        match flow {
            Flow::Flat(logits) => logits,
            Flow::Image(_) | Flow::TokenFeatures(_) => {
                unreachable!("a layer list ends with a linear classifier")
            }
        }
    }
}

/// Pooling over real tokens `[batch, tokens, d]` → `[batch, d]` with the mask `[batch,
/// tokens]` (1 = real token): the masked mean, or the max with padding pushed far below every
/// activation. The NLU family and text layer lists share it.
pub(crate) fn pool_tokens(h: Tensor<3>, mask: Tensor<2>, mean: bool) -> Tensor<2> {
    let [batch, tokens, d] = h.dims();
    if !mean && tokens > 0 && crate::kernels::supports(h.dtype()) {
        return crate::kernels::fused_masked_max_tokens(h, mask);
    }
    let m = mask
        .clone()
        .reshape([batch, tokens, 1])
        .expand([batch, tokens, d]);
    if mean {
        let count = mask
            .sum_dim(1)
            .clamp_min(1.0)
            .reshape([batch, 1])
            .expand([batch, d]);
        (h * m).sum_dim(1).reshape([batch, d]).div(count)
    } else {
        let neg = (m.clone() - 1.0).mul_scalar(1e4);
        (h * m + neg).max_dim(1).reshape([batch, d])
    }
}

/// Average pooling of activations on `act`'s PACT grid (step `s = α/(2^k − 1)`), rounded
/// as the runtime rounds: in codes, `⌊(Σ u + ⌊n/2⌋) / n⌋` over the `n` window positions. The
/// rounding is off the tape (straight-through gradient); at full precision it is the plain
/// mean. Each code sum is recovered exactly as `round(mean · n / s)`.
fn avg_pool_on_grid(x: Tensor<4>, window: &PoolWindow, act: &PactActivation) -> Tensor<4> {
    let pooled = avg_pool2d(
        x,
        AvgPoolOptions::new([window.kernel; 2]).with_stride([window.stride; 2]),
    );
    if act.bits.is_full_precision() {
        return pooled;
    }
    let step = act.alpha_value() as f64 / act.bits.unsigned_steps() as f64;
    let count = (window.kernel * window.kernel) as f64;
    let detached = pooled.clone().detach();
    let rounded = detached
        .clone()
        .mul_scalar(count / step)
        .round()
        .add_scalar((count / 2.0).floor())
        .div_scalar(count)
        .floor()
        .mul_scalar(step);
    pooled + (rounded - detached)
}
