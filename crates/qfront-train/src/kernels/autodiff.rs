//! The autodiff implementation of [`QatKernels`] over flex: each forward registers one
//! backward step that calls the slice kernels (burn's `Backward` trait, compute-bound, with
//! the inputs kept as the step's state).

use super::batch_norm::{batch_norm_backward, NormGeometry};
use super::conv::{conv2d_input_grad, conv2d_weight_grad, ConvGeometry};
use super::flex::{
    batch_norm_train_flex, contiguous, conv2d_flex, conv_geometry, masked_max_flex, max_pool_flex,
    norm_geometry, pact_flex, scalar, tensor, values,
};
use super::max_pool::{max_pool_backward, PoolGeometry};
use super::pact::pact_backward;
use super::token_pool::{masked_max_backward, TokenGeometry};
use super::weight_quant::{sawb_clipped_backward, WeightRule};
use super::QatKernels;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Flex};
use burn::tensor::Shape;
use std::sync::Arc;

/// PACT's backward step; state: the input and α.
#[derive(Debug)]
struct PactStep;

impl Backward<Flex, 2> for PactStep {
    type State = (FlexTensor, f32);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, alpha_node] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, alpha) = ops.state;
        let shape = x.layout().shape().clone();
        let (grad_x, grad_alpha) = pact_backward(values(&x), values(&grad), alpha);
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(grad_x, shape));
        }
        if let Some(node) = alpha_node {
            grads.register::<Flex>(node.id, tensor(vec![grad_alpha], Shape::new([1])));
        }
    }
}

/// The convolution's backward step; state: input, weight and geometry.
#[derive(Debug)]
struct Conv2dStep;

impl Backward<Flex, 2> for Conv2dStep {
    type State = (FlexTensor, FlexTensor, ConvGeometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, weight, g) = ops.state;
        if let Some(node) = x_node {
            let grad_x = conv2d_input_grad(values(&grad), values(&weight), &g);
            grads.register::<Flex>(node.id, tensor(grad_x, x.layout().shape().clone()));
        }
        if let Some(node) = weight_node {
            let grad_weight = conv2d_weight_grad(values(&x), values(&grad), &g);
            grads.register::<Flex>(
                node.id,
                tensor(grad_weight, weight.layout().shape().clone()),
            );
        }
    }
}

/// Max pooling's backward step; state: the argmax offsets, geometry and input shape.
#[derive(Debug)]
struct MaxPoolStep;

impl Backward<Flex, 1> for MaxPoolStep {
    type State = (Arc<Vec<u32>>, PoolGeometry, Shape);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (argmax, g, shape) = ops.state;
        if let Some(node) = x_node {
            let grad_x = max_pool_backward(values(&grad), &argmax, &g);
            grads.register::<Flex>(node.id, tensor(grad_x, shape));
        }
    }
}

/// Batch norm's backward step; state: input, γ, the batch mean and `1/√(σ² + ε)`.
#[derive(Debug)]
struct BatchNormStep;

impl Backward<Flex, 3> for BatchNormStep {
    type State = (
        FlexTensor,
        FlexTensor,
        Arc<(Vec<f32>, Vec<f32>)>,
        NormGeometry,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, gamma_node, beta_node] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, gamma, statistics, g) = ops.state;
        let (mean, inv_std) = &*statistics;
        let (grad_x, grad_gamma, grad_beta) =
            batch_norm_backward(values(&x), values(&grad), values(&gamma), mean, inv_std, &g);
        let per_channel = || Shape::new([g.channels]);
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(grad_x, x.layout().shape().clone()));
        }
        if let Some(node) = gamma_node {
            grads.register::<Flex>(node.id, tensor(grad_gamma, per_channel()));
        }
        if let Some(node) = beta_node {
            grads.register::<Flex>(node.id, tensor(grad_beta, per_channel()));
        }
    }
}

/// The straight-through step of a weight quantizer; state: for the clipped SAWB STE, the
/// weight and its row scales (the identity needs none).
#[derive(Debug)]
struct StraightThroughStep;

