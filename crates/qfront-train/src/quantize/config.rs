//! Which quantizer a layer uses and at how many bits.

use qfront_quant::quantizers::minmax::MinMaxMode;
use qfront_quant::quantizers::sawb::{SawbGradient, SawbGrid, ScaleGranularity};
use qfront_quant::BitWidth;

/// The weight quantizer of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum WeightQuantizer {
    /// SAWB (methods-spec §2), the default.
    Sawb {
        /// Grid.
        #[serde(default)]
        grid: SawbGrid,
        /// Per tensor or per output channel.
        #[serde(default)]
        granularity: ScaleGranularity,
        /// STE rule.
        #[serde(default)]
        gradient: SawbGradient,
    },
    /// DoReFa weights (methods-spec §1.4).
    Dorefa,
    /// Min-max uniform.
    MinMax {
        /// Symmetric or asymmetric.
        #[serde(default)]
        mode: MinMaxMode,
    },
    /// LSQ with a learned step per layer.
    Lsq,
}

impl Default for WeightQuantizer {
    fn default() -> Self {
        WeightQuantizer::Sawb {
            grid: SawbGrid::NoZero,
            granularity: ScaleGranularity::PerTensor,
            gradient: SawbGradient::Clipped,
        }
    }
}

impl WeightQuantizer {
    /// Parses the CLI names `sawb`, `sawb-zero`, `sawb-channel`, `dorefa`, `min-max`,
    /// `min-max-asym`, `lsq`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sawb" => Self::default(),
            "sawb-zero" => WeightQuantizer::Sawb {
                grid: SawbGrid::ZeroAligned,
                granularity: ScaleGranularity::PerTensor,
                gradient: SawbGradient::Clipped,
            },
            "sawb-channel" => WeightQuantizer::Sawb {
                grid: SawbGrid::ZeroAligned,
                granularity: ScaleGranularity::PerOutputChannel,
                gradient: SawbGradient::Clipped,
            },
            "dorefa" => WeightQuantizer::Dorefa,
            "min-max" => WeightQuantizer::MinMax {
                mode: MinMaxMode::Symmetric,
            },
            "min-max-asym" => WeightQuantizer::MinMax {
                mode: MinMaxMode::Asymmetric,
            },
            "lsq" => WeightQuantizer::Lsq,
            _ => return None,
        })
    }

    /// The accepted CLI names.
    pub const NAMES: [&'static str; 7] = [
        "sawb",
        "sawb-zero",
        "sawb-channel",
        "dorefa",
        "min-max",
        "min-max-asym",
        "lsq",
    ];
}

/// The resolved precision of one layer: its weight bits and the bits of the activation that
/// follows it (32 = full precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerPrecision {
    /// Weight bits.
    pub weight_bits: BitWidth,
    /// Bits of the PACT activation after the layer.
    pub activation_bits: BitWidth,
    /// The layer's weight quantizer (the edge quantizer for the first and last layers).
    pub weight_quantizer: WeightQuantizer,
}
