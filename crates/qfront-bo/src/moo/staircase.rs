//! The 2-D front the 3-D hypervolume sweep keeps: `(x, y)` pairs with `x` ascending (by
//! `total_cmp`), hence `y` descending, a staircase. Two stores behind one interface: a sorted
//! array for the small fronts of the acquisitions' inner loop (binary search over contiguous
//! pairs; an insertion shifts the entries to its right) and the balanced tree of Beume et al.
//! (2009) for large point sets, where the array's shifts would grow quadratically.

use std::collections::BTreeMap;
use std::ops::Bound;

/// The operations the sweep needs from its staircase.
pub(super) trait Staircase {
    /// The first entry with `x ≥ a`.
    fn at_or_after(&self, a: f64) -> Option<(f64, f64)>;
    /// The `y` of the first entry with `x > a`.
    fn y_after(&self, a: f64) -> Option<f64>;
    /// The entries with `x ≤ a`, `x` descending.
    fn left_of(&self, a: f64) -> impl Iterator<Item = (f64, f64)>;
    /// Removes the first `count` entries [`Staircase::left_of`]`(a)` yields and inserts `(a, b)`.
    fn replace_left_of(&mut self, a: f64, count: usize, b: f64);
}

/// The array store: `(x, y)` pairs sorted by `x`.
#[derive(Default)]
pub(super) struct SortedStaircase(Vec<(f64, f64)>);

impl SortedStaircase {
    /// An empty staircase with room for `points` entries (a sweep inserts at most one per
    /// point), so it never reallocates.
    pub(super) fn with_capacity(points: usize) -> Self {
        Self(Vec::with_capacity(points))
    }

    /// The index of the first entry with `x > a`.
    fn end_of_left(&self, a: f64) -> usize {
        self.0.partition_point(|&(x, _)| x.total_cmp(&a).is_le())
    }
}

impl Staircase for SortedStaircase {
    fn at_or_after(&self, a: f64) -> Option<(f64, f64)> {
        let at = self.0.partition_point(|&(x, _)| x.total_cmp(&a).is_lt());
        self.0.get(at).copied()
    }

    fn y_after(&self, a: f64) -> Option<f64> {
        self.0.get(self.end_of_left(a)).map(|&(_, y)| y)
    }

    fn left_of(&self, a: f64) -> impl Iterator<Item = (f64, f64)> {
        self.0[..self.end_of_left(a)].iter().rev().copied()
    }

    fn replace_left_of(&mut self, a: f64, count: usize, b: f64) {
        let end = self.end_of_left(a);
        self.0.splice(end - count..end, [(a, b)]);
    }
}

/// `f64` ordered by `total_cmp`, for tree keys.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The tree store: `O(log n)` per operation whatever the front's size.
#[derive(Default)]
pub(super) struct TreeStaircase(BTreeMap<Key, f64>);

impl Staircase for TreeStaircase {
    fn at_or_after(&self, a: f64) -> Option<(f64, f64)> {
        self.0.range(Key(a)..).next().map(|(k, &y)| (k.0, y))
    }

    fn y_after(&self, a: f64) -> Option<f64> {
        self.0
            .range((Bound::Excluded(Key(a)), Bound::Unbounded))
            .next()
            .map(|(_, &y)| y)
    }

    fn left_of(&self, a: f64) -> impl Iterator<Item = (f64, f64)> {
        self.0.range(..=Key(a)).rev().map(|(k, &y)| (k.0, y))
    }

    fn replace_left_of(&mut self, a: f64, count: usize, b: f64) {
        if count == 0 {
            self.0.insert(Key(a), b);
            return;
        }
        let dominated: Vec<Key> = self
            .0
            .range(..=Key(a))
            .rev()
            .take(count)
            .map(|(k, _)| *k)
            .collect();
        for key in dominated {
            self.0.remove(&key);
        }
        self.0.insert(Key(a), b);
    }
}
