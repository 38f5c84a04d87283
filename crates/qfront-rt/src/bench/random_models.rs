//! Random models for building and checking a latency table: the shapes a study searches
//! (MLP, LeNet-style CNN, ResNet-style CNN with residual blocks, NLU conv model), with every
//! weight and activation width from 2 to 8 bits. Widths come from fixed menus
//! ([`Widths::Menu`], what a table is built from) or are drawn anywhere in the same ranges
//! ([`Widths::OffMenu`], for checking the table on layers it never measured). Weights are
//! synthetic: latency does not depend on their values.

use crate::format::{
    ActivationSpec, ConvGeometry, InputSpec, LayerOutput, ModelBuilder, QfmFile, QuantizedWeights,
    RealAffine, TokenPooling,
};
use crate::Result;
use qfront_quant::packing::code_range;
use qfront_quant::BitWidth;

/// Where a random model's layer widths come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widths {
    /// The fixed menus (powers of two and the like): repeated shapes, so table entries.
    Menu,
    /// Any width in the menus' range: shapes the table has (almost surely) not measured.
    OffMenu,
}

/// A small deterministic generator (PCG-style LCG), so a seed names a model everywhere.
struct Draw {
    state: u64,
    widths: Widths,
}

impl Draw {
    fn next(&mut self) -> usize {
        self.state = self
            .state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.state >> 33) as usize
    }

    /// One of `menu`.
    fn pick(&mut self, menu: &[usize]) -> usize {
        menu[self.next() % menu.len()]
    }

    /// A layer width: from `menu`, or anywhere between its smallest and largest entry.
    fn width(&mut self, menu: &[usize]) -> usize {
        match self.widths {
            Widths::Menu => self.pick(menu),
            Widths::OffMenu => {
                let (lo, hi) = (menu[0], menu[menu.len() - 1]);
                lo + self.next() % (hi - lo + 1)
            }
        }
    }

    /// A width in bits, 2..=8.
    fn bits(&mut self) -> usize {
        2 + self.next() % 7
    }
}

fn weights(rows: usize, columns: usize, bits: usize, codes_seed: usize) -> QuantizedWeights {
    let (lo, hi) = code_range(BitWidth::new(bits as u32).expect("2..=8 bits"));
    let span = (hi - lo + 1) as usize;
    QuantizedWeights {
        codes: (0..rows * columns)
            .map(|i| (lo + ((i * 7919 + codes_seed) % span) as i32) as i8)
            .collect(),
        rows,
        columns,
        bits: bits as u32,
        scale: vec![0.02],
        zero_point_x2: vec![0],
    }
}

fn real(rows: usize) -> RealAffine {
    RealAffine::bias_only(vec![0.01; rows])
}

fn act(bits: usize) -> LayerOutput {
    LayerOutput::Activation(ActivationSpec {
        bits: bits as u32,
        scale: 0.05,
        zero_point: 0,
    })
}

fn image(side: usize, channels: usize) -> InputSpec {
    InputSpec::Image {
        height: side,
        width: side,
        channels,
        scale: 1.0 / 255.0,
        zero_point: 0,
    }
}

fn square(kernel: usize, stride: usize) -> ConvGeometry {
    ConvGeometry {
        kernel: [kernel, kernel],
        stride: [stride, stride],
        padding: [kernel / 2, kernel / 2],
        groups: 1,
    }
}

/// A random model of one of the four families (chosen by `seed`).
pub fn random_model(seed: u64, widths: Widths) -> Result<QfmFile> {
    let mut d = Draw {
        state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1),
        widths,
    };
    match d.pick(&[0, 1, 2, 3]) {
        0 => mlp(&mut d),
        1 => lenet(&mut d),
        2 => resnet(&mut d),
        _ => nlu(&mut d),
    }
}

