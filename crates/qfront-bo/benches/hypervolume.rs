//! Hypervolume speed (issue #3 goal: 10,000 random non-dominated-ish points in 3-D under
//! 50 ms). The points lie near the positive unit sphere (DTLZ2's front shape), jittered
//! inwards, so most are non-dominated. Run with `cargo bench -p qfront-bo --bench hypervolume`;
//! the 2-D and 4-D rows show how the other algorithms scale. The `m3-crossing` row is the 3-D
//! sweep's worst case: every point's projection on the first two objectives is non-dominated
//! (`x + y = 1`), so the sweep's 2-D front only grows.
//!
//! The `hvi-3d` group times what qNEHVI does per Monte-Carlo sample and candidate on three
//! objectives: the improvement and gradient of one point over a front of 20, by the limited
//! set (a sort and a sweep per point) and by the front's dominated boxes (built once, one pass
//! per point), over the same 128 points in the same run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use qfront_bo::moo::{hypervolume, hypervolume_improvement_single, DominatedBoxes3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn sphere_points(n: usize, m: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let v: Vec<f64> = (0..m).map(|_| rng.gen::<f64>() + 1e-9).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let shrink = 1.0 - 0.05 * rng.gen::<f64>();
            v.iter().map(|x| x / norm * shrink).collect()
        })
        .collect()
}

/// `x` uniform, `y = 1 − x`, `z` uniform: no projection on `(x, y)` dominates another.
fn crossing_points(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x = 0.001 + 0.998 * rng.gen::<f64>();
            vec![x, 1.0 - x, 0.001 + 0.998 * rng.gen::<f64>()]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hypervolume");
    group.sample_size(20);
    for (m, n) in [(2usize, 10_000usize), (3, 10_000), (4, 300)] {
        let points = sphere_points(n, m, 7);
        let reference = vec![0.0; m];
        group.bench_with_input(BenchmarkId::new(format!("m{m}"), n), &points, |b, p| {
            b.iter(|| hypervolume(p, &reference).unwrap())
        });
    }
    let points = crossing_points(10_000, 7);
    group.bench_with_input(BenchmarkId::new("m3-crossing", 10_000), &points, |b, p| {
        b.iter(|| hypervolume(p, &[0.0; 3]).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("hvi-3d");
    let front = sphere_points(20, 3, 3);
    let candidates: Vec<Vec<f64>> = sphere_points(128, 3, 5)
        .into_iter()
        .map(|p| p.iter().map(|v| v * 1.02).collect())
        .collect();
    let reference = [0.0; 3];
    group.bench_function("limited-set", |b| {
        b.iter(|| {
            candidates
                .iter()
                .map(|y| hypervolume_improvement_single(&front, y, &reference, true).0)
                .sum::<f64>()
        })
    });
    let boxes = DominatedBoxes3::new(&front, &reference);
    group.bench_function("dominated-boxes", |b| {
        b.iter(|| {
            candidates
                .iter()
                .map(|y| boxes.improvement(y, true).0)
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
