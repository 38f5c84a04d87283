//! Channel padding in the exported graph: a `Pad` of the channel axis with the real value 0
//! (the zero point's code).

use super::super::value::{Layout, Value};
use super::{fail, NodeExport};
use crate::Result;

/// Writes a channel padding of `extra` channels.
pub(super) fn export(cx: NodeExport<'_>, extra: usize) -> Result<Value> {
    let input = cx.input()?;
    let Layout::Image {
        channels,
        height,
        width,
    } = input.layout
    else {
        return Err(fail(cx.name, "channel padding of a non-image value"));
    };
    let pads = cx
        .graph
        .int64s("pads", &[0, 0, 0, 0, 0, extra as i64, 0, 0]);
    Ok(Value {
        name: cx
            .graph
            .node("Pad", "padded_channels", &[&input.name, &pads], &[]),
        layout: Layout::Image {
            channels: channels + extra,
            height,
            width,
        },
        ..input
    })
}
