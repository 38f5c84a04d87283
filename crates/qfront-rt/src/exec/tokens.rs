//! Token ops: embedding lookup and pooling over the real (non-padding) tokens.

use crate::format::EmbeddingMapping;

/// Looks up `ids` (one example) in a table of codes `[rows, dim]`, writing
/// `u = factor·c + offset` per element.
pub(crate) fn embed(
    ids: &[u32],
    table: &[i8],
    dim: usize,
    mapping: &EmbeddingMapping,
    out: &mut [u8],
) {
    for (t, &id) in ids.iter().enumerate() {
        let row = &table[id as usize * dim..(id as usize + 1) * dim];
        for (o, &c) in out[t * dim..(t + 1) * dim].iter_mut().zip(row) {
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
