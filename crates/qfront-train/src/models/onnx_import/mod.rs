//! Import of a float ONNX model (e.g. from `torch.onnx.export`) as a layer list with its
//! trained weights, the starting point of QAT.
//!
//! The file is parsed by burn's `onnx-ir` (typed operators, constants lifted, shapes
//! inferred for opsets 1–24; `docs/design-notes.md` says why that crate). The graph must be a
//! chain the runtime can execute, with residual `Add`s reading an earlier ReLU:
//!
//! | ONNX | layer list |
//! |---|---|
//! | `Conv` (2-D, square kernel, symmetric padding, any groups) | `conv2d` (`groups`) |
//! | `BatchNormalization` after a `Conv` | `batch_norm` (a conv bias folds into its mean) |
//! | `Relu`, `Clip(min = 0, max)` | `relu` (PACT; `max` is the initial α) |
//! | `Add` of a conv output and an earlier `Relu` output | `add` (residual) |
//! | `Gemm`, `MatMul` (+ `Add` bias) with constant weights | `linear` |
//! | `MaxPool`, `AveragePool` (no padding) | `max_pool`, `avg_pool` |
//! | `GlobalAveragePool`, `ReduceMean` over H and W | `global_avg_pool` |
//! | `Flatten`, `Reshape` to `[batch, features]` | `flatten` |
//! | `Gather` of a constant table by the token-id input | `embedding` (`buckets` = rows − 1) |
//! | `Transpose` [0, 2, 1] of token features | (layout only) |
//! | `Conv` 1-D over tokens (odd kernel, "same" padding) | `conv1d` |
//! | `ReduceMax`, `ReduceMean` over the token axis | `token_pool` (`max`, `mean`) |
//! | `Dropout`, `Identity`; a final `Softmax`/`LogSoftmax` | dropped (argmax unchanged) |
//!
//! Layers get qfront's default names (`conv1`, …, `fc1`, …, `classifier`, `relu1`, …), the
//! ones per-layer settings use; `onnx-ir` renames nodes to `<operator><count>`
//! (`conv2d3`), the names errors quote.

use super::layer_spec::{default_relu_name, LayerSpec};
use super::pretrained::{LayerWeights, PretrainedWeights};
use crate::{Result, TrainError};
use burn::tensor::TensorData;
use onnx_ir::{ArgType, Argument, Node, OnnxGraphBuilder};
use std::collections::BTreeMap;
use std::path::Path;

mod layers;
mod tokens;

/// The operators the importer maps, for error messages.
pub const SUPPORTED_OPERATORS: &str = "Conv (2-D, or 1-D over tokens), Gather (embedding), Transpose (tokens ↔ features), ReduceMax (over tokens), BatchNormalization, Relu, Clip(min 0), Add (residual or bias), Gemm, MatMul, MaxPool, AveragePool, GlobalAveragePool, ReduceMean (over H, W or tokens), Flatten, Reshape (to [batch, features]), Dropout, Identity, and a final Softmax/LogSoftmax";

/// burn's BatchNorm ε; a source ε is carried by shifting the variance.
const BURN_BATCH_NORM_EPSILON: f64 = 1e-5;

/// What an imported model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedInput {
    /// Images `[channels, height, width]`.
    Image([usize; 3]),
    /// Token ids, this many per example.
    Tokens(usize),
}

/// An imported model: the layer list, what it reads, and its trained weights.
#[derive(Debug, Clone)]
pub struct ImportedModel {
    /// The layers.
    pub layers: Vec<LayerSpec>,
    /// The input.
    pub input: ImportedInput,
    /// The trained weights by layer name.
    pub weights: PretrainedWeights,
}

/// What a graph value is, for the chain check.
#[derive(Debug, Clone)]
enum Value {
    /// The graph input.
    Input,
    /// The output of `layers[index]`.
    Layer(usize),
    /// The output of the relu named so.
    Relu(String),
    /// Token features `[batch, tokens, features]`, or with `true` `[batch, features,
    /// tokens]` (after a transpose).
    Tokens(bool),
}

