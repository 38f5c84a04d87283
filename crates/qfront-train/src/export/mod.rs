//! Export of a trained model to the `.qfm` format of `qfront-rt`.
//!
//! Each family becomes a graph of integer ops (`docs/qfm-format.md`):
//! * BatchNorm folds into the preceding convolution's requantization:
//!   `gain = γ/√(σ² + ε)`, `bias = β − gain·μ`;
//! * each PACT activation becomes the output grid of the layer before it,
//!   `scale = α/(2^k − 1)`, zero point 0;
//! * convolution weights are reordered to `(kh, kw, in)` and the first linear layer after a
//!   flatten to the runtime's `[h, w, c]` order;
//! * ResNet shortcuts become a stride-s subsample and channel padding added inside the second
//!   convolution of the block; global average pooling and NLU mean pooling pass sums to the
//!   classifier, which divides.

mod layer_list;
pub mod onnx;
mod weights;

use crate::layers::{PactActivation, QuantConv1d, QuantConv2d, QuantLinear};
use crate::models::{Model, Nlu, TokenBlock};
use crate::quantize::WeightQuantizer;
use crate::spec::{ModelSpec, Pooling};
use crate::{Result, TrainError};
use burn::module::Module;
use burn::nn::BatchNorm;
use layer_list::export_layer_list;
use qfront_rt::format::{
    ActivationSpec, ConvGeometry, InputSpec, LayerOutput, ModelBuilder, RealAffine, TokenPooling,
};
use qfront_rt::QfmFile;
use weights::{quantized_weights, values};

/// How image inputs are quantized to u8: the step of the dataset's pixel grid (1/16 for UCI
/// digits, 1/255 for 8-bit images), so that the runtime sees exactly the training inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Step of the input pixel grid.
    pub pixel_scale: f32,
    /// Name stored in the file.
    pub name: &'static str,
    /// Class names stored in the file (index = class), so predictions map back to the
    /// user's labels; empty when unknown.
    pub labels: Vec<String>,
    /// The word of each embedding row for a vocabulary text model (empty: hashed words).
    pub vocabulary: Vec<String>,
}

impl ExportOptions {
    /// The options of a model trained on `data`: its pixel grid, class names and vocabulary.
    pub fn for_data(data: &crate::data::Dataset, name: &'static str) -> Self {
        Self {
            pixel_scale: data.pixel_scale.unwrap_or(1.0),
            name,
            labels: data.classes.clone(),
            vocabulary: data
                .vocabulary
                .as_ref()
                .map(|v| v.words().to_vec())
                .unwrap_or_default(),
        }
    }
}

fn fail(layer: &str, reason: impl Into<String>) -> TrainError {
    TrainError::Export {
        layer: layer.into(),
        reason: reason.into(),
    }
}

fn activation(layer: &str, act: &PactActivation) -> Result<LayerOutput> {
    let bits = act.bits;
    if bits.is_full_precision() || bits.get() > 8 {
        return Err(fail(
            layer,
            format!(
                "{}-bit activations; the runtime executes 2..=8 bits (train with --abits ≤ 8)",
                bits.get()
            ),
        ));
    }
    let alpha = act.alpha_value();
    if !(alpha.is_finite() && alpha > 0.0) {
        return Err(fail(
            layer,
            format!("PACT clip α = {alpha} is not positive"),
        ));
    }
    Ok(LayerOutput::Activation(ActivationSpec {
        bits: bits.get(),
        scale: alpha / bits.unsigned_steps(),
        zero_point: 0,
    }))
}

fn batch_norm(bn: &BatchNorm) -> RealAffine {
    let gamma = values(bn.gamma.val());
    let beta = values(bn.beta.val());
    let mean = values(bn.running_mean.value());
    let var = values(bn.running_var.value());
    let mut affine = RealAffine {
        gain: Vec::with_capacity(gamma.len()),
        bias: Vec::with_capacity(gamma.len()),
    };
    for i in 0..gamma.len() {
        let gain = gamma[i] as f64 / (var[i] as f64 + bn.epsilon).sqrt();
        affine.gain.push(gain);
        affine.bias.push(beta[i] as f64 - gain * mean[i] as f64);
    }
    affine
}

fn linear_bias(fc: &QuantLinear) -> RealAffine {
    RealAffine::bias_only(values(fc.bias.val()).into_iter().map(f64::from).collect())
}

