//! Flatten: `[h, w, c]` (or `[tokens, features]`) → `[h·w·c]`. The codes are already in that
//! order (channels last), so a run copies them.

use super::{CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::ValueType;
use crate::kernels::KernelSet;
use crate::Result;

/// Flatten.
pub(crate) struct Flatten;

impl Operator for Flatten {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let (shape, activation) = cx.quantized("flatten")?;
        Ok(ValueType::Quantized {
            shape: vec![shape.iter().product()],
            activation,
        })
    }

    fn prepare(&self, node: &NodeTypes<'_>, _: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        Box::new(PreparedFlatten {
            elements: node.output.elements(),
        })
    }

    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        Cost::moves("flatten", vec![], node.output.elements())
    }
}

/// Flatten ready to run.
#[derive(Debug)]
struct PreparedFlatten {
    elements: usize,
}

impl PreparedOp for PreparedFlatten {
    fn run(&self, cx: RunContext<'_>) {
        cx.output.codes.clear();
        cx.output
            .codes
            .extend_from_slice(&cx.input.codes[..cx.batch * self.elements]);
    }
}
