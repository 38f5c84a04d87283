//! Token ops: embedding lookup and pooling over the real (non-padding) tokens.

use crate::format::EmbeddingMapping;
use qfront_quant::BitWidth;

/// An embedding table `[rows, dim]` kept as the `.qfm` stores it: codes of `bits` bits packed
/// densely (`c + 2^(bits−1)`, least significant bits first), so a 2-bit table takes a quarter
/// of the bytes of an 8-bit one in memory too. Rows are unpacked when looked up.
#[derive(Debug)]
pub(crate) struct EmbeddingTable {
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
pub(crate) fn embed(
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

/// Sums of `(u − zero_point)` over the real tokens of one example `[tokens, dim]`; returns
/// how many tokens were real.
pub(crate) fn token_sums(
    input: &[u8],
    ids: &[u32],
    dim: usize,
    zero_point: i32,
    out: &mut [i32],
) -> u32 {
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
pub(crate) fn token_max(input: &[u8], ids: &[u32], dim: usize, zero_point: u8, out: &mut [u8]) {
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