struct Importer<'a> {
    path: &'a Path,
    layers: Vec<LayerSpec>,
    weights: Vec<Option<LayerWeights>>,
    alphas: BTreeMap<String, f32>,
    values: BTreeMap<String, Value>,
    current: String,
    relus: usize,
}

fn op_name(node: &Node) -> String {
    format!("{:?}", node.node_type())
}

impl Importer<'_> {
    fn fail(&self, node: &Node, reason: impl Into<String>) -> TrainError {
        TrainError::OnnxImport {
            path: self.path.to_path_buf(),
            node: format!("{} '{}'", op_name(node), node.name()),
            reason: reason.into(),
        }
    }

    fn constant(&self, node: &Node, arg: Option<&Argument>, what: &str) -> Result<TensorData> {
        arg.and_then(Argument::value)
            .ok_or_else(|| self.fail(node, format!("its {what} must be a constant initializer")))
    }

    fn floats(&self, node: &Node, arg: Option<&Argument>, what: &str) -> Result<Vec<f32>> {
        self.constant(node, arg, what)?
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| self.fail(node, format!("its {what} is not a float tensor: {e:?}")))
    }

    /// The node's data input must be the chain's current value.
    fn check_chain(&self, node: &Node) -> Result<()> {
        match node.inputs().first() {
            Some(arg) if arg.name == self.current => Ok(()),
            _ => Err(self.fail(node, "it does not read the output of the node before it; qfront imports chains of layers (with residual adds), not branching graphs")),
        }
    }

    fn push(&mut self, node: &Node, layer: LayerSpec, weights: Option<LayerWeights>) {
        let value = Value::Layer(self.layers.len());
        self.push_as(node, layer, weights, value);
    }

    /// Appends a layer whose output is `value`.
    fn push_as(
        &mut self,
        node: &Node,
        layer: LayerSpec,
        weights: Option<LayerWeights>,
        value: Value,
    ) {
        self.layers.push(layer);
        self.weights.push(weights);
        self.advance(node, value);
    }

    fn advance(&mut self, node: &Node, value: Value) {
        if let Some(out) = node.outputs().first() {
            self.current = out.name.clone();
            self.values.insert(out.name.clone(), value);
        }
    }

    /// The last layer, if the current value is its output.
    fn current_layer(&self) -> Option<usize> {
        match self.values.get(&self.current) {
            Some(Value::Layer(i)) => Some(*i),
            _ => None,
        }
    }

    /// Whether the current value is token features, and their layout.
    fn token_layout(&self) -> Option<bool> {
        match self.values.get(&self.current) {
            Some(Value::Tokens(features_first)) => Some(*features_first),
            _ => None,
        }
    }

    fn last_weighted(&mut self) -> Option<&mut LayerWeights> {
        self.weights.iter_mut().rev().find_map(Option::as_mut)
    }

    fn relu(&mut self, node: &Node, alpha: Option<f32>) {
        self.relus += 1;
        let name = default_relu_name(self.relus);
        if let Some(alpha) = alpha {
            self.alphas.insert(name.clone(), alpha);
        }
        // Token features keep their layout through the activation.
        let value = match self.token_layout() {
            Some(features_first) => Value::Tokens(features_first),
            None => Value::Relu(name),
        };
        self.push_as(node, LayerSpec::Relu { name: None }, None, value);
    }

    fn node(&mut self, node: &Node, last: bool) -> Result<()> {
        let passthrough = |s: &mut Self| {
            let value = s.values[&s.current].clone();
            s.advance(node, value);
        };
        match node {
            // Constants feed other nodes by name (`Argument::value`); they are not layers.
            Node::Constant(_) => return Ok(()),
            Node::Add(_) | Node::Gather(_) => {}
            _ => self.check_chain(node)?,
        }
        match node {
            Node::Gather(_) => self.embedding(node)?,
            Node::Conv1d(_) => self.conv1d(node)?,
            Node::Transpose(transpose) => {
                let Some(features_first) = self.token_layout() else {
                    return Err(self.fail(node, "a Transpose is supported only to swap the tokens and features of token features"));
                };
                if transpose.config.perm != [0, 2, 1] {
                    return Err(self.fail(
                        node,
                        format!(
                            "only the permutation [0, 2, 1] is supported, not {:?}",
                            transpose.config.perm
                        ),
                    ));
                }
                self.advance(node, Value::Tokens(!features_first));
            }
            Node::ReduceMax(reduce) => self.token_pool(
                node,
                &reduce.config.axes,
                reduce.config.keepdims,
                crate::spec::Pooling::Max,
            )?,
            Node::ReduceMean(reduce) if self.token_layout().is_some() => self.token_pool(
                node,
                &reduce.config.axes,
                reduce.config.keepdims,
                crate::spec::Pooling::Mean,
            )?,
            Node::Conv2d(_) => self.conv(node)?,
            Node::BatchNormalization(_) => self.batch_norm(node)?,
            Node::Relu(_) => self.relu(node, None),
            Node::Clip(clip) => {
                let value = |v: &Option<onnx_ir::node::clip::ClipInput>| match v {
                    Some(onnx_ir::node::clip::ClipInput::Static(x)) => Ok(Some(*x)),
                    None => Ok(None),
                    Some(_) => Err(self.fail(node, "its bounds must be constants")),
                };
                let (min, max) = (value(&clip.config.min)?, value(&clip.config.max)?);
                if min != Some(0.0) {
                    return Err(self.fail(
                        node,
                        format!(
                            "only Clip with min 0 (a clipped ReLU) is supported, not min {min:?}"
                        ),
                    ));
                }
                self.relu(
                    node,
                    max.filter(|m| m.is_finite() && *m > 0.0).map(|m| m as f32),
                );
            }
            Node::Add(_) => self.add(node)?,
            Node::Linear(linear) => {
                let weight = self.constant(node, node.inputs().get(1), "weight")?;
                let bias = self.optional_bias(node)?;
                self.linear(node, weight, linear.config.transpose_weight, bias)?
            }
            Node::Gemm(gemm) => {
                let c = &gemm.config;
                if c.alpha != 1.0 || c.beta != 1.0 || c.trans_a != 0 {
                    return Err(self.fail(
                        node,
                        "only Gemm with alpha = beta = 1 and transA = 0 is supported",
                    ));
                }
                let weight = self.constant(node, node.inputs().get(1), "weight")?;
                let bias = self.optional_bias(node)?;
                self.linear(node, weight, c.trans_b != 0, bias)?
            }
            Node::MatMul(_) => {
                let weight =
                    self.constant(node, node.inputs().get(1), "second input (the weight)")?;
                self.linear(node, weight, false, None)?
            }
            Node::MaxPool2d(_) | Node::AveragePool2d(_) => {
                let (kernel, strides, padding, dilation, ceil_mode, average) = match node {
                    Node::MaxPool2d(p) => {
                        let c = &p.config;
                        (
                            c.kernel_size,
                            c.strides,
                            &c.padding,
                            c.dilation,
                            c.ceil_mode,
                            false,
                        )
                    }
                    Node::AveragePool2d(p) => {
                        let c = &p.config;
                        (
                            c.kernel_size,
                            c.strides,
                            &c.padding,
                            c.dilation,
                            c.ceil_mode,
                            true,
                        )
                    }
                    _ => unreachable!("matched above"),
                };
                let [kernel, stride] =
                    self.pool_window(node, kernel, strides, padding, dilation, ceil_mode)?;
                let stride = Some(stride);
                let layer = if average {
                    LayerSpec::AvgPool { kernel, stride }
                } else {
                    LayerSpec::MaxPool { kernel, stride }
                };
                self.push(node, layer, None);
            }
            Node::GlobalAveragePool(_) => self.push(node, LayerSpec::GlobalAvgPool, None),
            Node::ReduceMean(reduce) => {
                let spatial = matches!(&reduce.config.axes, onnx_ir::node::reduce::ReduceAxes::Static(a) if a == &[2, 3]);
                if !spatial || node.inputs()[0].ty.rank() != 4 {
                    return Err(self.fail(node, "ReduceMean is supported over the spatial axes [2, 3] of an image (global average pooling)"));
                }
                self.push(node, LayerSpec::GlobalAvgPool, None);
            }
            Node::Flatten(_) | Node::Reshape(_) => {
                let flat = node.outputs().first().is_some_and(|o| o.ty.rank() == 2);
                if !flat {
                    return Err(self.fail(node, "only a flatten to [batch, features] is supported"));
                }
                self.push(node, LayerSpec::Flatten, None);
            }
            Node::Dropout(_) | Node::Identity(_) => passthrough(self),
            Node::Softmax(_) | Node::LogSoftmax(_) if last => passthrough(self),
            _ => {
                return Err(self.fail(
                    node,
                    format!("this operator is not supported; qfront imports {SUPPORTED_OPERATORS}"),
                ));
            }
        }
        Ok(())
    }
}

