//! Export of a `.qfm` model to ONNX as a standard QDQ graph, so a front model runs in ONNX
//! Runtime, and through its converters, TensorRT, OpenVINO and mobile runtimes.
//!
//! * Weights are integer initializers at their width (INT2, INT4, INT8; opset 25, IR 13)
//!   behind `DequantizeLinear` with per-channel scales and zero points (`weights.rs`).
//! * Every activation is rounded to its PACT grid by a `QuantizeLinear`/`DequantizeLinear`
//!   pair (UINT8 codes, after a `Clip` to the grid for widths below 8), so the float graph holds
//!   exactly the runtime's codes as real values (`value.rs`); each operator's nodes are in
//!   `ops/`, one file per operator as in the runtime.
//! * Scales and biases are derived from the `.qfm`'s fixed-point multipliers, so ONNX
//!   Runtime computes what `qfront-rt` computes up to float rounding
//!   (`docs/onnx-export.md`).
//!
//! Inputs: `image` float `[N, C, H, W]` (the training layout, quantized to the input grid in
//! the graph) or `tokens` int64 `[N, T]` (ids as `qfront-rt` reads them, 0 = padding).
//! Output: `logits` float `[N, classes]`. Class names, the vocabulary and the input grid are
//! stored as metadata.
//!
//! The protobuf messages are the official `onnx.proto` bindings that `onnx-ir` (already used
//! for import) generates; nothing is written by hand at the byte level.

mod graph;
mod ops;
mod value;
mod weights;

pub use weights::WeightStorage;

use crate::{Result, TrainError};
use graph::{ElementType, GraphWriter};
use onnx_ir::{Message, ModelProto, TensorShapeProto, ValueInfoProto};
use qfront_rt::format::InputSpec;
use qfront_rt::QfmFile;
use value::Value;

/// The ONNX operator set the graph uses (25: INT2/UINT2 in `DequantizeLinear`).
pub const OPSET: i64 = 25;
/// The IR version of opset 25 (ONNX 1.20).
pub const IR_VERSION: i64 = 13;

/// An exported model and how its weights were stored.
#[derive(Debug, Clone)]
pub struct OnnxExport {
    /// The serialized `ModelProto`.
    pub bytes: Vec<u8>,
    /// One entry per weighted layer and embedding.
    pub weights: Vec<WeightStorage>,
    /// Name of the graph input (`image` or `tokens`).
    pub input: &'static str,
}

fn fail(layer: &str, reason: impl Into<String>) -> TrainError {
    TrainError::Export {
        layer: layer.into(),
        reason: reason.into(),
    }
}

fn tensor_type(element: ElementType, dims: &[Option<usize>]) -> onnx_ir::TypeProto {
    let mut value_type = onnx_ir::TypeProto::new();
    let tensor = value_type.mut_tensor_type();
    tensor.elem_type = element as i32;
    let mut shape = TensorShapeProto::new();
    for dim in dims {
        shape.dim.push(Default::default());
        let last = shape.dim.last_mut().expect("pushed");
        match dim {
            Some(d) => last.set_dim_value(*d as i64),
            None => last.set_dim_param("batch".into()),
        }
    }
    tensor.shape = Some(shape).into();
    value_type
}

fn value_info(name: &str, element: ElementType, dims: &[Option<usize>]) -> ValueInfoProto {
    let mut info = ValueInfoProto::new();
    info.name = name.to_string();
    info.type_ = Some(tensor_type(element, dims)).into();
    info
}

/// Converts a validated `.qfm` model to an ONNX QDQ model.
pub fn to_onnx(file: &QfmFile) -> Result<OnnxExport> {
    let layout = file.layout();
    let model = &file.model;
    let mut graph = GraphWriter::default();
    graph.graph.name = model.name.clone();
    let mut values: Vec<Option<Value>> = Vec::with_capacity(model.nodes.len());
    let mut storage = Vec::new();
    let (input_name, ids) = match &model.input {
        InputSpec::Image {
            height,
            width,
            channels,
            ..
        } => {
            graph.graph.input.push(value_info(
                "image",
                ElementType::Float,
                &[None, Some(*channels), Some(*height), Some(*width)],
            ));
            ("image", None)
        }
        InputSpec::Tokens { max_tokens, .. } => {
            graph.graph.input.push(value_info(
                "tokens",
                ElementType::Int64,
                &[None, Some(*max_tokens)],
            ));
            ("tokens", Some("tokens".to_string()))
        }
    };
    for (index, node) in model.nodes.iter().enumerate() {
        let value = ops::export_node(
            &node.op,
            ops::NodeExport {
                graph: &mut graph,
                file,
                name: &node.name,
                input: node.inputs.first().and_then(|&j| values[j].clone()),
                residual: node.inputs.get(1).and_then(|&j| values[j].clone()),
                output: &layout.values[index],
                ids: ids.as_deref(),
                storage: &mut storage,
            },
        )?;
        values.push(value);
    }
    let classes = layout.classes();
    let last = values
        .last()
        .cloned()
        .flatten()
        .ok_or_else(|| fail("output", "the model has no output value"))?;
    graph.node_to("Identity", &[&last.name], "logits", &[]);
    graph.graph.output.push(value_info(
        "logits",
        ElementType::Float,
        &[None, Some(classes)],
    ));

    let mut proto = ModelProto::new();
    proto.ir_version = IR_VERSION;
    proto.producer_name = "qfront".into();
    proto.producer_version = env!("CARGO_PKG_VERSION").into();
    proto.doc_string = format!(
        "{}: quantized model exported from qfront (.qfm by {})",
        model.name, model.producer
    );
    proto.opset_import.push(Default::default());
    proto.opset_import[0].version = OPSET;
    let mut metadata = vec![(
        "qfront.input".to_string(),
        serde_json::to_string(&model.input).expect("serialises"),
    )];
    if !model.labels.is_empty() {
        metadata.push((
            "qfront.labels".into(),
            serde_json::to_string(&model.labels).expect("serialises"),
        ));
    }
    for (key, value) in metadata {
        proto.metadata_props.push(Default::default());
        let entry = proto.metadata_props.last_mut().expect("pushed");
        entry.key = key;
        entry.value = value;
    }
    proto.graph = Some(graph.graph).into();
    let bytes = proto
        .write_to_bytes()
        .map_err(|e| fail("model", format!("protobuf encoding failed: {e}")))?;
    Ok(OnnxExport {
        bytes,
        weights: storage,
        input: input_name,
    })
}
