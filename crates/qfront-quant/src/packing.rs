//! Dense bit packing of signed b-bit integer codes (b = 2..=8), the storage form of
//! quantized weights in a `.qfm` file.
//!
//! A code `c ∈ [−2^(b−1), 2^(b−1) − 1]` is stored in offset binary, `c + 2^(b−1)`, as a b-bit
//! field. Fields are laid out least-significant bit first in a little-endian bit stream: code
//! `i` occupies bits `i·b .. i·b + b` of the stream, so `n` codes take `⌈n·b/8⌉` bytes and
//! 3-, 5-, 6- and 7-bit codes straddle byte boundaries. Written by hand: the layout is part
//! of the file format, and no crate packs arbitrary widths in this exact order.

use crate::{BitWidth, QuantError, Result};

/// Smallest and largest signed code of a b-bit weight: `[−2^(b−1), 2^(b−1) − 1]`.
pub fn code_range(bits: BitWidth) -> (i32, i32) {
    let half = 1i32 << (bits.get() - 1);
    (-half, half - 1)
}

/// Bytes needed for `count` codes of `bits` bits: `⌈count·bits/8⌉`.
pub fn packed_len(count: usize, bits: BitWidth) -> usize {
    (count * bits.get() as usize).div_ceil(8)
}

/// The width as a number, if it is a quantizer width (2..=8; `BitWidth` also admits 1 and 32
/// for size accounting).
fn packable(bits: BitWidth, what: &'static str) -> Result<u32> {
    BitWidth::new(bits.get())
        .map(BitWidth::get)
        .map_err(|_| QuantError::BitWidthOutOfRange {
            bits: bits.get(),
            min: BitWidth::MIN_QUANT,
            max: BitWidth::MAX_QUANT,
            what,
        })
}

/// Packs signed codes into the dense b-bit stream.
///
/// Fails with [`QuantError::InvalidParameter`] when a code is outside [`code_range`] or the
/// width is not 2..=8.
pub fn pack_codes(codes: &[i8], bits: BitWidth) -> Result<Vec<u8>> {
    let b = packable(bits, "bit packing")?;
    let (lo, hi) = code_range(bits);
    let offset = 1i32 << (b - 1);
    let mut out = vec![0u8; packed_len(codes.len(), bits)];
    let mut bit = 0usize;
    for &c in codes {
        let c = c as i32;
        if c < lo || c > hi {
            return Err(QuantError::InvalidParameter {
                name: "weight code",
                value: c as f64,
                reason: "outside the signed range of its bit width",
            });
        }
        let field = (c + offset) as u32;
        let mut written = 0;
        while written < b {
            let byte = (bit + written as usize) / 8;
            let shift = (bit + written as usize) % 8;
            let take = (8 - shift as u32).min(b - written);
            let part = (field >> written) & ((1 << take) - 1);
            out[byte] |= (part << shift) as u8;
            written += take;
        }
        bit += b as usize;
    }
    Ok(out)
}

/// Unpacks `count` signed codes of `bits` bits from a dense stream.
///
/// Fails when `packed` is shorter than [`packed_len`].
pub fn unpack_codes(packed: &[u8], count: usize, bits: BitWidth) -> Result<Vec<i8>> {
    let mut codes = vec![0i8; count];
    unpack_codes_into(packed, 0, &mut codes, bits)?;
    Ok(codes)
}

/// Unpacks the codes `first..first + out.len()` of a dense stream of `bits`-bit codes into
/// `out` (a row block of a weight matrix, without unpacking the rest).
///
/// Fails when `packed` is shorter than [`packed_len`] of `first + out.len()` codes.
pub fn unpack_codes_into(
    packed: &[u8],
    first: usize,
    out: &mut [i8],
    bits: BitWidth,
) -> Result<()> {
    let b = packable(bits, "bit unpacking")?;
    let need = packed_len(first + out.len(), bits);
    if packed.len() < need {
        return Err(QuantError::LengthMismatch {
            what: "packed weight bytes",
            expected: need,
            actual: packed.len(),
        });
    }
    let offset = 1i32 << (b - 1);
    let mut bit = first * b as usize;
    for code in out.iter_mut() {
        let mut field = 0u32;
        let mut read = 0;
        while read < b {
            let byte = (bit + read as usize) / 8;
            let shift = (bit + read as usize) % 8;
            let take = (8 - shift as u32).min(b - read);
            let part = (packed[byte] as u32 >> shift) & ((1 << take) - 1);
            field |= part << read;
            read += take;
        }
        *code = (field as i32 - offset) as i8;
        bit += b as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Unpacking any range equals the same range of the whole unpacked stream.
        #[test]
        fn a_range_unpacks_as_the_whole(bits in 2u32..=8, raw in proptest::collection::vec(any::<i8>(), 1..200), first in 0usize..200, len in 0usize..200) {
            let width = BitWidth::new(bits).unwrap();
            let (lo, hi) = code_range(width);
            let codes: Vec<i8> = raw.iter().map(|&c| (c as i32).clamp(lo, hi) as i8).collect();
            let packed = pack_codes(&codes, width).unwrap();
            let first = first % codes.len();
            let len = len.min(codes.len() - first);
            let mut out = vec![0i8; len];
            unpack_codes_into(&packed, first, &mut out, width).unwrap();
            prop_assert_eq!(&out[..], &codes[first..first + len]);
        }
    }

    #[test]
    fn known_layouts() {
        let two = BitWidth::new(2).unwrap();
        // Codes −2, −1, 0, 1 are fields 0, 1, 2, 3: 0b11_10_01_00.
        assert_eq!(pack_codes(&[-2, -1, 0, 1], two).unwrap(), vec![0b1110_0100]);
        let four = BitWidth::new(4).unwrap();
        // −8 → 0, 7 → 15: low nibble first.
        assert_eq!(pack_codes(&[-8, 7, 0], four).unwrap(), vec![0xF0, 0x08]);
        let three = BitWidth::new(3).unwrap();
        // Fields 7, 0, 5 (codes 3, −4, 1): bits 111 000 101 → 0b01_000_111, 0b1.
        assert_eq!(
            pack_codes(&[3, -4, 1], three).unwrap(),
            vec![0b0100_0111, 0b1]
        );
        assert_eq!(packed_len(3, three), 2);
    }

    #[test]
    fn rejects_codes_out_of_range_and_short_input() {
        let two = BitWidth::new(2).unwrap();
        assert!(pack_codes(&[2], two).is_err());
        assert!(pack_codes(&[-3], two).is_err());
        assert!(unpack_codes(&[0], 5, two).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(bits in 2u32..=8, raw in proptest::collection::vec(any::<i8>(), 0..200)) {
            let width = BitWidth::new(bits).unwrap();
            let (lo, hi) = code_range(width);
            let codes: Vec<i8> = raw.iter().map(|&c| (c as i32).clamp(lo, hi) as i8).collect();
            let packed = pack_codes(&codes, width).unwrap();
            prop_assert_eq!(packed.len(), packed_len(codes.len(), width));
            prop_assert_eq!(unpack_codes(&packed, codes.len(), width).unwrap(), codes);
        }
    }
}