/// Imports the float ONNX model at `path`.
pub fn import_onnx(path: &Path) -> Result<ImportedModel> {
    let fail = |reason: String| TrainError::OnnxImport {
        path: path.to_path_buf(),
        node: "the model".into(),
        reason,
    };
    if !path.is_file() {
        return Err(TrainError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such ONNX file"),
        });
    }
    let graph = OnnxGraphBuilder::new()
        .parse_file(path)
        .map_err(|e| fail(format!("not a readable ONNX model: {e}")))?;
    let [input] = graph.inputs.as_slice() else {
        return Err(fail(format!(
            "it has {} inputs; qfront imports models with one input (images or token ids)",
            graph.inputs.len()
        )));
    };
    let (rank, shape) = match &input.ty {
        ArgType::Tensor(t) => (t.rank, t.static_shape.clone().unwrap_or_default()),
        other => {
            return Err(fail(format!(
                "its input '{}' is {other:?}, not a tensor",
                input.name
            )))
        }
    };
    let input_shape = match (rank, shape.as_slice()) {
        (4, [_, Some(c), Some(h), Some(w)]) => ImportedInput::Image([*c, *h, *w]),
        (2, [_, Some(tokens)]) => ImportedInput::Tokens(*tokens),
        _ => return Err(fail(format!("its input '{}' is neither images [batch, channels, height, width] nor token ids [batch, tokens] with static sizes ({shape:?}); export with a fixed image size or token count", input.name))),
    };
    let mut importer = Importer {
        path,
        layers: Vec::new(),
        weights: Vec::new(),
        alphas: BTreeMap::new(),
        values: BTreeMap::from([(input.name.clone(), Value::Input)]),
        current: input.name.clone(),
        relus: 0,
    };
    let count = graph.nodes.len();
    for (i, node) in graph.nodes.iter().enumerate() {
        importer.node(node, i + 1 == count)?;
    }
    match graph.outputs.as_slice() {
        [output] if output.name == importer.current => {}
        outputs => {
            return Err(fail(format!(
                "its output must be the logits of the last node; it has {} outputs",
                outputs.len()
            )))
        }
    }
    let names = super::layer_spec::layer_names(&importer.layers);
    let layers = names
        .into_iter()
        .zip(importer.weights)
        .filter_map(|(name, w)| Some((name?, w?)))
        .collect();
    Ok(ImportedModel {
        layers: importer.layers,
        input: input_shape,
        weights: PretrainedWeights {
            layers,
            alphas: importer.alphas,
        },
    })
}
