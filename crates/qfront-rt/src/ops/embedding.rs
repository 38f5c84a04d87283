//! Embedding lookup of token ids: `[tokens]` → `[tokens, dim]` u8 codes. The table stays
//! packed at its width in memory; each looked-up row becomes activations
//! `u = factor·c + offset` on a grid with zero point 128 ([`embedding_activation`]).

use super::{CheckContext, Cost, NodeTypes, Operator, PreparedOp, RunContext};
use crate::format::{ActivationSpec, InputSpec, ValueType, WeightSpec};
use crate::kernels::KernelSet;
use crate::Result;
use qfront_quant::packing::code_range;
use qfront_quant::BitWidth;

/// How an embedding table's codes become u8 activations: `u = factor·c + offset`, with the
/// activation `scale` and zero point 128 (see [`embedding_activation`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddingMapping {
    /// 1, or 2 for tables on a half-step (no-zero) grid.
    pub factor: i32,
    /// Added after scaling.
    pub offset: i32,
    /// The activation it produces.
    pub activation: ActivationSpec,
}

/// The activation an embedding table produces: `u = c − z + 128` (integral zero point) or
/// `u = 2c − z₂ + 128` at half the step (no-zero grids); `None` when the codes do not fit u8.
pub fn embedding_activation(weights: &WeightSpec) -> Option<EmbeddingMapping> {
    let z2 = *weights.zero_point_x2.first()?;
    let step = *weights.scale.first()?;
    let (lo, hi) = code_range(BitWidth::new(weights.bits).ok()?);
    let (factor, offset, scale) = if z2 % 2 == 0 {
        (1, 128 - z2 / 2, step)
    } else {
        (2, 128 - z2, step / 2.0)
    };
    let fits = |c: i32| (0..=255).contains(&(factor * c + offset));
    (fits(lo) && fits(hi)).then_some(EmbeddingMapping {
        factor,
        offset,
        activation: ActivationSpec {
            bits: 8,
            scale,
            zero_point: 128,
        },
    })
}

/// An embedding lookup.
pub(crate) struct Embedding<'a> {
    /// The table `[vocabulary, dim]`.
    pub weights: &'a WeightSpec,
}

impl Operator for Embedding<'_> {
    fn output_type(&self, cx: &CheckContext<'_>) -> Result<ValueType> {
        let weights = self.weights;
        let ValueType::Tokens { count } = cx.input() else {
            return Err(cx.fail("an embedding reads the token input"));
        };
        cx.weights(weights)?;
        let InputSpec::Tokens { vocabulary, .. } = *cx.model_input() else {
            unreachable!("token values come only from a token input")
        };
        cx.ensure(weights.rows == vocabulary, || {
            format!(
                "table has {} rows for a vocabulary of {vocabulary}",
                weights.rows
            )
        })?;
        cx.ensure(weights.scale.len() == 1 && weights.zero_point_x2.len() == 1, || {
            "an embedding table needs one scale for the whole table (per-row scales cannot share one activation grid)".into()
        })?;
        let mapping = embedding_activation(weights).ok_or_else(|| {
            cx.fail("the table's codes do not fit a u8 activation (8-bit tables need an integral zero point, e.g. min-max weights)")
        })?;
        Ok(ValueType::Quantized {
            shape: vec![*count, weights.columns],
            activation: mapping.activation,
        })
    }

    fn prepare(&self, node: &NodeTypes<'_>, blob: &[u8], _: KernelSet) -> Box<dyn PreparedOp> {
        let weights = self.weights;
        let start = weights.data.offset as usize;
        Box::new(PreparedEmbedding {
            table: EmbeddingTable {
                packed: blob[start..start + weights.data.length as usize].to_vec(),
                bits: BitWidth::new(weights.bits).expect("validated"),
                dim: weights.columns,
            },
            mapping: embedding_activation(weights).expect("validated"),
            output_elements: node.output.elements(),
        })
    }

    fn cost(&self, node: &NodeTypes<'_>) -> Cost {
        let w = self.weights;
        Cost {
            weight_bits: w.bits,
            ..Cost::moves("embedding", vec![w.rows, w.columns], node.output.elements())
        }
    }
}

/// An embedding ready to run.
#[derive(Debug)]
struct PreparedEmbedding {
    table: EmbeddingTable,
    mapping: EmbeddingMapping,
    output_elements: usize,
}

impl PreparedOp for PreparedEmbedding {
    fn run(&self, cx: RunContext<'_>) {
        let per_out = self.output_elements;
        let tokens = per_out / self.table.dim;
        cx.output.codes.resize(cx.batch * per_out, 0);
        for b in 0..cx.batch {
            embed(
                &cx.ids[b * tokens..(b + 1) * tokens],
                &self.table,
                &self.mapping,
                &mut cx.scratch.embedding_row,
                &mut cx.output.codes[b * per_out..(b + 1) * per_out],
            );
        }
    }

