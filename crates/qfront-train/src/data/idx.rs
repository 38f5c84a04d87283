//! MNIST and Fashion-MNIST in IDX format (`train-images-idx3-ubyte[.gz]`, ...). The last
//! 5,000 training images of a [`super::SPLIT_SEED`] permutation form the validation split.

use super::dataset::{gunzip, read_file, Dataset, DatasetName, Features, Split};
use super::split::hold_out;
use crate::spec::InputShape;
use crate::{Result, TrainError};
use std::path::Path;

/// Validation images held out of the training set.
pub const IDX_VAL: usize = 5_000;

fn read_idx(dir: &Path, stem: &str) -> Result<(Vec<u8>, std::path::PathBuf)> {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() {
        let bytes = read_file(&gz, stem)?;
        return Ok((gunzip(&bytes, &gz)?, gz));
    }
    let raw = dir.join(stem);
    Ok((read_file(&raw, &format!("IDX file {stem}[.gz]"))?, raw))
}

fn be32(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn images(dir: &Path, stem: &str) -> Result<(Vec<f32>, usize, usize, usize)> {
    let (b, path) = read_idx(dir, stem)?;
    if b.len() < 16 || be32(&b, 0) != 0x0803 {
        return Err(TrainError::MalformedData {
            what: "IDX image file".into(),
            path,
            reason: "missing the 0x00000803 magic number".into(),
        });
    }
    let (n, h, w) = (be32(&b, 4), be32(&b, 8), be32(&b, 12));
    let expected = n
        .checked_mul(h)
        .and_then(|v| v.checked_mul(w))
        .and_then(|v| v.checked_add(16));
    if expected != Some(b.len()) {
        return Err(TrainError::MalformedData {
            what: "IDX image file".into(),
            path,
            reason: format!(
                "expected {} bytes for {n} images of {h}×{w}, found {} (truncated?)",
                expected
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "more than memory".into()),
                b.len()
            ),
        });
    }
    Ok((b[16..].iter().map(|&p| p as f32 / 255.0).collect(), n, h, w))
}

fn labels(dir: &Path, stem: &str) -> Result<Vec<usize>> {
    let (b, path) = read_idx(dir, stem)?;
    if b.len() < 8 || be32(&b, 0) != 0x0801 || b.len() != 8 + be32(&b, 4) {
        return Err(TrainError::MalformedData {
            what: "IDX label file".into(),
            path,
            reason: "bad magic number or length (truncated?)".into(),
        });
    }
    Ok(b[8..].iter().map(|&l| l as usize).collect())
}

/// Loads the four IDX files from `dir`.
pub fn load(name: DatasetName, dir: &Path) -> Result<Dataset> {
    let (train_px, n, h, w) = images(dir, "train-images-idx3-ubyte")?;
    let train_labels = labels(dir, "train-labels-idx1-ubyte")?;
    let (test_px, nt, test_h, test_w) = images(dir, "t10k-images-idx3-ubyte")?;
    let test_labels = labels(dir, "t10k-labels-idx1-ubyte")?;
    if (test_h, test_w) != (h, w) {
        return Err(TrainError::MalformedData {
            what: "IDX files".into(),
            path: dir.to_path_buf(),
            reason: format!("training images are {h}×{w} but test images {test_h}×{test_w}"),
        });
    }
    if let Some(bad) = train_labels.iter().chain(&test_labels).find(|&&l| l >= 10) {
        return Err(TrainError::MalformedData {
            what: "IDX label file".into(),
            path: dir.to_path_buf(),
            reason: format!("label {bad} is not a class 0..=9"),
        });
    }
    if train_labels.len() != n || test_labels.len() != nt {
        return Err(TrainError::MalformedData {
            what: "IDX files".into(),
            path: dir.to_path_buf(),
            reason: "image and label counts differ".into(),
        });
    }
    let (kept, held) = hold_out(n, IDX_VAL, super::SPLIT_SEED);
    let px = h * w;
    let take = |idx: &[usize]| Split {
        features: Features::Images {
            pixels: idx
                .iter()
                .flat_map(|&i| train_px[i * px..(i + 1) * px].iter().copied())
                .collect(),
            shape: [1, h, w],
        },
        labels: idx.iter().map(|&i| train_labels[i]).collect(),
    };
    let classes = match name {
        DatasetName::FashionMnist => [
            "t-shirt",
            "trouser",
            "pullover",
            "dress",
            "coat",
            "sandal",
            "shirt",
            "sneaker",
            "bag",
            "ankle-boot",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        _ => (0..10).map(|d| d.to_string()).collect(),
    };
    Ok(Dataset {
        name: name.name().into(),
        classes,
        train: take(&kept),
        val: take(&held),
        test: Split {
            features: Features::Images {
                pixels: test_px,
                shape: [1, h, w],
            },
            labels: test_labels,
        },
        input: InputShape::Image {
            channels: 1,
            height: h,
            width: w,
        },
        pixel_scale: Some(1.0 / 255.0),
        normalization: None,
        skipped_rows: 0,
        vocabulary: None,
    })
}
