//! The weighted and structural operators of an imported model: `Conv`, `BatchNormalization`,
//! `Gemm`/`MatMul` (`linear`), pooling windows, biases and residual `Add`s.

use super::{Importer, Value, BURN_BATCH_NORM_EPSILON};
use crate::models::layer_spec::{Groups, GroupsName, LayerSpec};
use crate::models::pretrained::{BatchNormWeights, LayerWeights};
use crate::Result;
use burn::tensor::TensorData;
use onnx_ir::node::padding::PaddingConfig2d;
use onnx_ir::Node;

impl Importer<'_> {
    pub(super) fn conv(&mut self, node: &Node) -> Result<()> {
        let Node::Conv2d(conv) = node else {
            unreachable!()
        };
        let c = &conv.config;
        if c.dilation != [1, 1] {
            return Err(self.fail(
                node,
                "dilated convolutions are not supported; use dilation 1",
            ));
        }
        if c.kernel_size[0] != c.kernel_size[1] || c.stride[0] != c.stride[1] {
            return Err(self.fail(
                node,
                format!(
                    "kernel {:?} and stride {:?} must be square",
                    c.kernel_size, c.stride
                ),
            ));
        }
        let padding = match c.padding {
            PaddingConfig2d::Valid => 0,
            PaddingConfig2d::Explicit(a, b, d, e) if a == b && b == d && d == e => a,
            PaddingConfig2d::Explicit(..) => {
                return Err(self.fail(
                    node,
                    format!("padding {:?} must be the same on every side", c.padding),
                ))
            }
        };
        let weight = self.constant(node, node.inputs().get(1), "weight")?;
        let channels = weight.shape()[0];
        let in_channels = weight.shape()[1] * c.groups;
        let groups = match c.groups {
            1 => None,
            g if g == in_channels && g == channels => Some(Groups::Named(GroupsName::Depthwise)),
            g => Some(Groups::Count(g)),
        };
        let bias = self.optional_bias(node)?;
        self.push(
            node,
            LayerSpec::Conv2d {
                name: None,
                channels,
                kernel: c.kernel_size[0],
                stride: c.stride[0],
                padding: Some(padding),
                groups,
            },
            Some(LayerWeights {
                weight,
                bias,
                batch_norm: None,
            }),
        );
        Ok(())
    }

    pub(super) fn batch_norm(&mut self, node: &Node) -> Result<()> {
        let Node::BatchNormalization(bn) = node else {
            unreachable!()
        };
        let epsilon = match &bn.config {
            onnx_ir::node::batch_norm::BatchNormConfig::Static(c) => c.epsilon,
            onnx_ir::node::batch_norm::BatchNormConfig::Runtime(c) => c.epsilon,
        };
        let inputs = node.inputs();
        let gamma = self.floats(node, inputs.get(1), "scale")?;
        let beta = self.floats(node, inputs.get(2), "bias")?;
        let mut mean = self.floats(node, inputs.get(3), "mean")?;
        let variance = self.floats(node, inputs.get(4), "variance")?;
        let Some(index) = self
            .current_layer()
            .filter(|&i| matches!(self.layers[i], LayerSpec::Conv2d { .. }))
        else {
            return Err(self.fail(node, "BatchNormalization must directly follow a Conv"));
        };
        let weights = self.weights[index].as_mut().expect("a conv has weights");
        // A conv bias before BatchNorm shifts the mean: BN(x + b) = BN'(x) with μ' = μ − b.
        if let Some(bias) = weights.bias.take() {
            for (m, b) in mean.iter_mut().zip(bias) {
                *m -= b;
            }
        }
        let shift = (epsilon - BURN_BATCH_NORM_EPSILON) as f32;
        weights.batch_norm = Some(BatchNormWeights {
            gamma,
            beta,
            mean,
            variance: variance.iter().map(|v| v + shift).collect(),
        });
        self.push(node, LayerSpec::BatchNorm, None);
        Ok(())
    }

    pub(super) fn linear(
        &mut self,
        node: &Node,
        weight: TensorData,
        transposed: bool,
        bias: Option<Vec<f32>>,
    ) -> Result<()> {
        // qfront's layout is [out, in]; MatMul's constant is [in, out].
        let weight = if transposed {
            weight
        } else {
            let [rows, cols] = [weight.shape()[0], weight.shape()[1]];
            let v = weight
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| self.fail(node, format!("weight: {e:?}")))?;
            let mut t = vec![0.0f32; v.len()];
            for r in 0..rows {
                for c in 0..cols {
                    t[c * rows + r] = v[r * cols + c];
                }
            }
            TensorData::new(t, [cols, rows])
        };
        if weight.shape().len() != 2 {
            return Err(self.fail(
                node,
                format!("its weight has shape {:?}, not [out, in]", weight.shape()),
            ));
        }
        let features = weight.shape()[0];
        self.push(
            node,
            LayerSpec::Linear {
                name: None,
                features: Some(features),
            },
            Some(LayerWeights {
                weight,
                bias,
                batch_norm: None,
            }),
        );
        Ok(())
    }

    /// `[kernel, stride]` of a square pooling window without padding, dilation or ceil mode.
    pub(super) fn pool_window(
        &self,
        node: &Node,
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: &PaddingConfig2d,
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Result<[usize; 2]> {
        let unpadded = matches!(
            padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        );
        if !unpadded || dilation != [1, 1] || ceil_mode {
            return Err(self.fail(
                node,
                "only pooling without padding, dilation or ceil_mode is supported",
            ));
        }
        if kernel[0] != kernel[1] || strides[0] != strides[1] {
            return Err(self.fail(node, "the window and stride must be square"));
        }
        Ok([kernel[0], strides[0]])
    }

    /// The third input, a bias: absent (no argument, or ONNX's empty name for an omitted
    /// optional input), or a constant; a computed bias is refused.
    pub(super) fn optional_bias(&self, node: &Node) -> Result<Option<Vec<f32>>> {
        match node.inputs().get(2) {
            Some(arg) if !arg.name.is_empty() || arg.value().is_some() => {
                Ok(Some(self.floats(node, Some(arg), "bias")?))
            }
            _ => Ok(None),
        }
    }

    pub(super) fn add(&mut self, node: &Node) -> Result<()> {
        let inputs = node.inputs();
        if inputs.len() != 2 {
            return Err(self.fail(node, "Add takes two inputs"));
        }
        // A constant operand: the bias of a MatMul before it.
        if let Some(constant) = inputs.iter().position(|a| a.value().is_some()) {
            let other = &inputs[1 - constant];
            let is_linear = other.name == self.current
                && self
                    .current_layer()
                    .is_some_and(|i| matches!(self.layers[i], LayerSpec::Linear { .. }));
            if !is_linear {
                return Err(self.fail(
                    node,
                    "adding a constant is only supported as the bias of a MatMul",
                ));
            }
            let bias = self.floats(node, Some(&inputs[constant]), "bias")?;
            let weights = self.last_weighted().expect("a linear layer has weights");
            match &mut weights.bias {
                Some(b) if b.len() == bias.len() => {
                    b.iter_mut().zip(&bias).for_each(|(x, y)| *x += y)
                }
                slot => *slot = Some(bias),
            }
            if let Some(out) = node.outputs().first() {
                let value = self.values[&self.current].clone();
                self.current = out.name.clone();
                self.values.insert(out.name.clone(), value);
            }
            return Ok(());
        }
        let (main, residual) = if inputs[0].name == self.current {
            (&inputs[0], &inputs[1])
        } else {
            (&inputs[1], &inputs[0])
        };
        if main.name != self.current {
            return Err(self.fail(node, "neither input is the output of the node before it"));
        }
        let after_conv = self.current_layer().is_some_and(|i| {
            matches!(
                self.layers[i],
                LayerSpec::Conv2d { .. } | LayerSpec::BatchNorm
            )
        });
        if !after_conv {
            return Err(self.fail(node, "a residual Add must add to the output of a Conv (or its BatchNormalization), before the ReLU"));
        }
        let Some(Value::Relu(from)) = self.values.get(&residual.name).cloned() else {
            return Err(self.fail(node, format!("its residual input '{}' is not the output of an earlier Relu; qfront supports identity shortcuts (projection shortcuts are not supported yet)", residual.name)));
        };
        self.push(node, LayerSpec::Add { from }, None);
        Ok(())
    }
}
