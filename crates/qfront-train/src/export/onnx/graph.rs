//! A small writer for ONNX graphs on top of the official `onnx.proto` bindings that `onnx-ir`
//! generates (protobuf 3): unique value names, constant initializers and nodes with
//! attributes. Only the messages the QDQ export needs.

use onnx_ir::{AttributeProto, AttributeType, GraphProto, NodeProto, TensorProto};

/// ONNX element types (`TensorProto.DataType` in `onnx.proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// 32-bit float.
    Float = 1,
    /// Unsigned 8-bit.
    Uint8 = 2,
    /// Signed 8-bit.
    Int8 = 3,
    /// Signed 64-bit (token ids, shapes).
    Int64 = 7,
    /// Signed 4-bit, two per byte (IR 10, opset 21).
    Int4 = 22,
    /// Signed 2-bit, four per byte (IR 13, opset 25).
    Int2 = 26,
}

impl ElementType {
    /// Name as in `onnx.proto`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Float => "FLOAT",
            Self::Uint8 => "UINT8",
            Self::Int8 => "INT8",
            Self::Int64 => "INT64",
            Self::Int4 => "INT4",
            Self::Int2 => "INT2",
        }
    }
}

/// An attribute value.
#[derive(Debug, Clone)]
pub enum Attribute {
    /// One integer.
    Int(i64),
    /// A list of integers.
    Ints(Vec<i64>),
}

/// Nodes and initializers of a graph being written, in order.
#[derive(Debug, Default)]
pub struct GraphWriter {
    /// The graph so far (inputs and outputs are added by the caller).
    pub graph: GraphProto,
    counter: usize,
}

impl GraphWriter {
    /// A fresh value name starting with `stem`.
    pub fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("{stem}_{}", self.counter)
    }

    /// Adds a node computing `op_type(inputs)` and returns the name of its (single) output.
    pub fn node(
        &mut self,
        op_type: &str,
        stem: &str,
        inputs: &[&str],
        attributes: &[(&str, Attribute)],
    ) -> String {
        let output = self.fresh(stem);
        self.node_to(op_type, inputs, &output, attributes);
        output
    }

    /// Adds a node writing the value named `output`.
    pub fn node_to(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        output: &str,
        attributes: &[(&str, Attribute)],
    ) {
        let mut node = NodeProto::new();
        node.op_type = op_type.to_string();
        node.name = format!("{output}/{op_type}");
        node.input = inputs.iter().map(|s| s.to_string()).collect();
        node.output = vec![output.to_string()];
        for (name, value) in attributes {
            let mut attribute = AttributeProto::new();
            attribute.name = name.to_string();
            match value {
                Attribute::Int(v) => {
                    attribute.type_ = AttributeType::INT.into();
                    attribute.i = *v;
                }
                Attribute::Ints(v) => {
                    attribute.type_ = AttributeType::INTS.into();
                    attribute.ints = v.clone();
                }
            }
            node.attribute.push(attribute);
        }
        self.graph.node.push(node);
    }

    /// Adds an initializer holding `raw` bytes (little-endian, packed for sub-byte types).
    pub fn raw_tensor(
        &mut self,
        stem: &str,
        element: ElementType,
        dims: &[usize],
        raw: Vec<u8>,
    ) -> String {
        let name = self.fresh(stem);
        let mut tensor = TensorProto::new();
        tensor.name = name.clone();
        tensor.data_type = element as i32;
        tensor.dims = dims.iter().map(|&d| d as i64).collect();
        tensor.raw_data = raw.into();
        self.graph.initializer.push(tensor);
        name
    }

    /// A float initializer.
    pub fn floats(&mut self, stem: &str, dims: &[usize], values: &[f32]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw_tensor(stem, ElementType::Float, dims, raw)
    }

    /// A float scalar.
    pub fn scalar(&mut self, stem: &str, value: f32) -> String {
        self.floats(stem, &[], &[value])
    }

    /// A 1-D int64 initializer (axes, shapes, pads).
    pub fn int64s(&mut self, stem: &str, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw_tensor(stem, ElementType::Int64, &[values.len()], raw)
    }

    /// A scalar zero point of an 8-bit, 4-bit or 2-bit type.
    pub fn zero_point(&mut self, stem: &str, element: ElementType, value: i32) -> String {
        let raw = pack_integers(&[value], element);
        self.raw_tensor(stem, element, &[], raw)
    }
}

/// Little-endian packing of integers into `element`'s storage: one byte each for 8-bit
/// types, two per byte (first in the low nibble) for 4-bit, four per byte (first in the low
/// two bits) for 2-bit, as `onnx.proto` specifies for `raw_data`.
pub fn pack_integers(values: &[i32], element: ElementType) -> Vec<u8> {
    let width = match element {
        ElementType::Uint8 | ElementType::Int8 => 8,
        ElementType::Int4 => 4,
        ElementType::Int2 => 2,
        other => unreachable!("{} is not a packed integer type", other.name()),
    };
    let per_byte = 8 / width;
    let mask = (1u32 << width) - 1;
    let mut out = vec![0u8; values.len().div_ceil(per_byte)];
    for (i, &v) in values.iter().enumerate() {
        out[i / per_byte] |= (((v as u32) & mask) << ((i % per_byte) * width)) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_byte_packing_puts_the_first_value_in_the_low_bits() {
        assert_eq!(pack_integers(&[-8, 7, 1], ElementType::Int4), [0x78, 0x01]);
        assert_eq!(
            pack_integers(&[-2, 1, 0, -1, 1], ElementType::Int2),
            [0b1100_0110, 0b01]
        );
        assert_eq!(pack_integers(&[200, 7], ElementType::Uint8), [200, 7]);
        assert_eq!(pack_integers(&[-1, 5], ElementType::Int8), [0xff, 0x05]);
    }
}
