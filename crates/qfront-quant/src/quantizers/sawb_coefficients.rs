//! SAWB coefficients `(c1, c2)` for `α_w = c1·√E[w²] − c2·E|w|`, for every bit width 2..=8 on
//! both grids (methods-spec §2.3, §2.5).
//!
//! Published values come from IBM fms-model-optimizer (S2): `dic_coeff` for the no-zero grid
//! (2, 3, 4, 5, 8 bits) and the zero-aligned codes 103, 403, 703, 803. The remaining widths
//! (no-zero 6, 7; zero-aligned 3, 5, 6) were fitted by our own procedure
//! ([`super::sawb_fit`], `qfront quant fit-sawb`); the committed table
//! `crates/qfront-quant/data/sawb-fit.json` holds that command's output and a test checks both
//! that the command reproduces it and that the constants below equal it.

use crate::BitWidth;

/// The two SAWB quantization grids (methods-spec §2.4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum SawbGrid {
    /// `2^b` levels at `α·(2j − n)/n`, `n = 2^b − 1`; zero is not a level (paper-style 2-bit).
    #[default]
    NoZero,
    /// `2^b − 1` levels at `α·(2j − n)/n`, `n = 2^b − 2`; zero is a level (codes 103/403/803).
    ZeroAligned,
}

impl SawbGrid {
    /// Number of steps `n` between `−α` and `α` for b bits.
    #[inline]
    pub fn steps(self, bits: BitWidth) -> u32 {
        match self {
            SawbGrid::NoZero => (1u32 << bits.get()) - 1,
            SawbGrid::ZeroAligned => (1u32 << bits.get()) - 2,
        }
    }

    /// Both grids, for iteration.
    pub const ALL: [SawbGrid; 2] = [SawbGrid::NoZero, SawbGrid::ZeroAligned];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            SawbGrid::NoZero => "no-zero",
            SawbGrid::ZeroAligned => "zero-aligned",
        }
    }
}

/// Where a coefficient pair comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoefficientSource {
    /// Published in the reference code S2 (fms-model-optimizer).
    Published,
    /// Fitted by [`super::sawb_fit`] (our procedure, methods-spec §2.5).
    Fitted,
}

/// A coefficient pair with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SawbCoefficients {
    /// Multiplier of the uncentred RMS `√E[w²]`.
    pub c1: f64,
    /// Multiplier of the mean magnitude `E|w|`.
    pub c2: f64,
    /// Published or fitted.
    pub source: CoefficientSource,
}

/// Published no-zero coefficients, S2 `dic_coeff`.
const PUBLISHED_NO_ZERO: [(u32, f64, f64); 5] = [
    (2, 3.12, 2.064),
    (3, 7.509, 6.892),
    (4, 12.68, 12.80),
    (5, 17.74, 18.64),
    (8, 31.76, 35.04),
];

/// Published zero-aligned coefficients, S2 codes 103, 403, 703, 803.
const PUBLISHED_ZERO_ALIGNED: [(u32, f64, f64); 4] = [
    (2, 2.6, 1.71),
    (4, 12.035, 12.03),
    (7, 28.24, 30.81),
    (8, 31.76, 35.04),
];

/// Our fitted coefficients for the widths with no published value (the output of
/// `qfront quant fit-sawb`, rounded to 4 decimals; see `data/sawb-fit.json`).
pub(crate) const FITTED: [(SawbGrid, u32, f64, f64); 5] = [
    (SawbGrid::NoZero, 6, 22.1985, 23.8118),
    (SawbGrid::NoZero, 7, 27.375, 29.866),
    (SawbGrid::ZeroAligned, 3, 6.9725, 6.3313),
    (SawbGrid::ZeroAligned, 5, 16.9308, 17.684),
    (SawbGrid::ZeroAligned, 6, 22.1097, 23.709),
];

/// The coefficients for `bits` (2..=8, guaranteed by [`BitWidth::new`]) on `grid`.
pub fn sawb_coefficients(grid: SawbGrid, bits: BitWidth) -> SawbCoefficients {
    let b = bits.get();
    let published: &[(u32, f64, f64)] = match grid {
        SawbGrid::NoZero => &PUBLISHED_NO_ZERO,
        SawbGrid::ZeroAligned => &PUBLISHED_ZERO_ALIGNED,
    };
    if let Some(&(_, c1, c2)) = published.iter().find(|(pb, _, _)| *pb == b) {
        return SawbCoefficients {
            c1,
            c2,
            source: CoefficientSource::Published,
        };
    }
    let &(_, _, c1, c2) = FITTED
        .iter()
        .find(|(g, fb, _, _)| *g == grid && *fb == b)
        .expect("every (grid, bits) in 2..=8 has published or fitted coefficients");
    SawbCoefficients {
        c1,
        c2,
        source: CoefficientSource::Fitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_on_both_grids_has_coefficients() {
        for grid in SawbGrid::ALL {
            for b in 2..=8 {
                let c = sawb_coefficients(grid, BitWidth::new(b).unwrap());
                assert!(c.c1 > 0.0 && c.c2 > 0.0, "{grid:?} {b}: {c:?}");
                // c1 > c2·ρ must hold for Gaussian weights (ρ = √(2/π)), or the clip is negative.
                assert!(
                    c.c1 - c.c2 * (2.0 / std::f64::consts::PI).sqrt() > 0.0,
                    "{grid:?} {b}"
                );
            }
        }
        // Monotone in bits: more levels want a wider clip for Gaussian weights.
        for grid in SawbGrid::ALL {
            let rho = (2.0 / std::f64::consts::PI).sqrt();
            let clips: Vec<f64> = (2..=8)
                .map(|b| {
                    let c = sawb_coefficients(grid, BitWidth::new(b).unwrap());
                    c.c1 - c.c2 * rho
                })
                .collect();
            for w in clips.windows(2) {
                assert!(w[1] > w[0], "{grid:?}: {clips:?}");
            }
        }
    }
}
