//! Small models built with the public builder, shared by the integration tests.

use qfront_quant::packing::code_range;
use qfront_quant::BitWidth;
use qfront_rt::format::{
    ActivationSpec, ConvGeometry, InputSpec, LayerOutput, ModelBuilder, QuantizedWeights,
    RealAffine, TokenPooling,
};
use qfront_rt::QfmFile;

/// A reproducible stream of numbers (an LCG; enough for test data).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    pub fn uniform(&mut self) -> f64 {
        self.next_u32() as f64 / u32::MAX as f64
    }
}

pub fn weights(
    rng: &mut Lcg,
    rows: usize,
    columns: usize,
    bits: u32,
    z2: i32,
    per_channel: bool,
) -> QuantizedWeights {
    let (lo, hi) = code_range(BitWidth::new(bits).unwrap());
    let span = (hi - lo + 1) as u32;
    QuantizedWeights {
        codes: (0..rows * columns)
            .map(|_| (lo + (rng.next_u32() % span) as i32) as i8)
            .collect(),
        rows,
        columns,
        bits,
        scale: (0..if per_channel { rows } else { 1 })
            .map(|_| 0.01 + 0.05 * rng.uniform() as f32)
            .collect(),
        zero_point_x2: vec![z2],
    }
}

pub fn affine(rng: &mut Lcg, rows: usize) -> RealAffine {
    RealAffine {
        // Some gains negative, as BatchNorm can make them.
        gain: (0..rows)
            .map(|_| {
                (0.5 + rng.uniform())
                    * if rng.next_u32().is_multiple_of(3) {
                        -1.0
                    } else {
                        1.0
                    }
            })
            .collect(),
        bias: (0..rows).map(|_| rng.uniform() - 0.5).collect(),
    }
}

pub fn act(bits: u32, scale: f32) -> LayerOutput {
    LayerOutput::Activation(ActivationSpec {
        bits,
        scale,
        zero_point: 0,
    })
}

/// A LeNet-like image model with a residual block: conv → pool → conv(+residual) → flatten →
/// linear → logits.
pub fn image_model(seed: u64, bits: [u32; 4]) -> QfmFile {
    let mut rng = Lcg(seed);
    let input = InputSpec::Image {
        height: 8,
        width: 8,
        channels: 2,
        scale: 1.0 / 16.0,
        zero_point: 0,
    };
    let mut b = ModelBuilder::new("test", "tests", input).unwrap();
    let geometry = ConvGeometry {
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        groups: 1,
    };
    let c1 = b
        .conv2d(
            "conv1",
            0,
            None,
            geometry,
            &weights(&mut rng, 6, 18, bits[0], 0, true),
            &affine(&mut rng, 6),
            act(4, 0.2),
        )
        .unwrap();
    let p = b.max_pool("pool", c1, [2, 2], [2, 2]).unwrap();
    let c2 = b
        .conv2d(
            "conv2",
            p,
            Some(p),
            geometry,
            &weights(&mut rng, 6, 54, bits[1], -1, false),
            &affine(&mut rng, 6),
            act(3, 0.3),
        )
        .unwrap();
    let dw = ConvGeometry {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        groups: 6,
    };
    let c3 = b
        .conv2d(
            "depthwise",
            c2,
            None,
            dw,
            &weights(&mut rng, 6, 9, bits[2], -1, true),
            &affine(&mut rng, 6),
            act(8, 0.05),
        )
        .unwrap();
    let f = b.flatten("flatten", c3).unwrap();
    b.linear(
        "classifier",
        f,
        &weights(&mut rng, 5, 24, bits[3], 2, true),
        &affine(&mut rng, 5),
        LayerOutput::Logits,
    )
    .unwrap();
    b.finish().unwrap()
}

/// The first layers of a token model: embedding → conv over tokens (kernel 3, `padding` on
/// each side of the token axis); returns the builder, the conv's node and the generator.
pub fn token_layers(seed: u64, padding: usize) -> (ModelBuilder, usize, Lcg) {
    let mut rng = Lcg(seed);
    let mut b = ModelBuilder::new(
        "tokens",
        "tests",
        InputSpec::Tokens {
            max_tokens: 6,
            vocabulary: 20,
            words: Vec::new(),
        },
    )
    .unwrap();
    let e = b
        .embedding("embedding", 0, &weights(&mut rng, 20, 8, 4, -1, false))
        .unwrap();
    let geometry = ConvGeometry {
        kernel: [1, 3],
        stride: [1, 1],
        padding: [0, padding],
        groups: 1,
    };
    let c = b
        .conv2d(
            "conv",
            e,
            None,
            geometry,
            &weights(&mut rng, 12, 24, 4, 0, true),
            &affine(&mut rng, 12),
            act(4, 0.1),
        )
        .unwrap();
    (b, c, rng)
}

/// A token model: embedding → conv over tokens → mean/max pooling → logits.
pub fn token_model(seed: u64, pooling: TokenPooling) -> QfmFile {
    let (mut b, c, mut rng) = token_layers(seed, 1);
    let p = b.token_pool("pool", c, pooling).unwrap();
    b.linear(
        "classifier",
        p,
        &weights(&mut rng, 3, 12, 8, 0, true),
        &affine(&mut rng, 3),
        LayerOutput::Logits,
    )
    .unwrap();
    b.finish().unwrap()
}
