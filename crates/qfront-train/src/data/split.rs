//! Seeded, stratification-free splits.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A permutation of `0..n` from `seed`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    idx
}

/// Holds out `held` of `n` examples: returns `(kept, held_out)` index lists (sorted).
pub fn hold_out(n: usize, held: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let perm = permutation(n, seed);
    let mut out: Vec<usize> = perm[..held.min(n)].to_vec();
    let mut kept: Vec<usize> = perm[held.min(n)..].to_vec();
    out.sort_unstable();
    kept.sort_unstable();
    (kept, out)
}
