//! Size and BOPs of a model: `S = Σ_l b_l·P_l` (+ biases), `BOPs = Σ_l MACs_l·b_w·b_a`
//! (methods-spec §3.2–3.3).

use super::layer::{LayerOp, LayerRole};
use crate::BitWidth;

/// How biases are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BiasBits {
    /// At the layer's weight bit width (the convention of the §3.2 worked example).
    SameAsWeights,
    /// As int32, as the runtime stores them.
    #[default]
    Int32,
}

/// Size-accounting conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SizePolicy {
    /// Storage of biases.
    pub bias_bits: BiasBits,
}

/// Bits of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerBits {
    /// Weight bits (32 = float).
    pub weights: BitWidth,
    /// Bits of the activations the layer consumes (32 = float).
    pub activations: BitWidth,
}

/// Per-layer line of a [`ModelReport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerReport {
    /// Layer name.
    pub name: String,
    /// Role.
    pub role: LayerRole,
    /// Weight count.
    pub weights: u64,
    /// Bias count.
    pub biases: u64,
    /// Weight bits.
    pub weight_bits: u32,
    /// Activation bits.
    pub activation_bits: u32,
    /// Storage in bits.
    pub size_bits: u64,
    /// Multiply-accumulates per example.
    pub macs: u64,
    /// Bit operations per example: `MACs·b_w·b_a`.
    pub bops: u64,
}

/// The size and BOPs of a whole model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelReport {
    /// One line per layer.
    pub layers: Vec<LayerReport>,
    /// Total storage in bits.
    pub size_bits: u64,
    /// Total BOPs per example.
    pub bops: u64,
    /// Total MACs per example.
    pub macs: u64,
}

impl ModelReport {
    /// Storage in bytes, rounded up.
    pub fn size_bytes(&self) -> u64 {
        self.size_bits.div_ceil(8)
    }
}

/// Accounts every layer.
pub fn account_model<'a>(
    layers: impl IntoIterator<Item = (&'a str, LayerRole, &'a LayerOp, LayerBits)>,
    policy: SizePolicy,
) -> ModelReport {
    let mut out = ModelReport {
        layers: Vec::new(),
        size_bits: 0,
        bops: 0,
        macs: 0,
    };
    for (name, role, op, bits) in layers {
        let wb = bits.weights.get() as u64;
        let ab = bits.activations.get() as u64;
        let bias_bits = match policy.bias_bits {
            BiasBits::SameAsWeights => wb,
            BiasBits::Int32 => 32,
        };
        let size_bits = op.weights() * wb + op.biases() * bias_bits;
        let macs = op.macs();
        let line = LayerReport {
            name: name.to_string(),
            role,
            weights: op.weights(),
            biases: op.biases(),
            weight_bits: wb as u32,
            activation_bits: ab as u32,
            size_bits,
            macs,
            bops: macs * wb * ab,
        };
        out.size_bits += line.size_bits;
        out.bops += line.bops;
        out.macs += line.macs;
        out.layers.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bops_and_bias_policies() {
        let fc = LayerOp::Linear {
            in_features: 64,
            out_features: 10,
            bias: true,
        };
        let bits = LayerBits {
            weights: BitWidth::new(4).unwrap(),
            activations: BitWidth::new(2).unwrap(),
        };
        let r = account_model(
            [("fc", LayerRole::Last, &fc, bits)],
            SizePolicy {
                bias_bits: BiasBits::SameAsWeights,
            },
        );
        assert_eq!(r.size_bits, 650 * 4);
        assert_eq!(r.bops, 640 * 8);
        let r = account_model([("fc", LayerRole::Last, &fc, bits)], SizePolicy::default());
        assert_eq!(r.size_bits, 640 * 4 + 10 * 32);
        assert_eq!(r.size_bytes(), (640 * 4 + 320) / 8);
    }
}
