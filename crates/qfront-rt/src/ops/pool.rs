//! Max and average pooling over windows of an image, without padding; the mean is rounded
//! half up to the input grid (`(Σu + n/2) / n`), so the output keeps the input's
//! quantization.

use super::window::{self, Window};
use super::{
    shape3, window_output, CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext,
};
use crate::format::ValueType;
use crate::kernels::KernelSet;
use crate::Result;

/// A pooling window.
pub(crate) struct Pool2d {
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Average (rounded) rather than max.
    pub average: bool,
}

impl Operator for Pool2d {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let Self { kernel, stride, .. } = self;
        let ([h, w, channels], activation) = cx.image("pooling")?;
        let oh = window_output(h, kernel[0], stride[0], 0);
        let ow = window_output(w, kernel[1], stride[1], 0);
        let (Some(oh), Some(ow)) = (oh, ow) else {
            return Err(cx.fail(format!(
                "window {kernel:?} / stride {stride:?} do not fit a {h}×{w} input"
            )));
        };
        Ok(ValueType::Quantized {
            shape: vec![oh, ow, channels],
            activation,
        })
    }

    fn prepare(&self, node: &NodeTypes<'_>, _: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        let out = shape3(node.output);
        Box::new(PreparedPool2d {
            window: Window {
                input: shape3(node.input()),
                kernel: self.kernel,
                stride: self.stride,
                padding: [0, 0],
                output: [out[0], out[1]],
            },
            average: self.average,
        })
    }

    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let name = if self.average {
            "avg-pool2d"
        } else {
            "max-pool2d"
        };
        Cost::moves(name, vec![kh, kw, sh, sw], node.output.elements())
    }
}

/// A pooling window ready to run.
#[derive(Debug)]
struct PreparedPool2d {
    window: Window,
    average: bool,
}

impl PreparedOp for PreparedPool2d {
    fn run(&self, cx: RunContext<'_>) {
        let per_in = self.window.input.iter().product::<usize>();
        let per_out = self.window.output[0] * self.window.output[1] * self.window.input[2];
        cx.output.codes.resize(cx.batch * per_out, 0);
        for b in 0..cx.batch {
            window::pool(
                &cx.input.codes[b * per_in..(b + 1) * per_in],
                &self.window,
                self.average,
                &mut cx.output.codes[b * per_out..(b + 1) * per_out],
                &mut cx.scratch.pool_sums,
            );
        }
    }
}
