//! A validated bit width.

use crate::{QuantError, Result};

/// A quantizer bit width, checked once when it is built.
///
/// Quantizers in this crate accept 2..=8 bits (the range qfront searches); the size accountant
/// additionally accepts 1 (binary, for the width-alignment tables) and 32 (full precision).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct BitWidth(u32);

impl BitWidth {
    /// Smallest bit width a quantizer accepts.
    pub const MIN_QUANT: u32 = 2;
    /// Largest bit width a quantizer accepts.
    pub const MAX_QUANT: u32 = 8;
    /// Full precision (float32), used by the accountant and by `--wbits 32`.
    pub const FULL: BitWidth = BitWidth(32);

    /// A quantizer bit width in 2..=8.
    pub fn new(bits: u32) -> Result<Self> {
        Self::in_range(bits, Self::MIN_QUANT, Self::MAX_QUANT, "a quantizer")
    }

    /// A bit width in `min..=max`; `what` names the consumer in the error.
    pub fn in_range(bits: u32, min: u32, max: u32, what: &'static str) -> Result<Self> {
        if bits < min || bits > max {
            return Err(QuantError::BitWidthOutOfRange {
                bits,
                min,
                max,
                what,
            });
        }
        Ok(BitWidth(bits))
    }

    /// A storage bit width for size accounting: 1..=8 or 32.
    pub fn storage(bits: u32) -> Result<Self> {
        if bits == 32 {
            return Ok(Self::FULL);
        }
        Self::in_range(
            bits,
            1,
            8,
            "model-size accounting (or 32 for full precision)",
        )
    }

    /// The number of bits.
    #[inline]
    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether this is full precision (32 bits).
    #[inline]
    pub fn is_full_precision(self) -> bool {
        self.0 == 32
    }

    /// `2^b − 1`, the number of steps of an unsigned b-bit grid.
    #[inline]
    pub fn unsigned_steps(self) -> f32 {
        ((1u64 << self.0) - 1) as f32
    }
}

impl TryFrom<u32> for BitWidth {
    type Error = QuantError;
    fn try_from(bits: u32) -> Result<Self> {
        if bits == 32 {
            Ok(Self::FULL)
        } else {
            Self::in_range(bits, 1, 8, "a bit width (1..=8, or 32 for full precision)")
        }
    }
}

impl From<BitWidth> for u32 {
    fn from(b: BitWidth) -> u32 {
        b.0
    }
}

impl std::fmt::Display for BitWidth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_zero_and_thirty_three() {
        assert!(matches!(
            BitWidth::new(0),
            Err(QuantError::BitWidthOutOfRange { bits: 0, .. })
        ));
        assert!(matches!(
            BitWidth::new(33),
            Err(QuantError::BitWidthOutOfRange { bits: 33, .. })
        ));
        assert!(BitWidth::new(1).is_err());
        assert!(BitWidth::storage(33).is_err());
        assert!(BitWidth::storage(0).is_err());
        assert_eq!(BitWidth::storage(32).unwrap(), BitWidth::FULL);
        for b in 2..=8 {
            assert_eq!(BitWidth::new(b).unwrap().get(), b);
        }
        let msg = BitWidth::new(33).unwrap_err().to_string();
        assert!(msg.contains("33") && msg.contains("2..=8"), "{msg}");
    }
}