/// A wide model for weight-memory measurements (`qfront bench memory`): every weighted
/// layer but the 8-bit classifier has `bits`-bit weights and 8-bit activations.
/// - `"mlp"`: a 64×64 image, `layers` fully connected layers of `width` outputs;
/// - `"cnn"`: a 16×16 image with 64 channels, `layers` 3×3 convolutions of `width` channels
///   (a 2×2 max pool after the first), global average pooling.
pub fn wide_model(family: &str, width: usize, layers: usize, bits: u32) -> Result<QfmFile> {
    let bits = bits as usize;
    match family {
        "mlp" => {
            let mut b = ModelBuilder::new("wide-mlp", "qfront bench memory", image(64, 1))?;
            let mut h = b.flatten("flatten", 0)?;
            let mut features = 64 * 64;
            for i in 0..layers {
                let w = weights(width, features, bits, i);
                h = b.linear(&format!("fc{i}"), h, &w, &real(width), act(8))?;
                features = width;
            }
            let w = weights(10, features, 8, 99);
            b.linear("classifier", h, &w, &real(10), LayerOutput::Logits)?;
            b.finish()
        }
        "cnn" => {
            let mut b = ModelBuilder::new("wide-cnn", "qfront bench memory", image(16, 64))?;
            let mut h = 0;
            let mut channels = 64;
            for i in 0..layers {
                let w = weights(width, 9 * channels, bits, i);
                h = b.conv2d(
                    &format!("conv{i}"),
                    h,
                    None,
                    square(3, 1),
                    &w,
                    &real(width),
                    act(8),
                )?;
                if i == 0 {
                    h = b.max_pool("pool", h, [2, 2], [2, 2])?;
                }
                channels = width;
            }
            let h = b.global_avg_pool("gap", h)?;
            let w = weights(10, channels, 8, 99);
            b.linear("classifier", h, &w, &real(10), LayerOutput::Logits)?;
            b.finish()
        }
        other => Err(crate::RtError::input(format!(
            "unknown wide model family '{other}': give mlp or cnn"
        ))),
    }
}

fn mlp(d: &mut Draw) -> Result<QfmFile> {
    let mut b = ModelBuilder::new("mlp", "qfront bench lut", image(28, 1))?;
    let mut h = b.flatten("flatten", 0)?;
    let mut features = 784;
    for i in 0..d.pick(&[1, 2, 3]) {
        let width = d.width(&[64, 128, 256, 512]);
        let bits = if i == 0 { 8 } else { d.bits() };
        let out = act(d.bits());
        h = b.linear(
            &format!("fc{i}"),
            h,
            &weights(width, features, bits, i),
            &real(width),
            out,
        )?;
        features = width;
    }
    let w = weights(10, features, 8, 99);
    b.linear("classifier", h, &w, &real(10), LayerOutput::Logits)?;
    b.finish()
}

fn lenet(d: &mut Draw) -> Result<QfmFile> {
    let mut b = ModelBuilder::new("lenet", "qfront bench lut", image(28, 1))?;
    let k = d.pick(&[3, 5]);
    let (c1, c2, fc) = (
        d.width(&[8, 16, 32]),
        d.width(&[16, 32, 64]),
        d.width(&[64, 128, 256]),
    );
    let out = act(d.bits());
    let h = b.conv2d(
        "conv1",
        0,
        None,
        square(k, 1),
        &weights(c1, k * k, 8, 1),
        &real(c1),
        out,
    )?;
    let h = b.max_pool("pool1", h, [2, 2], [2, 2])?;
    let (bits, out) = (d.bits(), act(d.bits()));
    let h = b.conv2d(
        "conv2",
        h,
        None,
        square(k, 1),
        &weights(c2, k * k * c1, bits, 2),
        &real(c2),
        out,
    )?;
    let h = b.max_pool("pool2", h, [2, 2], [2, 2])?;
    let h = b.flatten("flatten", h)?;
    let (bits, out) = (d.bits(), act(d.bits()));
    let h = b.linear("fc", h, &weights(fc, 49 * c2, bits, 3), &real(fc), out)?;
    let w = weights(10, fc, 8, 4);
    b.linear("classifier", h, &w, &real(10), LayerOutput::Logits)?;
    b.finish()
}

