//! Every kernel set the CPU has (not only the best one) against the scalar reference, on
//! random shapes and codes of every bit width (property tests).

use proptest::prelude::*;
use qfront_quant::packing::code_range;
use qfront_quant::BitWidth;
use qfront_rt::kernels::{reference, KernelSet, PreparedWeights, Scratch};

fn codes(raw: &[i8], bits: u32) -> Vec<i8> {
    let (lo, hi) = code_range(BitWidth::new(bits).unwrap());
    raw.iter()
        .map(|&c| (c as i32).clamp(lo, hi) as i8)
        .collect()
}

fn check(bits: u32, m_rows: usize, rows: usize, columns: usize, seed: u64, max_activation: u8) {
    // A small LCG keeps the inputs reproducible without a dependency.
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let raw: Vec<i8> = (0..rows * columns).map(|_| next() as i8).collect();
    let w = codes(&raw, bits);
    let a: Vec<u8> = (0..m_rows * columns)
        .map(|_| (next() % (max_activation as u32 + 1)) as u8)
        .collect();
    let mut expected = vec![0i32; m_rows * rows];
    reference::gemm(&a, m_rows, columns, &w, rows, &mut expected);
    for kernels in KernelSet::available() {
        let fast = PreparedWeights::new(w.clone(), rows, columns, bits, kernels);
        let mut got = vec![0i32; m_rows * rows];
        fast.matmul(&a, m_rows, &mut got, &mut Scratch::default());
        assert_eq!(
            got, expected,
            "{kernels:?}: bits {bits}, {m_rows}×{columns} · {rows}×{columns}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gemv_matches_reference(bits in 2u32..=8, m_rows in 1usize..4, rows in 1usize..40, columns in 1usize..300, seed in any::<u64>()) {
        check(bits, m_rows, rows, columns, seed, 255);
    }

    #[test]
    fn gemm_matches_reference(bits in 2u32..=8, m_rows in 4usize..30, rows in 1usize..40, columns in 1usize..300, seed in any::<u64>()) {
        check(bits, m_rows, rows, columns, seed, 255);
    }
}

#[test]
fn extreme_codes_do_not_saturate() {
    // All activations 255 and all codes at the most negative value: the 8-bit path must stay
    // exact where vpmaddubsw would saturate.
    for bits in 2..=8 {
        let (lo, hi) = code_range(BitWidth::new(bits).unwrap());
        for code in [lo, hi] {
            for (m_rows, kernels) in [1, 7]
                .into_iter()
                .flat_map(|m| KernelSet::available().into_iter().map(move |k| (m, k)))
            {
                let columns = 1000;
                let w = vec![code as i8; 3 * columns];
                let a = vec![255u8; m_rows * columns];
                let fast = PreparedWeights::new(w, 3, columns, bits, kernels);
                let mut got = vec![0; m_rows * 3];
                fast.matmul(&a, m_rows, &mut got, &mut Scratch::default());
                assert!(
                    got.iter().all(|&v| v == 255 * code * columns as i32),
                    "{kernels:?}: bits {bits} code {code}: {got:?}"
                );
            }
        }
    }
}

#[test]
fn crosses_the_cache_block() {
    // Reduction lengths on both sides of the GEMMs' 512- and 1024-column blocks.
    eprintln!("kernel sets: {:?}", KernelSet::available());
    for columns in [511, 512, 513, 1023, 1025, 2100] {
        for bits in [2, 4, 8] {
            check(bits, 9, 33, columns, columns as u64, 255);
            check(bits, 1, 33, columns, columns as u64 + 1, 255);
        }
    }
}

#[test]
fn tile_sized_products_agree() {
    // Products the AMX tiles take (16 or more rows, 256 or more columns, and half a million or
    // more multiply-adds for the 4- and 2-bit panels): whole 32- and 16-row tile blocks, a
    // remainder below 16 rows, partial 32-output panels, columns padded to whole 64-byte
    // tiles, 4- and 2-bit panels unpacked with their offsets: on the way through the tiles
    // (up to 64 rows) and by groups of panels (more rows; 1030 columns make groups of 7 of
    // the 9 panels, so the last group is partial).
    let shapes = [
        (16, 256, 256),
        (31, 45, 1030),
        (32, 64, 600),
        (70, 65, 1030),
        (112, 270, 1030),
        (16, 128, 256),
    ];
    for bits in 2..=8 {
        for (m_rows, rows, columns) in shapes {
            check(
                bits,
                m_rows,
                rows,
                columns,
                (m_rows * rows) as u64 + bits as u64,
                255,
            );
        }
    }
}

/// With `QFRONT_EXPECT_KERNELS` (comma-separated names, as CI sets it for each emulated
/// CPU), the CPU must offer exactly those sets: a detection bug would otherwise quietly test
/// fewer kernels.
#[test]
fn the_expected_kernel_sets_are_detected() {
    let Ok(expected) = std::env::var("QFRONT_EXPECT_KERNELS") else {
        eprintln!("QFRONT_EXPECT_KERNELS unset: not checking which sets this CPU offers");
        return;
    };
    let found: Vec<&str> = KernelSet::available().iter().map(|k| k.name()).collect();
    let expected: Vec<&str> = expected.split(',').map(str::trim).collect();
    assert_eq!(found, expected, "kernel sets this CPU offers");
    for name in expected {
        assert!(KernelSet::from_name(name).is_some(), "unknown set {name}");
    }
}

/// Every SIMD set (x86 and ARM) keeps a layer's weights at their packed width and nothing
/// else: 2-bit codes in a quarter of a byte, 3- and 4-bit in half, 5- to 8-bit in one
/// (padding to whole panels aside), with no full 8-bit copy and no second layout beside
/// them. And a matrix
/// packed row block by row block (`from_rows`, as a session loads it) multiplies exactly as
/// one packed at once, at one row and at five.
#[test]
fn weights_stay_at_their_width_in_memory() {
    let (rows, columns) = (256, 1024);
    for bits in 2..=8u32 {
        let raw: Vec<i8> = (0..rows * columns)
            .map(|i| (i as u32).wrapping_mul(2654435761).rotate_left(7) as i8)
            .collect();
        let w = codes(&raw, bits);
        for kernels in KernelSet::available() {
            let whole = PreparedWeights::new(w.clone(), rows, columns, bits, kernels);
            let blocks = PreparedWeights::from_rows(rows, columns, bits, kernels, |first, out| {
                out.copy_from_slice(&w[first * columns..first * columns + out.len()])
            });
            let a: Vec<u8> = (0..5 * columns).map(|i| (i * 37 % 256) as u8).collect();
            for m_rows in [1, 5] {
                let (mut x, mut y) = (vec![0; m_rows * rows], vec![0; m_rows * rows]);
                whole.matmul(&a, m_rows, &mut x, &mut Scratch::default());
                blocks.matmul(&a, m_rows, &mut y, &mut Scratch::default());
                assert_eq!(
                    x, y,
                    "{kernels:?} W{bits}: {m_rows} rows, packed by row blocks"
                );
            }
            assert_eq!(whole.resident_bytes(), blocks.resident_bytes());
            if kernels != KernelSet::Reference {
                // 2-bit codes in bit pairs, 3- and 4-bit in nibbles, 5- to 8-bit in bytes;
                // the ARM dot-product set adds one i32 correction per output.
                let stored_bits = match bits {
                    2 => 2,
                    3 | 4 => 4,
                    _ => 8,
                };
                let corrections = if kernels == KernelSet::NeonDot {
                    4 * rows
                } else {
                    0
                };
                assert_eq!(
                    whole.resident_bytes(),
                    rows * columns * stored_bits / 8 + corrections,
                    "{kernels:?} W{bits}: packed bytes only"
                );
                assert!(whole.codes().is_none(), "no row-major copy kept");
            }
        }
    }
}
