//! Trained float weights a layer list starts QAT from (an imported ONNX model), and copying
//! them into a freshly built [`Sequential`] model.
//!
//! Weights are matched to layers by name. A layer narrower than its pretrained weights (a
//! width multiplier below 1, or a searched `channels.<layer>`) takes the leading output
//! channels and input columns: for a convolution's input and for a linear layer reading a
//! `[c, h, w]` flatten (channel-major), the leading columns are exactly the leading
//! channels, so the slices stay consistent from layer to layer.

use super::sequential::{Sequential, SequentialLayer};
use crate::layers::QuantWeight;
use crate::{Result, TrainError};
use burn::module::Param;
use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;

/// BatchNorm statistics and affine parameters, per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormWeights {
    /// γ.
    pub gamma: Vec<f32>,
    /// β.
    pub beta: Vec<f32>,
    /// Running mean.
    pub mean: Vec<f32>,
    /// Running variance, already shifted so that `var + ε_burn` equals the source's
    /// `var + ε` (burn's BatchNorm uses ε = 1e-5).
    pub variance: Vec<f32>,
}

/// The trained weights of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// The weight tensor in the layer's own layout (`[out, in, kh, kw]` or `[out, in]`).
    pub weight: TensorData,
    /// The bias, if the source has one and no BatchNorm absorbs it.
    pub bias: Option<Vec<f32>>,
    /// The BatchNorm that follows a convolution.
    pub batch_norm: Option<BatchNormWeights>,
}

/// The trained weights of a model, by layer name, and initial PACT clips by relu name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PretrainedWeights {
    /// Weights by layer name (`conv1`, `fc1`, `classifier`, …).
    pub layers: BTreeMap<String, LayerWeights>,
    /// Initial PACT α by relu name, where the source clips (ReLU6 = `Clip(0, 6)`).
    pub alphas: BTreeMap<String, f32>,
}

fn slice_to<const D: usize>(
    layer: &str,
    source: &TensorData,
    target: [usize; D],
    device: &Device,
) -> Result<Tensor<D>> {
    let shape: Vec<usize> = source.shape().to_vec();
    if shape.len() != D || shape.iter().zip(target).any(|(&s, t)| s < t) {
        return Err(TrainError::config(
            format!("pretrained weights of '{layer}'"),
            format!(
                "they have shape {shape:?} but the layer needs {target:?}; a pretrained layer can only shrink (width multiplier ≤ 1, channels ≤ the source's)"
            ),
        ));
    }
    let full: Tensor<D> = Tensor::from_data(source.clone().convert::<f32>(), device);
    let ranges: [std::ops::Range<usize>; D] = std::array::from_fn(|i| 0..target[i]);
    Ok(full.slice(ranges))
}

fn vector(values: &[f32], len: usize, device: &Device) -> Tensor<1> {
    Tensor::from_floats(&values[..len.min(values.len())], device)
}

fn load_batch_norm(bn: &mut BatchNorm, w: &BatchNormWeights, device: &Device) {
    let c = bn.gamma.val().dims()[0];
    bn.gamma = Param::from_tensor(vector(&w.gamma, c, device));
    bn.beta = Param::from_tensor(vector(&w.beta, c, device));
    bn.running_mean = burn::module::RunningState::new(vector(&w.mean, c, device));
    bn.running_var = burn::module::RunningState::new(vector(&w.variance, c, device));
}

fn replace<const D: usize>(weight: &mut QuantWeight<D>, values: Tensor<D>, device: &Device) {
    *weight = QuantWeight::new(values, weight.quantizer, weight.bits, device);
}

/// Copies a layer's weight (sliced to the layer's shape) and its bias (zeros if the source
/// has none).
fn load_with_bias<const D: usize>(
    name: &str,
    source: &LayerWeights,
    weight: &mut QuantWeight<D>,
    bias: &mut Param<Tensor<1>>,
    device: &Device,
) -> Result<()> {
    let target = weight.weight.val().dims();
    replace(
        weight,
        slice_to(name, &source.weight, target, device)?,
        device,
    );
    let values = source.bias.clone().unwrap_or_else(|| vec![0.0; target[0]]);
    *bias = Param::from_tensor(vector(&values, target[0], device));
    Ok(())
}

impl PretrainedWeights {
    /// Copies the weights into `model`, whose weighted layers are named `names` (in list
    /// order, as [`super::layer_names`] gives them). Every weighted layer must have weights.
    pub fn apply(
        &self,
        mut model: Sequential,
        names: &[Option<String>],
        relu_names: &[Option<String>],
        device: &Device,
    ) -> Result<Sequential> {
        let missing = |name: &str| {
            TrainError::config(
                format!("pretrained weights of '{name}'"),
                "the source has none for this layer",
            )
        };
        for i in 0..model.layers.len() {
            let name = names.get(i).cloned().flatten();
            let (before, after) = model.layers.split_at_mut(i + 1);
            match (&mut before[i], name) {
                (SequentialLayer::Conv(conv), Some(name)) => {
                    let w = self.layers.get(&name).ok_or_else(|| missing(&name))?;
                    let target = conv.weight.weight.val().dims();
                    replace(
                        &mut conv.weight,
                        slice_to(&name, &w.weight, target, device)?,
                        device,
                    );
                    if let (Some(bias), Some(b)) = (&mut conv.bias, &w.bias) {
                        *bias = Param::from_tensor(vector(b, target[0], device));
                    }
                    match (after.first_mut(), &w.batch_norm) {
                        (Some(SequentialLayer::BatchNorm(bn)), Some(stats)) => {
                            load_batch_norm(bn, stats, device)
                        }
                        (Some(SequentialLayer::BatchNorm(_)), None) => {
                            return Err(TrainError::config(
                                format!("pretrained weights of '{name}'"),
                                "the layer list puts a batch_norm after it but the source has none",
                            ))
                        }
                        _ => {}
                    }
                }
                (SequentialLayer::Linear(fc), Some(name)) => {
                    let w = self.layers.get(&name).ok_or_else(|| missing(&name))?;
                    load_with_bias(&name, w, &mut fc.weight, &mut fc.bias, device)?;
                }
                (SequentialLayer::Embedding(table), Some(name)) => {
                    let w = self.layers.get(&name).ok_or_else(|| missing(&name))?;
                    let target = table.weight.weight.val().dims();
                    if w.weight.shape()[0] != target[0] {
                        return Err(TrainError::config(
                            format!("pretrained weights of '{name}'"),
                            format!(
                                "the table has {} rows but the data's token ids take {} values (hash buckets + padding, or vocabulary rows); keep the embedding's buckets, or give the vocabulary the model was trained with (--vocabulary FILE)",
                                w.weight.shape()[0],
                                target[0]
                            ),
                        ));
                    }
                    replace(
                        &mut table.weight,
                        slice_to(&name, &w.weight, target, device)?,
                        device,
                    );
                }
                (SequentialLayer::Conv1d(conv), Some(name)) => {
                    let w = self.layers.get(&name).ok_or_else(|| missing(&name))?;
                    load_with_bias(&name, w, &mut conv.weight, &mut conv.bias, device)?;
                }
                (SequentialLayer::Relu(act), _) => {
                    if let Some(alpha) = relu_names
                        .get(i)
                        .cloned()
                        .flatten()
                        .and_then(|n| self.alphas.get(&n))
                    {
                        act.alpha = Param::from_tensor(Tensor::from_floats([*alpha], device));
                    }
                }
                _ => {}
            }
        }
        Ok(model)
    }
}