/// Column order of a conv weight `[out, in, kh, kw]` read as `[out, kh, kw, in]`.
fn conv_order(in_channels: usize, kh: usize, kw: usize) -> Vec<usize> {
    let mut order = Vec::with_capacity(in_channels * kh * kw);
    for y in 0..kh {
        for x in 0..kw {
            for c in 0..in_channels {
                order.push((c * kh + y) * kw + x);
            }
        }
    }
    order
}

/// Column order of a linear layer reading a `[c, h, w]` flatten, read as `[h, w, c]`.
fn flatten_order([c, h, w]: [usize; 3]) -> Vec<usize> {
    let mut order = Vec::with_capacity(c * h * w);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                order.push((ch * h + y) * w + x);
            }
        }
    }
    order
}

fn conv2d(
    b: &mut ModelBuilder,
    name: &str,
    input: usize,
    residual: Option<usize>,
    conv: &QuantConv2d,
    real: &RealAffine,
    out: LayerOutput,
) -> Result<usize> {
    let [_, in_channels, kh, kw] = conv.weight.weight.val().dims();
    let w = quantized_weights(name, &conv.weight, Some(&conv_order(in_channels, kh, kw)))?;
    let geometry = ConvGeometry {
        kernel: [kh, kw],
        stride: [conv.stride; 2],
        padding: [conv.padding; 2],
        groups: conv.groups,
    };
    Ok(b.conv2d(name, input, residual, geometry, &w, real, out)?)
}

fn conv1d(
    b: &mut ModelBuilder,
    name: &str,
    input: usize,
    conv: &QuantConv1d,
    out: LayerOutput,
) -> Result<usize> {
    let [_, in_channels, k] = conv.weight.weight.val().dims();
    let w = quantized_weights(name, &conv.weight, Some(&conv_order(in_channels, 1, k)))?;
    let geometry = ConvGeometry {
        kernel: [1, k],
        stride: [1, 1],
        padding: [0, conv.kernel / 2],
        groups: 1,
    };
    let real = RealAffine::bias_only(values(conv.bias.val()).into_iter().map(f64::from).collect());
    Ok(b.conv2d(name, input, None, geometry, &w, &real, out)?)
}

fn linear(
    b: &mut ModelBuilder,
    name: &str,
    input: usize,
    fc: &QuantLinear,
    order: Option<&[usize]>,
    out: LayerOutput,
) -> Result<usize> {
    let w = quantized_weights(name, &fc.weight, order)?;
    Ok(b.linear(name, input, &w, &linear_bias(fc), out)?)
}

