//! The 2-D front that the 3-D sweeps keep (the hypervolume, the dominated region's boxes and
//! the three-objective Pareto filter): `(x, y)` pairs with `x` ascending (by
//! `total_cmp`), hence `y` descending, a staircase. Two stores behind one interface: a sorted
//! array for the small fronts of the acquisitions' inner loop (binary search over contiguous
//! pairs; an insertion shifts the entries to its right) and the balanced tree of Beume et al.
//! (2009) for large point sets, where the array's shifts would grow quadratically.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Point sets up to this size sweep with the sorted-array staircase, larger ones with the tree.
/// At 10,000 points whose projections never dominate one another (the array's worst case) the
/// array took 6.6 ms against the tree's 3.5 ms; on small fronts the array saves the tree's
/// node walks and allocations (BENCHMARKS.md, 33rd session).
pub(super) const ARRAY_STAIRCASE_MAX_POINTS: usize = 2048;

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

    /// Adds the point `(a, b)` to the staircase (above `reference`, the sweep's first two
    /// coordinates) and reports the region it newly covers as strips
    /// `strip(left, lower, upper)`, each `[left, a] × [lower, upper]`, disjoint from one another
    /// and from what the staircase covered before: one per entry `(a, b)` dominates, then one
    /// up to `b`. Reports nothing when an entry already dominates `(a, b)`. Over a sweep the
    /// strips number at most twice the points (an entry is removed once). Returns whether
    /// `(a, b)` was inserted (no entry dominated it).
    fn insert_reporting_strips(
        &mut self,
        a: f64,
        b: f64,
        reference: [f64; 2],
        mut strip: impl FnMut(f64, f64, f64),
    ) -> bool
    where
        Self: Sized,
    {
        // Dominated in 2-D by the first entry with x ≥ a?
        if self.at_or_after(a).is_some_and(|(_, y)| y >= b) {
            return false;
        }
        let right_y = self.y_after(a).unwrap_or(reference[1]);
        // Walk left over the entries (a, b) dominates (x ≤ a, y ≤ b), reporting the strips
        // it uncovers.
        let (mut lower_y, mut left_x) = (right_y, reference[0]);
        let mut dominated = 0;
        for (x, y) in self.left_of(a) {
            if y > b {
                left_x = x;
                break;
            }
            strip(x, lower_y, y);
            lower_y = y;
            dominated += 1;
        }
        strip(left_x, lower_y, b);
        self.replace_left_of(a, dominated, b);
        true
    }
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
