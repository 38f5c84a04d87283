//! Seeded parameter initialisation (every random choice flows from the run's seed).

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded source of initial weights.
#[derive(Debug)]
pub struct ParamInit {
    rng: ChaCha8Rng,
}

impl ParamInit {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// He-uniform: `U(−√(6/fan_in), √(6/fan_in))`, suited to ReLU-like activations.
    pub fn he_uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        fan_in: usize,
        device: &Device,
    ) -> Tensor<D> {
        let bound = (6.0 / fan_in.max(1) as f64).sqrt() as f32;
        self.uniform(shape, bound, device)
    }

    /// `U(−bound, bound)`.
    pub fn uniform<const D: usize>(
        &mut self,
        shape: [usize; D],
        bound: f32,
        device: &Device,
    ) -> Tensor<D> {
        self.tensor(shape, device, |rng| rng.gen_range(-bound..=bound))
    }

    /// Normal(0, std) by Box–Muller.
    pub fn normal<const D: usize>(
        &mut self,
        shape: [usize; D],
        std: f32,
        device: &Device,
    ) -> Tensor<D> {
        self.tensor(shape, device, |rng| {
            let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
            let u2: f64 = rng.gen();
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32 * std
        })
    }

    /// A tensor of `shape` whose elements are drawn in row-major order by `draw`.
    fn tensor<const D: usize>(
        &mut self,
        shape: [usize; D],
        device: &Device,
        mut draw: impl FnMut(&mut ChaCha8Rng) -> f32,
    ) -> Tensor<D> {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| draw(&mut self.rng)).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }
}