impl Backward<Flex, 1> for StraightThroughStep {
    type State = Option<(FlexTensor, FlexTensor)>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [weight_node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = weight_node else { return };
        let grad = match ops.state {
            None => grad,
            Some((weight, scales)) => {
                let grad = contiguous(grad);
                let dw = sawb_clipped_backward(values(&weight), values(&grad), values(&scales));
                tensor(dw, weight.layout().shape().clone())
            }
        };
        grads.register::<Flex>(node.id, grad);
    }
}

/// The token max pool's backward step; state: winners, mask, geometry.
#[derive(Debug)]
struct MaskedMaxStep;

impl Backward<Flex, 1> for MaskedMaxStep {
    type State = (Arc<Vec<u32>>, FlexTensor, TokenGeometry);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [h_node] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (winner, mask, g) = ops.state;
        if let Some(node) = h_node {
            let grad_h = masked_max_backward(values(&grad), &winner, values(&mask), &g);
            let shape = Shape::new([g.batch, g.tokens, g.dim]);
            grads.register::<Flex>(node.id, tensor(grad_h, shape));
        }
    }
}

// Every operation: prepare the step (taking the input nodes), run the flex computation once,
// and finish with the step's state when some input is tracked.
impl<C: CheckpointStrategy> QatKernels for Autodiff<Flex, C> {
    fn masked_max_tokens(x: FloatTensor<Self>, mask: FloatTensor<Self>) -> FloatTensor<Self> {
        let prepared = MaskedMaxStep
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let mask = contiguous(mask.into_primitive());
        let (output, winner, g) = masked_max_flex(&contiguous(x.into_primitive()), &mask);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((Arc::new(winner), mask, g), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn quantize_weight_ste(
        weight: FloatTensor<Self>,
        rule: WeightRule,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let prepared = StraightThroughStep
            .prepare::<C>([weight.node()])
            .compute_bound()
            .stateful();
        let weight = contiguous(weight.into_primitive());
        let (output, scales) = Flex::quantize_weight_ste(weight.clone(), rule);
        let output = match prepared {
            OpsKind::Tracked(prep) => {
                prep.finish(rule.clips().then(|| (weight, scales.clone())), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        (output, Self::from_inner(scales))
    }

    fn batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prepared = BatchNormStep
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let x = contiguous(x.into_primitive());
        let gamma = contiguous(gamma.into_primitive());
        let (output, mean, variance, inv_std) =
            batch_norm_train_flex(&x, &gamma, beta.primitive(), epsilon);
        let g = norm_geometry(&x);
        let per_channel = |v: Vec<f32>| Self::from_inner(tensor(v, Shape::new([g.channels])));
        let (mean_out, variance_out) = (per_channel(mean.clone()), per_channel(variance));
        let output = match prepared {
            OpsKind::Tracked(prep) => prep.finish((x, gamma, Arc::new((mean, inv_std)), g), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        };
        (output, mean_out, variance_out)
    }

    fn pact(x: FloatTensor<Self>, alpha: FloatTensor<Self>, steps: u32) -> FloatTensor<Self> {
        let prepared = PactStep
            .prepare::<C>([x.node(), alpha.node()])
            .compute_bound()
            .stateful();
        let x = contiguous(x.into_primitive());
        let alpha = scalar(alpha.primitive());
        let output = pact_flex(&x, alpha, steps);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x, alpha), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding_height: usize,
        padding_width: usize,
    ) -> FloatTensor<Self> {
        let prepared = Conv2dStep
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful();
        let x = contiguous(x.into_primitive());
        let weight = contiguous(weight.into_primitive());
        let g = conv_geometry(&x, &weight, stride, padding_height, padding_width);
        let output = conv2d_flex(&x, &weight, &g);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x, weight, g), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    fn max_pool2d(x: FloatTensor<Self>, kernel: usize, stride: usize) -> FloatTensor<Self> {
        let prepared = MaxPoolStep
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let x = contiguous(x.into_primitive());
        let (output, argmax, g) = max_pool_flex(&x, kernel, stride);
        match prepared {
            OpsKind::Tracked(prep) => {
                prep.finish((Arc::new(argmax), g, x.layout().shape().clone()), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}