/// A ResNet-20-style CNN on 32×32×3: a stem, then per stage a residual block whose shortcut is
/// subsampled (a 1×1 average pool of stride 2) and zero-padded in channels where the stage
/// narrows the image, global average pooling and the classifier: every operator the
/// `resnet20` family exports.
fn resnet(d: &mut Draw) -> Result<QfmFile> {
    let mut b = ModelBuilder::new("resnet", "qfront bench lut", image(32, 3))?;
    let stem = d.width(&[8, 16, 24]);
    let out = act(d.bits());
    let mut h = b.conv2d(
        "stem",
        0,
        None,
        square(3, 1),
        &weights(stem, 27, 8, 1),
        &real(stem),
        out,
    )?;
    let mut channels = stem;
    for stage in 0..3 {
        let stride = if stage == 0 { 1 } else { 2 };
        let width = if stage == 0 {
            channels
        } else {
            channels + d.width(&[4, 8, 16])
        };
        let name = format!("block{stage}");
        let (bits, out) = (d.bits(), act(d.bits()));
        let mid = b.conv2d(
            &format!("{name}.conv1"),
            h,
            None,
            square(3, stride),
            &weights(width, 9 * channels, bits, 2 + stage),
            &real(width),
            out,
        )?;
        let mut shortcut = h;
        if stride > 1 {
            shortcut = b.avg_pool(&format!("{name}.subsample"), shortcut, [1, 1], [2, 2])?;
        }
        if width > channels {
            shortcut = b.pad_channels(&format!("{name}.pad"), shortcut, width - channels)?;
        }
        let (bits, out) = (d.bits(), act(d.bits()));
        h = b.conv2d(
            &format!("{name}.conv2"),
            mid,
            Some(shortcut),
            square(3, 1),
            &weights(width, 9 * width, bits, 5 + stage),
            &real(width),
            out,
        )?;
        channels = width;
    }
    if d.pick(&[0, 1]) == 0 {
        // A windowed average pool, as layer lists use.
        h = b.avg_pool("pool", h, [2, 2], [2, 2])?;
    }
    let pooled = b.global_avg_pool("global_pool", h)?;
    let w = weights(10, channels, 8, 9);
    b.linear("classifier", pooled, &w, &real(10), LayerOutput::Logits)?;
    b.finish()
}

fn nlu(d: &mut Draw) -> Result<QfmFile> {
    let input = InputSpec::Tokens {
        max_tokens: 32,
        vocabulary: 4097,
        words: Vec::new(),
    };
    let mut b = ModelBuilder::new("nlu", "qfront bench lut", input)?;
    let (dim, hidden, k) = (
        d.width(&[32, 64, 128]),
        d.width(&[64, 128, 256]),
        d.pick(&[1, 3, 5]),
    );
    let e = b.embedding("embedding", 0, &weights(4097, dim, 8, 5))?;
    let geometry = ConvGeometry {
        kernel: [1, k],
        stride: [1, 1],
        padding: [0, k / 2],
        groups: 1,
    };
    let (bits, out) = (d.bits(), act(d.bits()));
    let h = b.conv2d(
        "block0",
        e,
        None,
        geometry,
        &weights(hidden, k * dim, bits, 6),
        &real(hidden),
        out,
    )?;
    let mode = if d.pick(&[0, 1]) == 0 {
        TokenPooling::Mean
    } else {
        TokenPooling::Max
    };
    let p = b.token_pool("pool", h, mode)?;
    let w = weights(7, hidden, 8, 7);
    b.linear("classifier", p, &w, &real(7), LayerOutput::Logits)?;
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_builds_valid_models_at_every_width() {
        let mut families = std::collections::BTreeSet::new();
        let mut bits = std::collections::BTreeSet::new();
        for seed in 0..60 {
            for widths in [Widths::Menu, Widths::OffMenu] {
                let file = random_model(seed, widths).unwrap();
                // Through bytes: the file validates as a deployed one would.
                let file = QfmFile::from_bytes(&file.to_bytes()).unwrap();
                families.insert(file.model.name.clone());
                for node in &file.model.nodes {
                    if let crate::format::Op::Linear { params }
                    | crate::format::Op::Conv2d { params, .. } = &node.op
                    {
                        bits.insert(params.weights.bits);
                    }
                }
            }
        }
        assert_eq!(families.len(), 4, "{families:?}");
        assert_eq!(
            bits.into_iter().collect::<Vec<_>>(),
            (2..=8).collect::<Vec<_>>()
        );
    }
}
