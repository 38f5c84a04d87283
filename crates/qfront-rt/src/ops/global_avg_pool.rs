//! Global average pooling: per-channel sums of `u − z` over all positions, with the count;
//! the classifier that reads them divides (its scale absorbs `1/count`).

use super::{shape3, zero_point, CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::ValueType;
use crate::kernels::KernelSet;
use crate::Result;

/// Global average pooling.
pub(crate) struct GlobalAvgPool;

impl Operator for GlobalAvgPool {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let ([_, _, channels], activation) = cx.image("global average pooling")?;
        Ok(ValueType::PooledSum {
            features: channels,
            scale: activation.scale,
        })
    }

    fn prepare(&self, node: &NodeTypes<'_>, _: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        let input = node.input();
        Box::new(PreparedGlobalAvgPool {
            channels: shape3(input)[2],
            input_elements: input.elements(),
            zero_point: zero_point(input),
        })
    }

    /// Reads every input element once.
    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        Cost::moves("global-avg-pool", vec![], node.input().elements())
    }
}

/// Global average pooling ready to run.
#[derive(Debug)]
struct PreparedGlobalAvgPool {
    channels: usize,
    input_elements: usize,
    zero_point: i32,
}

impl PreparedOp for PreparedGlobalAvgPool {
    fn run(&self, cx: RunContext<'_>) {
        let (channels, per_in) = (self.channels, self.input_elements);
        let out = cx.output;
        out.sums.resize(cx.batch * channels, 0);
        out.counts.clear();
        for b in 0..cx.batch {
            channel_sums(
                &cx.input.codes[b * per_in..(b + 1) * per_in],
                channels,
                self.zero_point,
                &mut out.sums[b * channels..],
            );
            out.counts.push((per_in / channels) as u32);
        }
    }
}

/// Per-channel sums of `(u − zero_point)` over all positions of one example `[positions, c]`.
fn channel_sums(input: &[u8], channels: usize, zero_point: i32, out: &mut [i32]) {
    out[..channels].fill(0);
    let positions = input.len() / channels;
    for p in 0..positions {
        for (o, &v) in out.iter_mut().zip(&input[p * channels..(p + 1) * channels]) {
            *o += v as i32;
        }
    }
    for o in out[..channels].iter_mut() {
        *o -= zero_point * positions as i32;
    }
}
