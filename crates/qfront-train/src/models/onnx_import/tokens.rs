//! The token operators of an imported NLU model: `Gather` (embedding), 1-D `Conv` over
//! tokens, and `ReduceMax`/`ReduceMean` over the token axis (`token_pool`).

use super::{Importer, Value};
use crate::models::layer_spec::LayerSpec;
use crate::models::pretrained::LayerWeights;
use crate::Result;
use onnx_ir::Node;

impl Importer<'_> {
    pub(super) fn embedding(&mut self, node: &Node) -> Result<()> {
        let inputs = node.inputs();
        let (Some(table), Some(ids)) = (inputs.first(), inputs.get(1)) else {
            return Err(self.fail(node, "Gather takes a table and indices"));
        };
        if ids.name != self.current || !matches!(self.values.get(&ids.name), Some(Value::Input)) {
            return Err(self.fail(
                node,
                "only an embedding lookup of the model's token-id input is supported",
            ));
        }
        let weight = self.constant(node, Some(table), "table")?;
        let shape = weight.shape().to_vec();
        if shape.len() != 2 || shape[0] < 2 {
            return Err(self.fail(
                node,
                format!("its table has shape {shape:?}, not [rows, dim]"),
            ));
        }
        let layer = LayerSpec::Embedding {
            name: None,
            dim: shape[1],
            buckets: Some(shape[0] - 1),
            vocabulary: None,
        };
        let weights = LayerWeights {
            weight,
            bias: None,
            batch_norm: None,
        };
        self.push_as(node, layer, Some(weights), Value::Tokens(false));
        Ok(())
    }

    pub(super) fn conv1d(&mut self, node: &Node) -> Result<()> {
        let Node::Conv1d(conv) = node else {
            unreachable!()
        };
        let c = &conv.config;
        if self.token_layout() != Some(true) {
            return Err(self.fail(node, "a 1-D convolution reads token features as [batch, features, tokens] (a Transpose after the embedding)"));
        }
        let padding = match c.padding {
            onnx_ir::node::padding::PaddingConfig1d::Explicit(a, b) if a == b => a,
            onnx_ir::node::padding::PaddingConfig1d::Valid => 0,
            _ => usize::MAX,
        };
        if c.stride != 1
            || c.dilation != 1
            || c.groups != 1
            || c.kernel_size % 2 == 0
            || padding != c.kernel_size / 2
        {
            return Err(self.fail(node, format!("qfront's 1-D convolution over tokens has an odd kernel, \"same\" padding (kernel/2), stride 1, dilation 1 and groups 1; this one has kernel {}, padding {:?}, stride {}, dilation {}, groups {}", c.kernel_size, c.padding, c.stride, c.dilation, c.groups)));
        }
        let weight = self.constant(node, node.inputs().get(1), "weight")?;
        let channels = weight.shape()[0];
        let layer = LayerSpec::Conv1d {
            name: None,
            channels,
            kernel: c.kernel_size,
        };
        let weights = LayerWeights {
            weight,
            bias: self.optional_bias(node)?,
            batch_norm: None,
        };
        self.push_as(node, layer, Some(weights), Value::Tokens(true));
        Ok(())
    }

    pub(super) fn token_pool(
        &mut self,
        node: &Node,
        axes: &onnx_ir::node::reduce::ReduceAxes,
        keepdims: bool,
        mode: crate::spec::Pooling,
    ) -> Result<()> {
        let Some(features_first) = self.token_layout() else {
            return Err(self.fail(node, "ReduceMax is supported over the tokens of token features; ReduceMean over the tokens or over an image's H and W"));
        };
        let token_axis = if features_first { 2 } else { 1 };
        if !matches!(axes, onnx_ir::node::reduce::ReduceAxes::Static(a) if a == &[token_axis])
            || keepdims
        {
            return Err(self.fail(
                node,
                format!("pooling over tokens reduces axis {token_axis} without keepdims"),
            ));
        }
        self.push(node, LayerSpec::TokenPool { mode }, None);
        Ok(())
    }
}
