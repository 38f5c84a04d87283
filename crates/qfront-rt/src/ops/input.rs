//! The model input (node 0): images quantized to the input grid, or token ids. Its values are
//! written by the session ([`quantize_images`], or the ids copied), never by a run.

use super::{Buffer, CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::{ActivationSpec, InputSpec, ValueType, MAX_ELEMENTS};
use crate::kernels::KernelSet;
use crate::Result;

/// The input node.
pub(crate) struct Input;

impl Operator for Input {
    fn arity(&self) -> usize {
        0
    }

    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        match cx.model_input() {
            InputSpec::Image {
                height,
                width,
                channels,
                scale,
                zero_point,
            } => {
                let activation = ActivationSpec {
                    bits: 8,
                    scale: *scale,
                    zero_point: *zero_point,
                };
                cx.activation(&activation)?;
                let n = height
                    .checked_mul(*width)
                    .and_then(|n| n.checked_mul(*channels))
                    .filter(|&n| (1..=MAX_ELEMENTS).contains(&n));
                cx.ensure(n.is_some(), || {
                    "input image size is empty or too large".into()
                })?;
                Ok(ValueType::Quantized {
                    shape: vec![*height, *width, *channels],
                    activation,
                })
            }
            InputSpec::Tokens {
                max_tokens,
                vocabulary,
                words,
            } => {
                cx.ensure(*max_tokens >= 1 && *max_tokens <= 1 << 16, || {
                    format!("max_tokens {max_tokens} outside 1..=65536")
                })?;
                cx.ensure(*vocabulary >= 1, || "vocabulary is empty".into())?;
                cx.ensure(words.is_empty() || words.len() == *vocabulary, || {
                    format!(
                        "{} vocabulary words for {vocabulary} embedding rows",
                        words.len()
                    )
                })?;
                Ok(ValueType::Tokens { count: *max_tokens })
            }
        }
    }

    fn prepare(&self, _: &NodeTypes<'_>, _: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        Box::new(PreparedInput)
    }

    /// Quantizing the input moves each of its elements once.
    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        let elements = node.output.elements();
        Cost::moves("input", vec![elements], elements)
    }
}

/// The input needs no preparation.
#[derive(Debug)]
struct PreparedInput;

impl PreparedOp for PreparedInput {
    /// Nothing to compute: the session loads the input before a run.
    fn run(&self, _: RunContext<'_>) {}
}

/// Quantizes `batch` images (floats, `[channels, height, width]` per example, checked) into
/// `codes` (`[height, width, channels]` per example): `u = clamp(round(x/scale) + z, 0, 255)`
/// with round half away from zero.
pub(crate) fn quantize_images(input: &InputSpec, images: &[f32], batch: usize, out: &mut Buffer) {
    let InputSpec::Image {
        height,
        width,
        channels,
        scale,
        zero_point,
    } = *input
    else {
        unreachable!("checked: an image model")
    };
    let per = height * width * channels;
    let codes = &mut out.codes;
    codes.clear();
    codes.resize(batch * per, 0);
    let inverse = 1.0 / scale;
    if channels == 1 {
        // One channel: the layouts coincide, and a plain zip lets the compiler vectorise.
        for (code, &x) in codes.iter_mut().zip(&images[..batch * per]) {
            *code = quantize_one(x, inverse, zero_point);
        }
        return;
    }
    for b in 0..batch {
        for c in 0..channels {
            for p in 0..height * width {
                let x = images[b * per + c * height * width + p];
                codes[b * per + p * channels + c] = quantize_one(x, inverse, zero_point);
            }
        }
    }
}

/// `clamp(round(x·inverse) + zero_point, 0, 255)`, rounding half away from zero without a
/// libm call: |v| + 0.5, truncated, with the sign put back.
#[inline(always)]
fn quantize_one(x: f32, inverse: f32, zero_point: i32) -> u8 {
    let v = x * inverse;
    let q = (v.abs() + 0.5) as i32 * if v < 0.0 { -1 } else { 1 } + zero_point;
    q.clamp(0, 255) as u8
}
