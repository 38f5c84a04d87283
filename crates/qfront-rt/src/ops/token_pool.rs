//! Pooling over the real (non-padding, id ≠ 0) tokens of an utterance: `[tokens, dim]` →
//! `[dim]` max codes, or per-feature sums of `u − z` with the token count (mean: the
//! classifier that reads them divides).

use super::{zero_point, CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::{TokenPooling, ValueType};
use crate::kernels::KernelSet;
use crate::Result;

/// Token pooling.
pub(crate) struct TokenPool {
    /// Mean or max.
    pub mode: TokenPooling,
}

impl Operator for TokenPool {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let (shape, activation) = cx.quantized("token pooling")?;
        let [tokens, features] = shape[..] else {
            return Err(cx.fail(format!(
                "token pooling needs [tokens, features], got {shape:?}"
            )));
        };
        // Padding is told by the token ids, so the sequence must keep one row per id.
        if let crate::format::InputSpec::Tokens { max_tokens, .. } = cx.model_input() {
            cx.ensure(tokens == *max_tokens, || {
                format!("pools a sequence of {tokens} rows, but the input has {max_tokens} tokens (a convolution over tokens must keep the length: pad it)")
            })?;
        }
        Ok(match self.mode {
            TokenPooling::Mean => ValueType::PooledSum {
                features,
                scale: activation.scale,
            },
            TokenPooling::Max => ValueType::Quantized {
                shape: vec![features],
                activation,
            },
        })
    }

    fn prepare(&self, node: &NodeTypes<'_>, _: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        let input = node.input();
        let ValueType::Quantized { shape, .. } = input else {
            unreachable!("validated: a token sequence")
        };
        Box::new(PreparedTokenPool {
            mode: self.mode,
            tokens: shape[0],
            dim: shape[1],
            zero_point: zero_point(input),
        })
    }

    /// Reads every input element once.
    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        let name = match self.mode {
            TokenPooling::Mean => "token-mean",
            TokenPooling::Max => "token-max",
        };
        Cost::moves(name, vec![], node.input().elements())
    }
}

/// Token pooling ready to run.
#[derive(Debug)]
struct PreparedTokenPool {
    mode: TokenPooling,
    tokens: usize,
    dim: usize,
    zero_point: i32,
}

impl PreparedOp for PreparedTokenPool {
    fn run(&self, cx: RunContext<'_>) {
        let (tokens, dim) = (self.tokens, self.dim);
        let per_in = tokens * dim;
        let out = cx.output;
        match self.mode {
            TokenPooling::Mean => {
                out.sums.resize(cx.batch * dim, 0);
                out.counts.clear();
                for b in 0..cx.batch {
                    let count = token_sums(
                        &cx.input.codes[b * per_in..(b + 1) * per_in],
                        &cx.ids[b * tokens..(b + 1) * tokens],
                        dim,
                        self.zero_point,
                        &mut out.sums[b * dim..],
                    );
                    out.counts.push(count);
                }
            }
            TokenPooling::Max => {
                out.codes.resize(cx.batch * dim, 0);
                for b in 0..cx.batch {
                    token_max(
                        &cx.input.codes[b * per_in..(b + 1) * per_in],
                        &cx.ids[b * tokens..(b + 1) * tokens],
                        dim,
                        self.zero_point as u8,
                        &mut out.codes[b * dim..(b + 1) * dim],
                    );
                }
            }
        }
    }
}

/// Sums of `(u − zero_point)` over the real tokens of one example `[tokens, dim]`; returns
/// how many tokens were real.
fn token_sums(input: &[u8], ids: &[u32], dim: usize, zero_point: i32, out: &mut [i32]) -> u32 {
    out[..dim].fill(0);
    let mut count = 0;
    for (t, _) in ids.iter().enumerate().filter(|(_, &id)| id != 0) {
        count += 1;
        for (o, &v) in out.iter_mut().zip(&input[t * dim..(t + 1) * dim]) {
            *o += v as i32 - zero_point;
        }
    }
    count
}

/// Max over the real tokens of one example (the zero point when there are none).
fn token_max(input: &[u8], ids: &[u32], dim: usize, zero_point: u8, out: &mut [u8]) {
    let mut any = false;
    for (t, _) in ids.iter().enumerate().filter(|(_, &id)| id != 0) {
        let row = &input[t * dim..(t + 1) * dim];
        if any {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (*o).max(v);
            }
        } else {
            out[..dim].copy_from_slice(row);
            any = true;
        }
    }
    if !any {
        out[..dim].fill(zero_point);
    }
}
