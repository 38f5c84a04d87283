//! Width multiplier and its alignment to a size budget (Chin et al. 2020, methods-spec §3.2).
//!
//! A [`NetworkSkeleton`] names channel counts symbolically ([`Channels`]): hidden channels
//! scale as `c' = round(w·c)` (or MobileNet's `make_divisible`), while the input channels and
//! the class count stay fixed. [`align_width`] finds `w_b = max{w : S(w, b) ≤ S_target}` by
//! bisection; `S` is a non-decreasing step function of `w`, so bisection converges on the
//! jump that crosses the budget and returns the largest feasible multiplier below it.

use super::layer::{LayerOp, LayerRole};
use super::size::{account_model, LayerBits, ModelReport, SizePolicy};
use crate::{BitWidth, QuantError, Result};

/// How scaled channel counts are rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "rule", content = "divisor")]
pub enum ChannelRounding {
    /// `round(w·c)`, ties to even, at least 1.
    Nearest,
    /// MobileNet's `make_divisible(w·c, d)`: round to a multiple of `d`, at least `d`, and
    /// never more than 10% below `w·c`.
    MakeDivisible(usize),
}

impl ChannelRounding {
    /// The scaled channel count of a base count `c` under multiplier `w`.
    pub fn scale(self, base: usize, multiplier: f64) -> usize {
        let v = base as f64 * multiplier;
        match self {
            ChannelRounding::Nearest => (v.round_ties_even() as usize).max(1),
            ChannelRounding::MakeDivisible(d) => {
                let d = d.max(1);
                let mut c = ((((v + d as f64 / 2.0) as usize) / d) * d).max(d);
                if (c as f64) < 0.9 * v {
                    c += d;
                }
                c
            }
        }
    }
}

/// A symbolic channel (or feature) count: `(scaled ? rounding(w·base) : base)·factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Channels {
    /// Count at `w = 1`.
    pub base: usize,
    /// Whether the width multiplier applies.
    pub scaled: bool,
    /// Constant factor applied after scaling (e.g. spatial positions flattened into a linear).
    pub factor: usize,
}

impl Channels {
    /// A count the multiplier does not touch (input channels, classes).
    pub const fn fixed(n: usize) -> Self {
        Self {
            base: n,
            scaled: false,
            factor: 1,
        }
    }
    /// A hidden count that scales with the multiplier.
    pub const fn scaled(n: usize) -> Self {
        Self {
            base: n,
            scaled: true,
            factor: 1,
        }
    }
    /// A scaled count times a constant (flattening `c×h×w` into features).
    pub const fn scaled_times(n: usize, factor: usize) -> Self {
        Self {
            base: n,
            scaled: true,
            factor,
        }
    }
    /// The concrete count.
    pub fn resolve(self, multiplier: f64, rounding: ChannelRounding) -> usize {
        let c = if self.scaled {
            rounding.scale(self.base, multiplier)
        } else {
            self.base
        };
        c * self.factor
    }
}

/// A layer with symbolic channel counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum SkeletonOp {
    /// Conv2d; `depthwise` sets groups to the (scaled) channel count.
    Conv2d {
        /// Input channels.
        in_channels: Channels,
        /// Output channels.
        out_channels: Channels,
        /// Kernel size.
        kernel: [usize; 2],
        /// Depthwise convolution.
        depthwise: bool,
        /// Output spatial size.
        out_hw: [usize; 2],
        /// Has a bias.
        bias: bool,
    },
    /// Fully connected.
    Linear {
        /// Input features.
        in_features: Channels,
        /// Output features.
        out_features: Channels,
        /// Has a bias.
        bias: bool,
    },
}

/// One named layer of a skeleton.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SkeletonLayer {
    /// Layer name.
    pub name: String,
    /// First, middle or last.
    pub role: LayerRole,
    /// Shape.
    pub op: SkeletonOp,
}

/// A network whose widths are symbolic.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkSkeleton {
    /// Layers in order.
    pub layers: Vec<SkeletonLayer>,
}

/// Bits per layer role: the uniform-precision policy of methods-spec §3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleBits {
    /// First layer weights.
    pub first: BitWidth,
    /// Middle layers' weights.
    pub middle: BitWidth,
    /// Last layer weights.
    pub last: BitWidth,
    /// Activation bits (for BOPs).
    pub activations: BitWidth,
}

