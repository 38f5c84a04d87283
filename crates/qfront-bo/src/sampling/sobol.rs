//! Scrambled Sobol sequences on top of the `sobol_burley` crate (Owen scrambling by Burley,
//! "Practical Hash-based Owen Scrambling", JCGT 2020), which gives up to 256 dimensions and
//! 2^16 points per seed.
//!
//! Beyond 256 dimensions each further block of 256 uses its own derived seed: the blocks are
//! independent scrambled sequences, stratified within each block (what the acquisitions'
//! base samples need). Values are the centres of the 2^-24 cells, so they lie strictly inside
//! (0, 1) and their normal quantiles are finite.

use crate::{BoError, Result};
use rayon::prelude::*;

/// Draws of at least this many values are computed in parallel (about 0.1 ms of work, where
/// handing a task to rayon's pool costs microseconds).
const PARALLEL_DRAW_VALUES: usize = 4096;
const BLOCK: usize = sobol_burley::NUM_DIMENSIONS as usize;
/// Points available per seed.
pub const MAX_POINTS: usize = 1 << 16;

/// A seeded scrambled Sobol sequence of a fixed dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SobolSampler {
    dim: usize,
    seed: u64,
    next: usize,
}

impl SobolSampler {
    /// A sequence of dimension `dim ≥ 1` with the given seed, starting at its first point.
    pub fn new(dim: usize, seed: u64) -> Result<Self> {
        if dim == 0 {
            return Err(BoError::input(
                "Sobol sampler",
                "dimension must be at least 1",
            ));
        }
        Ok(Self { dim, seed, next: 0 })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Point `index` of the sequence, each coordinate in (0, 1).
    ///
    /// # Panics
    /// If `index >= 2^16` (the sequence's length per seed).
    pub fn point(&self, index: usize) -> Vec<f64> {
        assert!(
            index < MAX_POINTS,
            "a Sobol sequence holds 2^16 points per seed"
        );
        // Four coordinates per call (`sample_4d`: the same values as `sample` for dimensions
        // 4s..4s + 3, with the index's scramble computed once and SIMD on x86-64); a block of
        // 256 holds 64 whole sets, so a set never straddles two blocks.
        let mut out = Vec::with_capacity(self.dim);
        for first in (0..self.dim).step_by(4) {
            let values = sobol_burley::sample_4d(
                index as u32,
                ((first % BLOCK) / 4) as u32,
                self.block_seed(first / BLOCK),
            );
            let count = (self.dim - first).min(4);
            out.extend(
                values[..count]
                    .iter()
                    .map(|v| *v as f64 + 0.5 / (1u64 << 24) as f64),
            );
        }
        out
    }

    /// The 32-bit seed of the `block`-th group of 256 dimensions.
    fn block_seed(&self, block: usize) -> u32 {
        let seed = self.seed ^ (block as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (seed ^ (seed >> 32)) as u32
    }

    /// The next `n` points (row-major, `n × dim`), continuing where the last call ended.
    pub fn draw(&mut self, n: usize) -> Result<Vec<Vec<f64>>> {
        self.take_mapped(n, |p| p)
    }

    /// `n` standard-normal quasi-random vectors: the inverse normal CDF of the next `n` points.
    pub fn draw_normal(&mut self, n: usize) -> Result<Vec<Vec<f64>>> {
        self.take_mapped(n, |p| p.into_iter().map(normal_quantile).collect())
    }

    /// `map` of each of the next `n` points, which are then consumed; an error when the seed's
    /// sequence has fewer left. Each point is computed from its index alone, so large draws
    /// (at least [`PARALLEL_DRAW_VALUES`] values: a baseline's joint normals, `n·m`
    /// dimensions per sample) are computed on rayon's pool with the same values.
    fn take_mapped(
        &mut self,
        n: usize,
        map: impl Fn(Vec<f64>) -> Vec<f64> + Sync,
    ) -> Result<Vec<Vec<f64>>> {
        if self.next + n > MAX_POINTS {
            return Err(BoError::input(
                "Sobol sampler",
                format!(
                    "{} points asked for, but a seed holds {MAX_POINTS}; use another seed",
                    self.next + n
                ),
            ));
        }
        let indices = self.next..self.next + n;
        self.next += n;
        Ok(if n * self.dim >= PARALLEL_DRAW_VALUES {
            indices
                .into_par_iter()
                .map(|i| map(self.point(i)))
                .collect()
        } else {
            indices.map(|i| map(self.point(i))).collect()
        })
    }
}

/// The standard normal quantile Φ⁻¹(p) for p in (0, 1): Wichura's algorithm AS 241
/// (PPND16, Applied Statistics 37, 1988; relative error about 1e-16) for `p` down to
/// `e^{−25} ≈ 1.4e-11`, rational functions of `p − ½` in the centre and of `√(−ln p)` in the
/// tails, and [`normal_quantile_refined`] in the far tails (which Sobol points, at least
/// `2⁻³²` from 0 and 1, never reach). Every Monte-Carlo acquisition draws its normals here:
/// the former Halley refinement's `erfc` and `exp` per draw were 10% of a 2-objective ask
/// after 200 trials.
// The coefficients as published (20 digits), rounded to f64 by the compiler.
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 8] = [
        3.387_132_872_796_366_608,
        1.331_416_678_917_843_774_5e2,
        1.971_590_950_306_551_442_7e3,
        1.373_169_376_550_946_112_5e4,
        4.592_195_393_154_987_145_7e4,
        6.726_577_092_700_870_085_3e4,
        3.343_057_558_358_812_810_5e4,
        2.509_080_928_730_122_672_7e3,
    ];
    const B: [f64; 8] = [
        1.0,
        4.231_333_070_160_091_125_2e1,
        6.871_870_074_920_579_083e2,
        5.394_196_021_424_751_107_7e3,
        2.121_379_430_158_659_586_7e4,
        3.930_789_580_009_271_061e4,
        2.872_908_573_572_194_267_4e4,
        5.226_495_278_852_854_561e3,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        2.417_807_251_774_506_117_7e-1,
        2.272_384_498_926_918_458_33e-2,
        7.745_450_142_783_414_076_4e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        6.897_673_349_851_000_045_5e-1,
        1.481_039_764_274_800_745_9e-1,
        1.519_866_656_361_645_719_66e-2,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    /// `Σ c_k·r^k` by Horner's rule.
    fn poly(c: &[f64; 8], r: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &k| acc * r + k)
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    if r > 5.0 || tail.is_nan() {
        return normal_quantile_refined(p);
    }
    let x = poly(&C, r - 1.6) / poly(&D, r - 1.6);
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// Φ⁻¹(p) by Acklam's rational approximation (relative error < 1.15e-9) refined by one
/// Halley step on statrs' `erfc` (absolute error about 1e-10): the far tails of
/// [`normal_quantile`].
pub fn normal_quantile_refined(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p_low = 0.02425;
    let x = if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step: e = Φ(x) − p.
    let e = 0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points drawn four coordinates at a time equal the crate's one-coordinate `sample`, bit
    /// for bit, in dimensions that are and are not multiples of 4 and across the 256 boundary.
    #[test]
    fn four_at_a_time_equals_one_at_a_time() {
        for (dim, seed) in [
            (1, 0u64),
            (3, 7),
            (8, 1),
            (82, 0x5eed),
            (259, 3),
            (600, u64::MAX),
        ] {
            let sampler = SobolSampler::new(dim, seed).unwrap();
            for index in [0, 1, 2, 77, 1023, MAX_POINTS - 1] {
                let want: Vec<f64> = (0..dim)
                    .map(|d| {
                        let block = (d / BLOCK) as u64;
                        let seed = seed ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                        let seed32 = (seed ^ (seed >> 32)) as u32;
                        sobol_burley::sample(index as u32, (d % BLOCK) as u32, seed32) as f64
                            + 0.5 / (1u64 << 24) as f64
                    })
                    .collect();
                let got = sampler.point(index);
                assert_eq!(got.len(), dim);
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(
                        g.to_bits(),
                        w.to_bits(),
                        "dim {dim} seed {seed} index {index}"
                    );
                }
            }
        }
    }

    #[test]
    fn points_are_seeded_stratified_and_inside_the_cube() {
        let mut a = SobolSampler::new(3, 7).unwrap();
        let mut b = SobolSampler::new(3, 7).unwrap();
        let pa = a.draw(64).unwrap();
        assert_eq!(pa, b.draw(64).unwrap());
        let other = SobolSampler::new(3, 8).unwrap().draw(64).unwrap();
        assert_ne!(pa, other);
        // A (0, m, s)-net property in each coordinate: 64 points, one in each 1/64 cell.
        for d in 0..3 {
            let mut cells: Vec<usize> = pa.iter().map(|p| (p[d] * 64.0) as usize).collect();
            cells.sort_unstable();
            assert_eq!(cells, (0..64).collect::<Vec<_>>(), "dimension {d}");
        }
        assert!(pa.iter().flatten().all(|&u| u > 0.0 && u < 1.0));
        // Draws continue the sequence.
        let next = a.draw(1).unwrap();
        assert_eq!(next[0], a.point(64));
    }

    /// A draw large enough to be computed on the pool (64 × 100 values) gives each point as
    /// `point(i)` does, in order, and continues the sequence as a small draw does.
    #[test]
    fn a_parallel_draw_is_the_points_in_order() {
        let mut sampler = SobolSampler::new(100, 3).unwrap();
        sampler.draw(5).unwrap();
        let normals = sampler.draw_normal(64).unwrap();
        const { assert!(64 * 100 >= PARALLEL_DRAW_VALUES) };
        for (k, z) in normals.iter().enumerate() {
            let expected: Vec<f64> = sampler
                .point(5 + k)
                .into_iter()
                .map(normal_quantile)
                .collect();
            assert_eq!(z, &expected, "point {}", 5 + k);
        }
        assert_eq!(sampler.draw(1).unwrap()[0], sampler.point(69));
    }

    #[test]
    fn more_than_256_dimensions_work() {
        let s = SobolSampler::new(600, 1).unwrap();
        let p = s.point(5);
        assert_eq!(p.len(), 600);
        assert_ne!(p[3], p[259]);
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        // Φ⁻¹ at 0.975, 0.5, 1e-10 (reference: Python 3.11 statistics.NormalDist().inv_cdf).
        let z = normal_quantile(0.975);
        assert!((z - 1.959963984540054).abs() < 1e-10, "{z}");
        assert!(normal_quantile(0.5).abs() < 1e-15);
        assert!((normal_quantile(1e-10) + 6.361340902404056).abs() < 1e-9);
        // The far tail (√(−ln p) > 5) goes to the refined Acklam form; the two forms agree
        // where both apply.
        assert!((normal_quantile(1e-13) + 7.3487961028006765).abs() < 1e-8);
        for p in [
            1e-9,
            1e-4,
            0.01,
            0.07,
            0.2,
            0.5,
            0.8,
            0.93,
            0.999,
            1.0 - 1e-9,
        ] {
            let (fast, refined) = (normal_quantile(p), normal_quantile_refined(p));
            assert!(
                (fast - refined).abs() < 1e-9 * fast.abs().max(1.0),
                "{p}: {fast} vs {refined}"
            );
        }
    }
}