/// Checks, before any training, that a model of `spec` can be exported: weights and the
/// activations that follow them at 2..=8 bits, and an NLU embedding table the runtime can turn
/// into one u8 activation grid (one scale for the table; at 8 bits an integral zero point).
pub fn check_exportable(spec: &ModelSpec) -> Result<()> {
    use qfront_quant::accounting::LayerOp;
    use qfront_quant::quantizers::sawb::{SawbGrid, ScaleGranularity};
    spec.validate()?;
    let plan = crate::models::ModelPlan::of(spec);
    let last = plan.layers.len() - 1;
    for (i, layer) in plan.layers.iter().enumerate() {
        let p = layer.precision;
        let w = p.weight_bits;
        if w.is_full_precision() || w.get() > 8 {
            return Err(fail(&layer.name, format!("{}-bit weights; the runtime executes 2..=8 bits (set --wbits/--first-bits/--last-bits ≤ 8)", w.get())));
        }
        let embedding = matches!(layer.op, LayerOp::Embedding { .. });
        let a = p.activation_bits;
        if i != last && !embedding && (a.is_full_precision() || a.get() > 8) {
            return Err(fail(
                &layer.name,
                format!(
                    "{}-bit activations; the runtime executes 2..=8 bits (set --abits ≤ 8)",
                    a.get()
                ),
            ));
        }
        if embedding {
            match p.weight_quantizer {
                WeightQuantizer::Sawb {
                    granularity: ScaleGranularity::PerOutputChannel,
                    ..
                } => {
                    return Err(fail(&layer.name, "per-row SAWB scales cannot share one activation grid; use another --edge-weight-quantizer (min-max is the default)"));
                }
                WeightQuantizer::Sawb {
                    grid: SawbGrid::NoZero,
                    ..
                }
                | WeightQuantizer::Dorefa
                    if w.get() == 8 =>
                {
                    return Err(fail(&layer.name, "an 8-bit table on a no-zero grid (sawb, dorefa) needs 9-bit activations; use --edge-weight-quantizer min-max or sawb-zero, or --first-bits ≤ 7"));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Builds the `.qfm` model of a trained `model` (any device; read in inference mode).
pub fn export_model(model: &Model, spec: &ModelSpec, options: ExportOptions) -> Result<QfmFile> {
    check_exportable(spec)?;
    let model = model.valid();
    let producer = concat!("qfront-train ", env!("CARGO_PKG_VERSION"));
    let input = match &spec.input {
        crate::spec::InputShape::Image {
            channels,
            height,
            width,
        } => InputSpec::Image {
            height: *height,
            width: *width,
            channels: *channels,
            scale: options.pixel_scale,
            zero_point: 0,
        },
        crate::spec::InputShape::Tokens { max_tokens, .. } => {
            let table = match &model {
                Model::Nlu(nlu) => &nlu.embedding,
                Model::Layers(list) => match list.layers.first() {
                    Some(crate::models::SequentialLayer::Embedding(table)) => table,
                    _ => unreachable!("validated: a text layer list starts with an embedding"),
                },
                _ => unreachable!("validated: token input ⇒ NLU or a text layer list"),
            };
            let rows = table.weight.weight.val().dims()[0];
            if !options.vocabulary.is_empty() && options.vocabulary.len() != rows {
                return Err(fail(
                    "embedding",
                    format!(
                        "the table has {rows} rows but the vocabulary {} words",
                        options.vocabulary.len()
                    ),
                ));
            }
            InputSpec::Tokens {
                max_tokens: *max_tokens,
                vocabulary: rows,
                words: options.vocabulary,
            }
        }
    };
    let image_shape = match &spec.input {
        crate::spec::InputShape::Image {
            channels,
            height,
            width,
        } => [*channels, *height, *width],
        _ => [0; 3],
    };
    if !options.labels.is_empty() && options.labels.len() != spec.classes {
        return Err(fail(
            "classifier",
            format!(
                "{} class names for a model of {} classes",
                options.labels.len(),
                spec.classes
            ),
        ));
    }
    let mut b = ModelBuilder::new(options.name, producer, input)?;
    b.labels(options.labels);
    let x = 0;
    match &model {
        Model::Mlp(m) => {
            let mut h = b.flatten("flatten", x)?;
            let order = flatten_order(image_shape);
            for (i, (fc, act)) in m.layers.iter().zip(&m.activations).enumerate() {
                let name = format!("fc{i}");
                let out = activation(&name, act)?;
                h = linear(&mut b, &name, h, fc, (i == 0).then_some(&order[..]), out)?;
            }
            let order = m.layers.is_empty().then_some(&order[..]);
            linear(
                &mut b,
                "classifier",
                h,
                &m.classifier,
                order,
                LayerOutput::Logits,
            )?;
        }
        Model::Layers(m) => export_layer_list(&mut b, spec, m, x)?,
        Model::Lenet(m) => {
            let h = conv2d(
                &mut b,
                "conv1",
                x,
                None,
                &m.conv1,
                &batch_norm(&m.bn1),
                activation("conv1", &m.act1)?,
            )?;
            let h = b.max_pool("pool1", h, [2, 2], [2, 2])?;
            let h = conv2d(
                &mut b,
                "conv2",
                h,
                None,
                &m.conv2,
                &batch_norm(&m.bn2),
                activation("conv2", &m.act2)?,
            )?;
            let h = b.max_pool("pool2", h, [2, 2], [2, 2])?;
            let shape = match b.value(h) {
                qfront_rt::format::ValueType::Quantized { shape, .. } => {
                    [shape[2], shape[0], shape[1]]
                }
                _ => unreachable!("pooling emits an image"),
            };
            let h = b.flatten("flatten", h)?;
            let h = linear(
                &mut b,
                "fc",
                h,
                &m.fc,
                Some(&flatten_order(shape)),
                activation("fc", &m.act3)?,
            )?;
            linear(
                &mut b,
                "classifier",
                h,
                &m.classifier,
                None,
                LayerOutput::Logits,
            )?;
        }
        Model::Resnet(m) => {
            let mut h = conv2d(
                &mut b,
                "stem",
                x,
                None,
                &m.stem,
                &batch_norm(&m.stem_bn),
                activation("stem", &m.stem_act)?,
            )?;
            for (i, block) in m.blocks.iter().enumerate() {
                let name = format!("block{i}");
                let mid = conv2d(
                    &mut b,
                    &format!("{name}.conv1"),
                    h,
                    None,
                    &block.conv1,
                    &batch_norm(&block.bn1),
                    activation(&name, &block.act1)?,
                )?;
                let mut shortcut = h;
                if block.stride > 1 {
                    shortcut = b.avg_pool(
                        &format!("{name}.subsample"),
                        shortcut,
                        [1, 1],
                        [block.stride; 2],
                    )?;
                }
                if block.pad_channels > 0 {
                    shortcut =
                        b.pad_channels(&format!("{name}.pad"), shortcut, block.pad_channels)?;
                }
                h = conv2d(
                    &mut b,
                    &format!("{name}.conv2"),
                    mid,
                    Some(shortcut),
                    &block.conv2,
                    &batch_norm(&block.bn2),
                    activation(&name, &block.act2)?,
                )?;
            }
            let pooled = b.global_avg_pool("pool", h)?;
            linear(
                &mut b,
                "classifier",
                pooled,
                &m.classifier,
                None,
                LayerOutput::Logits,
            )?;
        }
        Model::Nlu(m) => export_nlu(&mut b, m)?,
    }
    Ok(b.finish()?)
}

fn export_nlu(b: &mut ModelBuilder, m: &Nlu) -> Result<()> {
    let table = quantized_weights("embedding", &m.embedding.weight, None)?;
    let mut h = b
        .embedding("embedding", 0, &table)
        .map_err(|e| fail("embedding", e.to_string()))?;
    for (i, (block, act)) in m.blocks.iter().zip(&m.activations).enumerate() {
        let name = format!("block{i}");
        let out = activation(&name, act)?;
        h = match block {
            TokenBlock::Conv(conv) => conv1d(b, &name, h, conv, out)?,
            TokenBlock::Mlp(fc) => {
                // A per-token linear layer is a 1×1 convolution over `[1, tokens, features]`;
                // the runtime's linear op applies per token on `[tokens, features]` directly.
                linear(b, &name, h, fc, None, out)?
            }
        };
    }
    let mode = match m.pooling {
        Pooling::Mean => TokenPooling::Mean,
        Pooling::Max => TokenPooling::Max,
    };
    let pooled = b.token_pool("pool", h, mode)?;
    linear(
        b,
        "classifier",
        pooled,
        &m.classifier,
        None,
        LayerOutput::Logits,
    )?;
    Ok(())
}

/// The step of a built-in dataset's pixel grid: UCI digits hold counts 0..=16 (scaled by
/// 1/16), the IDX image sets bytes 0..=255 (scaled by 1/255). `None` for text datasets.
/// (A loaded [`crate::data::Dataset`] carries its own as `pixel_scale`.)
pub fn pixel_scale(dataset: crate::data::DatasetName) -> Option<f32> {
    use crate::data::DatasetName;
    match dataset {
        DatasetName::Digits => Some(1.0 / 16.0),
        DatasetName::Mnist | DatasetName::FashionMnist => Some(1.0 / 255.0),
        _ => None,
    }
}

/// Predicted classes of every example of `split`, run through the runtime `session` in
/// batches of `batch_size`.
pub fn runtime_predict(
    session: &mut qfront_rt::Session,
    split: &crate::data::Split,
    batch_size: usize,
) -> Result<Vec<usize>> {
    use crate::data::Features;
    let classes = session.classes();
    let batch_size = batch_size.max(1);
    let mut out = Vec::with_capacity(split.len());
    match &split.features {
        Features::Images { pixels, shape } => {
            let per: usize = shape.iter().product();
            for chunk in pixels.chunks(per * batch_size) {
                let logits = session.run_images(chunk, chunk.len() / per)?;
                out.extend(qfront_rt::argmax(logits, classes));
            }
        }
        Features::Tokens { ids, max_tokens } => {
            for chunk in ids.chunks(max_tokens * batch_size) {
                let ids: Vec<u32> = chunk.iter().map(|&id| id as u32).collect();
                let logits = session.run_tokens(&ids, ids.len() / max_tokens)?;
                out.extend(qfront_rt::argmax(logits, classes));
            }
        }
    }
    Ok(out)
}
