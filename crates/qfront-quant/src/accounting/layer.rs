//! Concrete layer shapes: parameter and multiply-accumulate counts.

/// Where a layer sits; first and last layers usually keep 8 bits (methods-spec §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerRole {
    /// The first layer (sees the raw input).
    First,
    /// Any layer between first and last.
    Middle,
    /// The classifier.
    Last,
}

/// A layer with concrete sizes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum LayerOp {
    /// 2-D convolution; `out_height × out_width` output positions.
    Conv2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel height and width.
        kernel: [usize; 2],
        /// Groups (`in_channels` for depthwise).
        groups: usize,
        /// Output spatial size.
        out_hw: [usize; 2],
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// 1-D convolution over a sequence of `out_len` positions.
    Conv1d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel width.
        kernel: usize,
        /// Output length.
        out_len: usize,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// Fully connected layer.
    Linear {
        /// Input features.
        in_features: usize,
        /// Output features.
        out_features: usize,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// Embedding table looked up `tokens` times per example (no multiplies).
    Embedding {
        /// Rows (vocabulary or hash buckets).
        rows: usize,
        /// Embedding dimension.
        dim: usize,
        /// Lookups per example.
        tokens: usize,
    },
}

impl LayerOp {
    /// Number of weights (excluding bias).
    pub fn weights(&self) -> u64 {
        match *self {
            LayerOp::Conv2d {
                in_channels,
                out_channels,
                kernel,
                groups,
                ..
            } => (kernel[0] * kernel[1] * (in_channels / groups.max(1)) * out_channels) as u64,
            LayerOp::Conv1d {
                in_channels,
                out_channels,
                kernel,
                ..
            } => (kernel * in_channels * out_channels) as u64,
            LayerOp::Linear {
                in_features,
                out_features,
                ..
            } => (in_features * out_features) as u64,
            LayerOp::Embedding { rows, dim, .. } => (rows * dim) as u64,
        }
    }

    /// Number of bias terms.
    pub fn biases(&self) -> u64 {
        match *self {
            LayerOp::Conv2d {
                out_channels, bias, ..
            }
            | LayerOp::Conv1d {
                out_channels, bias, ..
            } => {
                if bias {
                    out_channels as u64
                } else {
                    0
                }
            }
            LayerOp::Linear {
                out_features, bias, ..
            } => {
                if bias {
                    out_features as u64
                } else {
                    0
                }
            }
            LayerOp::Embedding { .. } => 0,
        }
    }

    /// Multiply-accumulates per example.
    pub fn macs(&self) -> u64 {
        match *self {
            LayerOp::Conv2d { out_hw, .. } => self.weights() * (out_hw[0] * out_hw[1]) as u64,
            LayerOp::Conv1d { out_len, .. } => self.weights() * out_len as u64,
            LayerOp::Linear { .. } => self.weights(),
            LayerOp::Embedding { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let conv = LayerOp::Conv2d {
            in_channels: 16,
            out_channels: 32,
            kernel: [3, 3],
            groups: 1,
            out_hw: [16, 16],
            bias: false,
        };
        assert_eq!(conv.weights(), 4608);
        assert_eq!(conv.macs(), 4608 * 256);
        let dw = LayerOp::Conv2d {
            in_channels: 32,
            out_channels: 32,
            kernel: [3, 3],
            groups: 32,
            out_hw: [8, 8],
            bias: true,
        };
        assert_eq!((dw.weights(), dw.biases()), (288, 32));
        let fc = LayerOp::Linear {
            in_features: 64,
            out_features: 10,
            bias: true,
        };
        assert_eq!((fc.weights(), fc.biases(), fc.macs()), (640, 10, 640));
        let emb = LayerOp::Embedding {
            rows: 1000,
            dim: 16,
            tokens: 20,
        };
        assert_eq!((emb.weights(), emb.macs()), (16000, 0));
    }
}
