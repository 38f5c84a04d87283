//! Channel padding: appends channels holding the zero point to every position (the option-A
//! shortcut of ResNets, where a residual must gain channels without weights).

use super::{shape3, zero_point, CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::{ValueType, MAX_ELEMENTS};
use crate::kernels::KernelSet;
use crate::Result;

/// Channel padding.
pub(crate) struct PadChannels {
    /// Channels added.
    pub extra: usize,
}

impl Operator for PadChannels {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let ([h, w, channels], activation) = cx.image("channel padding")?;
        let channels = channels
            .checked_add(self.extra)
            .filter(|&n| h * w * n <= MAX_ELEMENTS)
            .ok_or_else(|| cx.fail("too many channels"))?;
        Ok(ValueType::Quantized {
            shape: vec![h, w, channels],
            activation,
        })
    }

    fn prepare(&self, node: &NodeTypes<'_>, _: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        let input = node.input();
        Box::new(PreparedPadChannels {
            channels: shape3(input)[2],
            extra: self.extra,
            fill: zero_point(input) as u8,
            input_elements: input.elements(),
        })
    }

    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        Cost::moves("pad-channels", vec![self.extra], node.output.elements())
    }
}

/// Channel padding ready to run.
#[derive(Debug)]
struct PreparedPadChannels {
    channels: usize,
    extra: usize,
    fill: u8,
    input_elements: usize,
}

impl PreparedOp for PreparedPadChannels {
    fn run(&self, cx: RunContext<'_>) {
        let per_in = self.input_elements;
        let per_out = per_in / self.channels * (self.channels + self.extra);
        cx.output.codes.resize(cx.batch * per_out, 0);
        pad_channels(
            &cx.input.codes[..cx.batch * per_in],
            self.channels,
            self.extra,
            self.fill,
            &mut cx.output.codes,
        );
    }
}

/// Appends `extra` channels holding `fill` to every position of `[positions, c]`.
fn pad_channels(input: &[u8], channels: usize, extra: usize, fill: u8, out: &mut [u8]) {
    let positions = input.len() / channels;
    let wide = channels + extra;
    for p in 0..positions {
        out[p * wide..p * wide + channels]
            .copy_from_slice(&input[p * channels..(p + 1) * channels]);
        out[p * wide + channels..(p + 1) * wide].fill(fill);
    }
}
