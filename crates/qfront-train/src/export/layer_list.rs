//! Export of a layer-list model (`[model] layers = [...]`): each quantized layer takes the
//! BatchNorm and PACT activation that follow it into its requantization.

use super::weights::{quantized_weights, values};
use super::{activation, batch_norm, conv1d, conv2d, fail, flatten_order, linear};
use crate::spec::{ModelSpec, Pooling};
use crate::Result;
use qfront_rt::format::{LayerOutput, ModelBuilder, RealAffine, TokenPooling};

/// The graph of a layer list: each quantized layer takes the BatchNorm and PACT that follow it
/// into its requantization; pooling and flatten map to the runtime's ops; dropout vanishes.
pub(super) fn export_layer_list(
    b: &mut ModelBuilder,
    spec: &ModelSpec,
    model: &crate::models::Sequential,
    input: usize,
) -> Result<()> {
    use crate::models::{resolve_layers, ResolvedLayer, SequentialLayer};
    use crate::spec::{ModelFamily, Position};
    let ModelFamily::Layers { layers, .. } = &spec.family else {
        unreachable!("a Sequential model comes from a layer-list spec")
    };
    let resolved = resolve_layers(
        layers,
        crate::models::list_input(&spec.input),
        spec.classes,
        spec.width_multiplier,
    )?;
    let modules = &model.layers;
    let relu_after = |i: usize, name: &str| -> Result<LayerOutput> {
        match modules.get(i) {
            Some(SequentialLayer::Relu(act)) => activation(name, act),
            _ => unreachable!("resolve puts a relu after every quantized layer but the last"),
        }
    };
    let mut h = input;
    let mut i = 0;
    // The graph node holding each relu's output, by list index (what an add reads).
    let mut activation_nodes = std::collections::BTreeMap::new();
    while i < resolved.len() {
        match (&resolved[i], &modules[i]) {
            (ResolvedLayer::Conv2d { name, .. }, SequentialLayer::Conv(conv)) => {
                let (real, mut next) = match modules.get(i + 1) {
                    Some(SequentialLayer::BatchNorm(bn)) => (batch_norm(bn), i + 2),
                    _ => {
                        let bias = conv
                            .bias
                            .as_ref()
                            .map(|p| values(p.val()))
                            .unwrap_or_default();
                        (
                            RealAffine::bias_only(bias.into_iter().map(f64::from).collect()),
                            i + 1,
                        )
                    }
                };
                let residual =
                    match modules.get(next) {
                        Some(SequentialLayer::Add(from)) => {
                            next += 1;
                            Some(*activation_nodes.get(from).expect(
                                "resolve points an add at an earlier relu, exported by then",
                            ))
                        }
                        _ => None,
                    };
                h = conv2d(b, name, h, residual, conv, &real, relu_after(next, name)?)?;
                activation_nodes.insert(next, h);
                i = next + 1;
            }
            (
                ResolvedLayer::Linear {
                    name,
                    flattened_from,
                    position,
                    ..
                },
                SequentialLayer::Linear(fc),
            ) => {
                let order = flattened_from.map(flatten_order);
                if *position == Position::Last {
                    h = linear(b, name, h, fc, order.as_deref(), LayerOutput::Logits)?;
                    i += 1;
                } else {
                    h = linear(b, name, h, fc, order.as_deref(), relu_after(i + 1, name)?)?;
                    activation_nodes.insert(i + 1, h);
                    i += 2;
                }
            }
            (ResolvedLayer::Embedding { name, .. }, SequentialLayer::Embedding(table)) => {
                let w = quantized_weights(name, &table.weight, None)?;
                h = b
                    .embedding(name, h, &w)
                    .map_err(|e| fail(name, e.to_string()))?;
                i += 1;
            }
            (ResolvedLayer::Conv1d { name, .. }, SequentialLayer::Conv1d(conv)) => {
                h = conv1d(b, name, h, conv, relu_after(i + 1, name)?)?;
                i += 2;
            }
            (ResolvedLayer::TokenPool { mode }, _) => {
                let mode = match mode {
                    Pooling::Mean => TokenPooling::Mean,
                    Pooling::Max => TokenPooling::Max,
                };
                h = b.token_pool(&format!("token_pool{i}"), h, mode)?;
                i += 1;
            }
            (ResolvedLayer::MaxPool { kernel, stride }, _) => {
                h = b.max_pool(&format!("pool{i}"), h, [*kernel; 2], [*stride; 2])?;
                i += 1;
            }
            (ResolvedLayer::AvgPool { kernel, stride, .. }, _) => {
                h = b.avg_pool(&format!("pool{i}"), h, [*kernel; 2], [*stride; 2])?;
                i += 1;
            }
            (ResolvedLayer::GlobalAvgPool, _) => {
                h = b.global_avg_pool(&format!("global_pool{i}"), h)?;
                i += 1;
            }
            (ResolvedLayer::Flatten, _) => {
                if matches!(b.value(h), qfront_rt::format::ValueType::Quantized { shape, .. } if shape.len() == 3)
                {
                    h = b.flatten(&format!("flatten{i}"), h)?;
                }
                i += 1;
            }
            (ResolvedLayer::Dropout { .. }, _) => i += 1,
            (layer, _) => unreachable!("{layer:?} is consumed with the layer before it"),
        }
    }
    Ok(())
}
