//! The `.qfm` reader: round trips, and every kind of damage rejected with a clear error and
//! never a panic (random bytes, truncation at every length, bit flips, bad fields).

mod common;

use proptest::prelude::*;
use qfront_rt::format::{Op, QfmFile, PREFIX_LEN};
use qfront_rt::RtError;

#[test]
fn round_trips_through_bytes_and_files() {
    let file = common::image_model(1, [8, 4, 2, 3]);
    let bytes = file.to_bytes();
    assert_eq!(QfmFile::from_bytes(&bytes).unwrap(), file);
    let dir = std::env::temp_dir().join(format!("qfront-rt-{}", std::process::id()));
    let path = dir.join("m.qfm");
    file.write(&path).unwrap();
    assert_eq!(QfmFile::read(&path).unwrap(), file);
    // The graph alone reads back equal; a file cut inside its prefix or header does not.
    assert_eq!(QfmFile::read_graph(&path).unwrap(), file.model);
    let header_end = bytes.len() - file.blob.len();
    for len in [0, PREFIX_LEN - 1, PREFIX_LEN, header_end - 1] {
        let cut = dir.join(format!("cut-{len}.qfm"));
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let err = QfmFile::read_graph(&cut).unwrap_err().to_string();
        assert!(
            err.contains("truncated") && err.contains("cut-"),
            "{len}: {err}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_truncation_is_reported_as_truncated() {
    let bytes = common::token_model(2, qfront_rt::format::TokenPooling::Mean).to_bytes();
    for len in 0..bytes.len() {
        let err = QfmFile::from_bytes(&bytes[..len]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{len}: {err}");
    }
}

#[test]
fn every_bit_flip_is_caught() {
    let bytes = common::image_model(3, [2, 3, 5, 8]).to_bytes();
    for at in (0..bytes.len()).step_by(7) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        assert!(
            QfmFile::from_bytes(&damaged).is_err(),
            "flip at byte {at} went unnoticed"
        );
    }
}

#[test]
fn names_the_defect() {
    let bytes = common::image_model(4, [4, 4, 4, 4]).to_bytes();
    let mut bad_magic = bytes.clone();
    bad_magic[0] = b'X';
    assert!(QfmFile::from_bytes(&bad_magic)
        .unwrap_err()
        .to_string()
        .contains("not a .qfm"));
    let mut newer = bytes.clone();
    newer[4] = 9;
    assert!(QfmFile::from_bytes(&newer)
        .unwrap_err()
        .to_string()
        .contains("version 9"));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(QfmFile::from_bytes(&trailing)
        .unwrap_err()
        .to_string()
        .contains("unexpected bytes"));
    let mut corrupt = bytes.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert!(QfmFile::from_bytes(&corrupt)
        .unwrap_err()
        .to_string()
        .contains("checksum"));
}

#[test]
fn semantic_defects_are_invalid_models() {
    let file = common::image_model(5, [4, 4, 4, 4]);
    type Damage = Box<dyn Fn(&mut QfmFile)>;
    let cases: Vec<(Damage, &str)> = vec![
        (
            Box::new(|f| {
                if let Op::Conv2d { params, .. } = &mut f.model.nodes[1].op {
                    params.weights.bits = 0
                }
            }),
            "weight bits 0",
        ),
        (
            Box::new(|f| {
                if let Op::Conv2d { params, .. } = &mut f.model.nodes[1].op {
                    params.weights.bits = 33
                }
            }),
            "weight bits 33",
        ),
        (
            Box::new(|f| {
                if let Op::Conv2d { params, .. } = &mut f.model.nodes[1].op {
                    params.weights.data.offset = 1 << 40
                }
            }),
            "outside",
        ),
        (
            Box::new(|f| {
                if let Op::Conv2d { params, .. } = &mut f.model.nodes[1].op {
                    params.bias.pop();
                }
            }),
            "bias has",
        ),
        (
            Box::new(|f| {
                if let Op::Conv2d { params, .. } = &mut f.model.nodes[1].op {
                    params.weights.scale[0] = -1.0
                }
            }),
            "finite and positive",
        ),
        (
            Box::new(|f| f.model.nodes[2].inputs = vec![7]),
            "does not come before",
        ),
        (
            Box::new(|f| {
                f.model.nodes.pop();
            }),
            "logits",
        ),
        (
            Box::new(|f| {
                if let Op::MaxPool2d { kernel, .. } = &mut f.model.nodes[2].op {
                    *kernel = [20, 20]
                }
            }),
            "do not fit",
        ),
    ];
    for (damage, expected) in cases {
        let mut damaged = file.clone();
        damage(&mut damaged);
        // Re-serialise with a valid checksum so the semantic check is what fails.
        let header = serde_json::to_vec(&damaged.model).unwrap();
        let bytes = damaged_bytes(&header, &damaged.blob);
        let err = QfmFile::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(err, RtError::InvalidModel { .. }),
            "{expected}: {err}"
        );
        assert!(
            err.to_string().contains(expected),
            "expected '{expected}' in: {err}"
        );
    }
}

/// Token pooling masks padding by the token ids, one per row: a convolution that shortens
/// the sequence would misalign them, so the model is refused (the same model whose
/// convolution keeps the length is accepted).
#[test]
fn token_pooling_needs_one_row_per_token() {
    use qfront_rt::format::TokenPooling;
    for (padding, accepted) in [(1, true), (0, false)] {
        let (mut b, c, _) = common::token_layers(3, padding);
        let pooled = b.token_pool("pool", c, TokenPooling::Max);
        match (accepted, pooled) {
            (true, Ok(_)) => {}
            (false, Err(err)) => {
                assert!(matches!(err, RtError::InvalidModel { .. }), "{err}");
                assert!(
                    err.to_string()
                        .contains("sequence of 4 rows, but the input has 6 tokens"),
                    "{err}"
                );
            }
            (_, other) => panic!("padding {padding:?}: {other:?}"),
        }
    }
}

fn damaged_bytes(header: &[u8], blob: &[u8]) -> Vec<u8> {
    let crc = crc32_bitwise(header, blob);
    let mut out = Vec::new();
    out.extend_from_slice(b"QFM\x1a");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(out.len(), PREFIX_LEN);
    out.extend_from_slice(header);
    out.extend_from_slice(blob);
    out
}

/// CRC-32 (IEEE, reflected, polynomial 0xEDB88320), bit by bit: the obviously-correct form.
fn crc32_bitwise(header: &[u8], blob: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in header.iter().chain(blob) {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = QfmFile::from_bytes(&bytes);
    }

    #[test]
    fn random_headers_with_valid_checksums_never_panic(header in "\\PC{0,300}", blob in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = QfmFile::from_bytes(&damaged_bytes(header.as_bytes(), &blob));
    }

    #[test]
    fn mutated_valid_headers_never_panic(seed in any::<u64>(), at in any::<prop::sample::Index>(), value in any::<u8>()) {
        let file = common::image_model(seed, [2, 4, 8, 5]);
        let mut header = serde_json::to_vec(&file.model).unwrap();
        let i = at.index(header.len());
        header[i] = value;
        // Whatever validation accepts must also run without panicking.
        if let Ok(parsed) = QfmFile::from_bytes(&damaged_bytes(&header, &file.blob)) {
            let mut session = qfront_rt::Session::new(&parsed, qfront_rt::KernelSet::best_available());
            if let qfront_rt::format::InputSpec::Image { height, width, channels, .. } = parsed.model.input {
                let _ = session.run_images(&vec![0.5; 2 * height * width * channels], 2);
            }
        }
    }
}