impl NetworkSkeleton {
    /// Concrete layers under multiplier `w`.
    pub fn instantiate(
        &self,
        multiplier: f64,
        rounding: ChannelRounding,
    ) -> Vec<(String, LayerRole, LayerOp)> {
        self.layers
            .iter()
            .map(|l| {
                let op = match &l.op {
                    SkeletonOp::Conv2d {
                        in_channels,
                        out_channels,
                        kernel,
                        depthwise,
                        out_hw,
                        bias,
                    } => {
                        let cin = in_channels.resolve(multiplier, rounding);
                        LayerOp::Conv2d {
                            in_channels: cin,
                            out_channels: out_channels.resolve(multiplier, rounding),
                            kernel: *kernel,
                            groups: if *depthwise { cin } else { 1 },
                            out_hw: *out_hw,
                            bias: *bias,
                        }
                    }
                    SkeletonOp::Linear {
                        in_features,
                        out_features,
                        bias,
                    } => LayerOp::Linear {
                        in_features: in_features.resolve(multiplier, rounding),
                        out_features: out_features.resolve(multiplier, rounding),
                        bias: *bias,
                    },
                };
                (l.name.clone(), l.role, op)
            })
            .collect()
    }

    /// Size and BOPs under multiplier `w` and a role bit policy.
    pub fn report(
        &self,
        multiplier: f64,
        rounding: ChannelRounding,
        bits: RoleBits,
        policy: SizePolicy,
    ) -> ModelReport {
        let layers = self.instantiate(multiplier, rounding);
        account_model(
            layers.iter().map(|(name, role, op)| {
                let weights = match role {
                    LayerRole::First => bits.first,
                    LayerRole::Middle => bits.middle,
                    LayerRole::Last => bits.last,
                };
                (
                    name.as_str(),
                    *role,
                    op,
                    LayerBits {
                        weights,
                        activations: bits.activations,
                    },
                )
            }),
            policy,
        )
    }
}

/// The result of [`align_width`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlignedWidth {
    /// The largest multiplier whose size fits the target.
    pub multiplier: f64,
    /// Its size in bits (≤ the target).
    pub size_bits: u64,
    /// The concrete layers at that multiplier.
    pub layers: Vec<(String, LayerRole, LayerOp)>,
}

/// What [`largest_width_within`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WidthSearch {
    /// The largest multiplier in the range whose size fits.
    Fits(f64),
    /// Even the smallest multiplier of the range is too large; its size.
    NarrowestTooLarge(f64),
    /// The largest multiplier of the range still fits.
    WidestFits,
}

/// The largest width multiplier `w ∈ [narrowest, widest]` with `size(w) ≤ target`, by
/// bisection (the size grows with the width): the one aligner of Chin et al.'s equal-size
/// comparison (methods-spec §3.2), used by [`align_width`] on a skeleton and by studies on a
/// whole model spec.
pub fn largest_width_within<E>(
    narrowest: f64,
    widest: f64,
    target: f64,
    mut size: impl FnMut(f64) -> std::result::Result<f64, E>,
) -> std::result::Result<WidthSearch, E> {
    let (mut lo, mut hi) = (narrowest, widest);
    let smallest = size(lo)?;
    if smallest > target {
        return Ok(WidthSearch::NarrowestTooLarge(smallest));
    }
    if size(hi)? <= target {
        return Ok(WidthSearch::WidestFits);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if size(mid)? <= target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * widest.max(1.0) {
            break;
        }
    }
    Ok(WidthSearch::Fits(lo))
}

/// `w_b = max{w : S(w, bits) ≤ target_bits}` by bisection on `[1e-3, 64]`.
pub fn align_width(
    skeleton: &NetworkSkeleton,
    bits: RoleBits,
    policy: SizePolicy,
    rounding: ChannelRounding,
    target_bits: u64,
) -> Result<AlignedWidth> {
    let size = |w: f64| skeleton.report(w, rounding, bits, policy).size_bits;
    let search = largest_width_within(1e-3, 64.0, target_bits as f64, |w| {
        Ok::<f64, QuantError>(size(w) as f64)
    })?;
    let multiplier = match search {
        WidthSearch::Fits(w) => w,
        WidthSearch::NarrowestTooLarge(bits) => {
            return Err(QuantError::Alignment {
                reason: format!(
                "even the narrowest network ({bits} bits) exceeds the target of {target_bits} bits"
            ),
            })
        }
        WidthSearch::WidestFits => {
            return Err(QuantError::Alignment {
                reason: format!(
                    "a multiplier of 64 still fits in {target_bits} bits; the target is too large"
                ),
            })
        }
    };
    Ok(AlignedWidth {
        multiplier,
        size_bits: size(multiplier),
        layers: skeleton.instantiate(multiplier, rounding),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_divisible_matches_mobilenet() {
        let r = ChannelRounding::MakeDivisible(8);
        assert_eq!(r.scale(32, 1.0), 32);
        assert_eq!(r.scale(32, 0.75), 24);
        assert_eq!(r.scale(16, 0.35), 8);
        assert_eq!(r.scale(96, 0.35), 32); // 33.6 → 32 (not below 90%)
        assert_eq!(r.scale(24, 1.4), 32); // 33.6 → 32
        assert_eq!(ChannelRounding::Nearest.scale(64, 0.7109375), 46); // 45.5 ties to even
        assert_eq!(ChannelRounding::Nearest.scale(3, 0.01), 1);
    }
}
