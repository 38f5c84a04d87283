//! Fixed-width example rows as loaders accumulate them (token ids or pixels), and the seeded
//! split of one source into train / validation / test without copying the training rows.

use super::dataset::{Features, Split};
use super::split::permutation;

/// `labels.len()` rows of `width` values each, stored contiguously.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows<T> {
    /// Row-major values.
    pub values: Vec<T>,
    /// Values per row.
    pub width: usize,
    /// One label per row.
    pub labels: Vec<usize>,
}

impl<T: Copy> Rows<T> {
    /// Empty rows of `width` values.
    pub fn new(width: usize) -> Self {
        Self {
            values: Vec::new(),
            width,
            labels: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Splits off `validation` and `test` rows chosen by a permutation seeded with `seed`;
    /// the rest stay in `self`, compacted in place in their original order (no copy of the
    /// training rows). Returns `(validation, test)`.
    pub fn split_off(&mut self, validation: usize, test: usize, seed: u64) -> (Self, Self) {
        const TRAIN: u8 = 0;
        const VALIDATION: u8 = 1;
        const TEST: u8 = 2;
        let n = self.len();
        let mut assignment = vec![TRAIN; n];
        let perm = permutation(n, seed);
        for &row in perm.iter().take(test.min(n)) {
            assignment[row] = TEST;
        }
        for &row in perm.iter().skip(test.min(n)).take(validation) {
            assignment[row] = VALIDATION;
        }
        let (mut val, mut tst) = (Self::new(self.width), Self::new(self.width));
        let w = self.width;
        let mut kept = 0;
        for (row, &to) in assignment.iter().enumerate() {
            match to {
                TRAIN => {
                    if kept != row {
                        self.values.copy_within(row * w..(row + 1) * w, kept * w);
                        self.labels[kept] = self.labels[row];
                    }
                    kept += 1;
                }
                other => {
                    let target = if other == VALIDATION {
                        &mut val
                    } else {
                        &mut tst
                    };
                    target
                        .values
                        .extend_from_slice(&self.values[row * w..(row + 1) * w]);
                    target.labels.push(self.labels[row]);
                }
            }
        }
        self.values.truncate(kept * w);
        self.labels.truncate(kept);
        self.values.shrink_to_fit();
        self.labels.shrink_to_fit();
        (val, tst)
    }
}

impl Rows<i64> {
    /// Token rows as a split.
    pub fn into_token_split(self) -> Split {
        Split {
            features: Features::Tokens {
                ids: self.values,
                max_tokens: self.width,
            },
            labels: self.labels,
        }
    }
}

impl Rows<f32> {
    /// Image rows (`[channels, height, width]` each) as a split.
    pub fn into_image_split(self, shape: [usize; 3]) -> Split {
        Split {
            features: Features::Images {
                pixels: self.values,
                shape,
            },
            labels: self.labels,
        }
    }
}

/// The sizes of the validation and test parts of a single source of `n` rows.
pub fn split_sizes(n: usize, validation_fraction: f64, test_fraction: f64) -> (usize, usize) {
    let validation = ((n as f64 * validation_fraction).round() as usize).max(1);
    let test = if test_fraction > 0.0 {
        ((n as f64 * test_fraction).round() as usize).max(1)
    } else {
        0
    };
    (validation, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slow, obviously correct split: gather by assignment.
    fn gather(rows: &Rows<i64>, pick: impl Fn(usize) -> bool) -> Rows<i64> {
        let mut out = Rows::new(rows.width);
        for r in 0..rows.len() {
            if pick(r) {
                out.values
                    .extend_from_slice(&rows.values[r * rows.width..(r + 1) * rows.width]);
                out.labels.push(rows.labels[r]);
            }
        }
        out
    }

    #[test]
    fn split_off_matches_gathering_and_keeps_every_row_once() {
        let n = 103;
        let mut rows = Rows::new(3);
        for r in 0..n {
            rows.values.extend([r as i64, 10 * r as i64, -(r as i64)]);
            rows.labels.push(r % 7);
        }
        let original = rows.clone();
        let (val, test) = rows.split_off(10, 21, 5);
        assert_eq!((val.len(), test.len(), rows.len()), (10, 21, 72));
        let perm = permutation(n, 5);
        let test_rows: Vec<usize> = perm[..21].to_vec();
        let val_rows: Vec<usize> = perm[21..31].to_vec();
        assert_eq!(test, gather(&original, |r| test_rows.contains(&r)));
        assert_eq!(val, gather(&original, |r| val_rows.contains(&r)));
        assert_eq!(
            rows,
            gather(&original, |r| !test_rows.contains(&r)
                && !val_rows.contains(&r))
        );
    }

    #[test]
    fn sizes_round_and_keep_one_validation_row() {
        assert_eq!(split_sizes(1000, 0.1, 0.1), (100, 100));
        assert_eq!(split_sizes(5, 0.1, 0.0), (1, 0));
        assert_eq!(split_sizes(5, 0.1, 0.05), (1, 1));
    }
}
