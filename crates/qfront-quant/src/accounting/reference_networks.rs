//! Reference skeletons used to check the accountant against methods-spec §3.2.

use super::layer::LayerRole;
use super::width::{Channels, NetworkSkeleton, SkeletonLayer, SkeletonOp};

/// CIFAR ResNet-20 (He et al. 2016): a 3×3 stem to 16 channels, three stages of three basic
/// blocks at 16/32/64 channels (32×32, 16×16, 8×8), option-A (parameter-free) shortcuts,
/// global pooling and a 10-way classifier with bias. BatchNorm parameters are not counted.
/// 268,346 weights at `w = 1`, 267,264 of them in the middle layers.
pub fn resnet20_cifar_skeleton() -> NetworkSkeleton {
    let conv = |name: String, role, cin: Channels, cout: Channels, hw: usize| SkeletonLayer {
        name,
        role,
        op: SkeletonOp::Conv2d {
            in_channels: cin,
            out_channels: cout,
            kernel: [3, 3],
            depthwise: false,
            out_hw: [hw, hw],
            bias: false,
        },
    };
    let mut layers = vec![conv(
        "stem".into(),
        LayerRole::First,
        Channels::fixed(3),
        Channels::scaled(16),
        32,
    )];
    let mut cin = 16;
    for (stage, (cout, hw)) in [(16, 32), (32, 16), (64, 8)].into_iter().enumerate() {
        for block in 0..3 {
            layers.push(conv(
                format!("stage{}.block{}.conv1", stage + 1, block),
                LayerRole::Middle,
                Channels::scaled(cin),
                Channels::scaled(cout),
                hw,
            ));
            layers.push(conv(
                format!("stage{}.block{}.conv2", stage + 1, block),
                LayerRole::Middle,
                Channels::scaled(cout),
                Channels::scaled(cout),
                hw,
            ));
            cin = cout;
        }
    }
    layers.push(SkeletonLayer {
        name: "classifier".into(),
        role: LayerRole::Last,
        op: SkeletonOp::Linear {
            in_features: Channels::scaled(64),
            out_features: Channels::fixed(10),
            bias: true,
        },
    });
    NetworkSkeleton { layers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::{
        align_width, BiasBits, ChannelRounding, LayerOp, RoleBits, SizePolicy,
    };
    use crate::BitWidth;

    fn bits(middle: u32) -> RoleBits {
        let eight = BitWidth::storage(8).unwrap();
        RoleBits {
            first: eight,
            middle: BitWidth::storage(middle).unwrap(),
            last: eight,
            activations: eight,
        }
    }

    const POLICY: SizePolicy = SizePolicy {
        bias_bits: BiasBits::SameAsWeights,
    };

    #[test]
    fn resnet20_parameter_counts() {
        let layers = resnet20_cifar_skeleton().instantiate(1.0, ChannelRounding::Nearest);
        let total: u64 = layers
            .iter()
            .map(|(_, _, op)| op.weights() + op.biases())
            .sum();
        let middle: u64 = layers
            .iter()
            .filter(|(_, r, _)| *r == LayerRole::Middle)
            .map(|(_, _, op)| op.weights())
            .sum();
        assert_eq!(total, 268_346);
        assert_eq!(middle, 267_264);
        let target = resnet20_cifar_skeleton()
            .report(1.0, ChannelRounding::Nearest, bits(4), POLICY)
            .size_bits;
        assert_eq!(target, 1_077_712);
    }

    /// The worked example of methods-spec §3.2: every bit width aligned to 4-bit at w = 1.
    #[test]
    fn resnet20_alignment_table() {
        let skeleton = resnet20_cifar_skeleton();
        let table = [
            (1, 1.992, [32, 64, 127]),
            (2, 1.414, [23, 45, 90]),
            (3, 1.148, [18, 37, 73]),
            (4, 1.008, [16, 32, 64]),
            (8, 0.711, [11, 23, 45]),
        ];
        for (b, w, channels) in table {
            let aligned = align_width(
                &skeleton,
                bits(b),
                POLICY,
                ChannelRounding::Nearest,
                1_077_712,
            )
            .unwrap();
            assert!(
                (aligned.multiplier - w).abs() < 1e-3,
                "b={b}: w={} vs {w}",
                aligned.multiplier
            );
            assert!(aligned.size_bits <= 1_077_712);
            let stage_channels: Vec<usize> = [
                "stage1.block0.conv1",
                "stage2.block0.conv1",
                "stage3.block0.conv1",
            ]
            .iter()
            .map(|n| {
                match &aligned
                    .layers
                    .iter()
                    .find(|(name, _, _)| name == n)
                    .unwrap()
                    .2
                {
                    LayerOp::Conv2d { out_channels, .. } => *out_channels,
                    _ => unreachable!(),
                }
            })
            .collect();
            assert_eq!(stage_channels, channels, "b={b}");
        }
    }

    #[test]
    fn impossible_targets_are_errors() {
        let s = resnet20_cifar_skeleton();
        assert!(align_width(&s, bits(4), POLICY, ChannelRounding::Nearest, 10).is_err());
        assert!(align_width(&s, bits(4), POLICY, ChannelRounding::Nearest, u64::MAX / 4).is_err());
    }
}
