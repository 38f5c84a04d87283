//! Every kernel set's requantization epilogue against the scalar definition
//! (`requantize_scalar`), on random layers: channel counts around the 8- and 16-lane blocks,
//! weight zero points, residual inputs, every output width, and fixed-point multipliers
//! made the way the format's builder makes them (property tests).

use proptest::prelude::*;
use qfront_rt::fixed_point::{fixed_point, fixed_point_pair};
use qfront_rt::kernels::requant::{requantize_scalar, PreparedRequant, RequantParams};
use qfront_rt::KernelSet;

/// A reproducible stream of numbers (an LCG: no dependency).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 42) as f64
    }
}

struct Case {
    params: RequantParams,
    products: Vec<i32>,
    row_sums: Vec<i32>,
    residual: Option<(Vec<u8>, i32)>,
}

fn case(channels: usize, m_rows: usize, bits: u32, residual: bool, seed: u64) -> Case {
    let mut s = Stream(seed ^ 0x9e37_79b9_7f4a_7c15);
    let zero_points = s.int(0, 1) == 1;
    let mut multiplier = Vec::new();
    let mut residual_multiplier = Vec::new();
    let mut shift = Vec::new();
    for _ in 0..channels {
        // Real multipliers from 2^-20 to 2^4 (accumulator scale over output scale).
        let real = (s.unit() * 24.0 - 20.0).exp2();
        if residual {
            let res = (s.unit() * 8.0 - 4.0).exp2();
            let (m, r, sh) = fixed_point_pair(real, res).unwrap();
            multiplier.push(m);
            residual_multiplier.push(r);
            shift.push(sh);
        } else {
            let (m, sh) = fixed_point(real).unwrap();
            multiplier.push(m);
            shift.push(sh);
        }
    }
    let bias = (0..channels)
        .map(|j| {
            let b = s.int(-(1 << 20), 1 << 20);
            b * multiplier[j] as i64 + (1i64 << (shift[j] - 1))
        })
        .collect();
    let max_code = (1i32 << bits) - 1;
    let params = RequantParams {
        channels,
        zero_point_x2: (0..channels)
            .map(|_| {
                if zero_points {
                    s.int(-16, 16) as i32
                } else {
                    0
                }
            })
            .collect(),
        multiplier,
        bias,
        shift,
        residual: residual.then_some(residual_multiplier),
        zero_point: s.int(0, max_code as i64) as i32,
        max_code,
    };
    let products = (0..m_rows * channels)
        .map(|_| s.int(-(1 << 21), 1 << 21) as i32)
        .collect();
    let row_sums = if zero_points {
        (0..m_rows).map(|_| s.int(0, 255 * 4096) as i32).collect()
    } else {
        Vec::new()
    };
    let residual = residual.then(|| {
        let codes = (0..m_rows * channels)
            .map(|_| s.int(0, 255) as u8)
            .collect();
        (codes, s.int(0, 255) as i32)
    });
    Case {
        params,
        products,
        row_sums,
        residual,
    }
}

fn check(channels: usize, m_rows: usize, bits: u32, residual: bool, seed: u64) {
    let c = case(channels, m_rows, bits, residual, seed);
    let residual = c.residual.as_ref().map(|(u, z)| (&u[..], *z));
    let mut expected = vec![0u8; m_rows * channels];
    requantize_scalar(
        &c.params,
        &c.products,
        m_rows,
        &c.row_sums,
        residual,
        &mut expected,
    );
    // The inputs reach both clamp bounds and values in between.
    for kernels in KernelSet::available() {
        let prepared = PreparedRequant::new(c.params.clone(), kernels);
        let mut got = vec![0u8; m_rows * channels];
        prepared.run(&c.products, m_rows, &c.row_sums, residual, &mut got);
        assert_eq!(
            got,
            expected,
            "{kernels:?}: {channels} channels, {m_rows} rows, {bits}-bit output, residual {}",
            residual.is_some()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_epilogue_matches_the_definition(
        channels in 1usize..70,
        m_rows in 1usize..5,
        bits in 2u32..=8,
        residual in any::<bool>(),
        seed in any::<u64>(),
    ) {
        check(channels, m_rows, bits, residual, seed);
    }
}

/// The generated layers do reach the clamps and the interior (so the property above
/// compares more than saturated bytes).
#[test]
fn the_cases_cover_both_bounds_and_the_interior() {
    let (mut low, mut high, mut inside) = (0, 0, 0);
    for seed in 0..50 {
        let c = case(24, 3, 8, seed % 2 == 0, seed);
        let residual = c.residual.as_ref().map(|(u, z)| (&u[..], *z));
        let mut out = vec![0u8; 3 * 24];
        requantize_scalar(&c.params, &c.products, 3, &c.row_sums, residual, &mut out);
        for &v in &out {
            match v {
                0 => low += 1,
                255 => high += 1,
                _ => inside += 1,
            }
        }
    }
    assert!(
        low > 100 && high > 100 && inside > 100,
        "{low} / {high} / {inside}"
    );
}