    /// The packed table.
    fn weight_bytes(&self) -> usize {
        self.table.packed.len()
    }
}

/// An embedding table `[rows, dim]` kept as the `.qfm` stores it: codes of `bits` bits packed
/// densely (`c + 2^(bits−1)`, least significant bits first), so a 2-bit table takes a quarter
/// of the bytes of an 8-bit one in memory too. Rows are unpacked when looked up.
#[derive(Debug)]
struct EmbeddingTable {
    /// The packed codes.
    pub packed: Vec<u8>,
    /// Bits per code.
    pub bits: BitWidth,
    /// Codes per row.
    pub dim: usize,
}

impl EmbeddingTable {
    /// The codes of row `id` into `out` (`dim` of them). Rows that start on a byte at 8, 4
    /// or 2 bits are read a byte at a time; others bit by bit (`unpack_codes_into`).
    pub fn row(&self, id: usize, out: &mut [i8]) {
        let bits = self.bits.get() as usize;
        let first_bit = id * self.dim * bits;
        if first_bit.is_multiple_of(8) && matches!(bits, 2 | 4 | 8) {
            let bytes = &self.packed[first_bit / 8..(first_bit + self.dim * bits).div_ceil(8)];
            let out = &mut out[..self.dim];
            match bits {
                8 => {
                    for (code, &byte) in out.iter_mut().zip(bytes) {
                        *code = (byte ^ 0x80) as i8;
                    }
                }
                4 => {
                    for (pair, &byte) in out.chunks_mut(2).zip(bytes) {
                        pair[0] = (byte & 0x0F) as i8 - 8;
                        if let Some(high) = pair.get_mut(1) {
                            *high = (byte >> 4) as i8 - 8;
                        }
                    }
                }
                _ => {
                    for (four, &byte) in out.chunks_mut(4).zip(bytes) {
                        for (i, code) in four.iter_mut().enumerate() {
                            *code = ((byte >> (2 * i)) & 0x03) as i8 - 2;
                        }
                    }
                }
            }
        } else {
            qfront_quant::packing::unpack_codes_into(
                &self.packed,
                id * self.dim,
                &mut out[..self.dim],
                self.bits,
            )
            .expect("validated table length");
        }
    }
}

/// Looks up `ids` (one example) in `table`, writing `u = factor·c + offset` per element
/// (`row` holds one unpacked row).
fn embed(
    ids: &[u32],
    table: &EmbeddingTable,
    mapping: &EmbeddingMapping,
    row: &mut Vec<i8>,
    out: &mut [u8],
) {
    let dim = table.dim;
    if table.bits.get() == 8 {
        // 8-bit rows are whole bytes: read them in place.
        for (t, &id) in ids.iter().enumerate() {
            let bytes = &table.packed[id as usize * dim..(id as usize + 1) * dim];
            for (o, &byte) in out[t * dim..(t + 1) * dim].iter_mut().zip(bytes) {
                *o = (mapping.factor * (byte ^ 0x80) as i8 as i32 + mapping.offset) as u8;
            }
        }
        return;
    }
    row.resize(dim, 0);
    for (t, &id) in ids.iter().enumerate() {
        table.row(id as usize, row);
        for (o, &c) in out[t * dim..(t + 1) * dim].iter_mut().zip(row.iter()) {
            *o = (mapping.factor * c as i32 + mapping.offset) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qfront_quant::packing::{code_range, pack_codes};

    /// Every row of a packed table, at every width and at row lengths that do and do not
    /// start rows on a byte, equals the same row of the fully unpacked table.
    #[test]
    fn rows_unpack_as_the_whole_table() {
        for bits in 2..=8 {
            let width = BitWidth::new(bits).unwrap();
            let (lo, hi) = code_range(width);
            for dim in [1, 3, 7, 8, 12, 32] {
                let rows = 9;
                let codes: Vec<i8> = (0..rows * dim)
                    .map(|i| (lo + ((i * 7 + 3) as i32 % (hi - lo + 1))) as i8)
                    .collect();
                let table = EmbeddingTable {
                    packed: pack_codes(&codes, width).unwrap(),
                    bits: width,
                    dim,
                };
                let mut row = vec![0i8; dim];
                for id in 0..rows {
                    table.row(id, &mut row);
                    assert_eq!(
                        row,
                        codes[id * dim..(id + 1) * dim],
                        "W{bits} dim {dim} row {id}"
                    );
                }
            }
        }
    }
}
