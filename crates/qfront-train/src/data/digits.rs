//! UCI 8×8 digits (scikit-learn's copy, `digits.csv.gz`: 64 pixels 0..16 and a label per row).
//! Split with [`super::SPLIT_SEED`]: 360 test, 180 validation, 1,257 training examples.

use super::builtin::{display_path, read_builtin};
use super::dataset::{gunzip, Dataset, DatasetName, Features, Split};
use super::split::permutation;
use crate::spec::InputShape;
use crate::{Result, TrainError};

/// Test examples held out.
pub const DIGITS_TEST: usize = 360;
/// Validation examples held out.
pub const DIGITS_VAL: usize = 180;

/// Loads the built-in `digits8x8/digits.csv.gz`.
pub fn load() -> Result<Dataset> {
    const FILE: &str = "digits8x8/digits.csv.gz";
    let path = display_path(FILE);
    let text = gunzip(&read_builtin(FILE)?, &path)?;
    let text = String::from_utf8(text).map_err(|e| TrainError::MalformedData {
        what: "digits CSV".into(),
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let values: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| TrainError::MalformedData {
                what: "digits CSV".into(),
                path: path.clone(),
                reason: format!("line {}: {e}", line_no + 1),
            })?;
        if values.len() != 65 || values[64] < 0.0 || values[64] > 9.0 {
            return Err(TrainError::MalformedData {
                what: "digits CSV".into(),
                path,
                reason: format!(
                    "line {} has {} columns or a bad label; expected 64 pixels and a label 0..9",
                    line_no + 1,
                    values.len()
                ),
            });
        }
        pixels.extend(values[..64].iter().map(|v| v / 16.0));
        labels.push(values[64] as usize);
    }
    if labels.len() <= DIGITS_TEST + DIGITS_VAL {
        return Err(TrainError::MalformedData {
            what: "digits CSV".into(),
            path,
            reason: format!(
                "{} rows; the fixed split needs more than {} (restore data/digits8x8/digits.csv.gz)",
                labels.len(),
                DIGITS_TEST + DIGITS_VAL
            ),
        });
    }
    let perm = permutation(labels.len(), super::SPLIT_SEED);
    let take = |idx: &[usize]| Split {
        features: Features::Images {
            pixels: idx
                .iter()
                .flat_map(|&i| pixels[i * 64..(i + 1) * 64].iter().copied())
                .collect(),
            shape: [1, 8, 8],
        },
        labels: idx.iter().map(|&i| labels[i]).collect(),
    };
    let test = take(&perm[..DIGITS_TEST]);
    let val = take(&perm[DIGITS_TEST..DIGITS_TEST + DIGITS_VAL]);
    let train = take(&perm[DIGITS_TEST + DIGITS_VAL..]);
    Ok(Dataset {
        name: DatasetName::Digits.name().into(),
        classes: (0..10).map(|d| d.to_string()).collect(),
        train,
        val,
        test,
        input: InputShape::Image {
            channels: 1,
            height: 8,
            width: 8,
        },
        pixel_scale: Some(1.0 / 16.0),
        normalization: None,
        skipped_rows: 0,
        vocabulary: None,
    })
}
