//! Writing models: [`ModelBuilder`] takes what training knows — integer weight codes with
//! their steps, each layer's real per-channel gain and bias (BatchNorm folded), and the
//! activation grids — and derives the integer parameters the executor runs: i32 biases in
//! accumulator units with the zero-point corrections folded in, and fixed-point
//! requantization multipliers.
//!
//! For a layer reading activations `x = s_x·(u − z_x)` with weights `w = step_o·(c − z₂/2)`,
//! the real output is `y_o = gain_o·Σ_k w_ok·x_k + bias_o = eff_o·(D_o + bias_o/eff_o)` with
//! `eff_o = gain_o·step_o·s_x/2` and `D_o = Σ_k (2c − z₂)(u − z_x)`. The runtime computes
//! `2·Σc·u − z₂·Σu + B_o`, so `B_o = bias_o/eff_o − 2·z_x·Σ_k c_ok + K·z₂·z_x`, stored as an
//! i32 with as many fractional bits as fit (a 2-bit layer's accumulator step is coarse; a bias
//! rounded to whole steps would shift its outputs by up to half a step), and it requantizes with
//! `M_o = eff_o/s_out` (plus `s_res/s_out` for a residual input).

use super::graph::{
    ActivationSpec, BlobRange, InputSpec, LayerParams, Node, Op, OutputStage, QfmModel,
    TokenPooling, WeightSpec,
};
use super::validate::{validate_prefix, ValueType};
use super::QfmFile;
use crate::fixed_point::fixed_point_pair;
use crate::{Result, RtError};
use qfront_quant::packing::pack_codes;
use qfront_quant::BitWidth;

/// Integer weight codes with their grid: `w = scale_o·(c − zero_point_x2_o/2)`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedWeights {
    /// Row-major codes `[rows, columns]`, each within the signed range of `bits`.
    pub codes: Vec<i8>,
    /// Rows (outputs).
    pub rows: usize,
    /// Columns (inputs per output).
    pub columns: usize,
    /// Bits, 2..=8.
    pub bits: u32,
    /// Step per row, or one.
    pub scale: Vec<f32>,
    /// Doubled zero point per row, or one.
    pub zero_point_x2: Vec<i32>,
}

/// The real affine map after the weighted sum: `y_o = gain_o·(Σ w·x) + bias_o`.
#[derive(Debug, Clone, PartialEq)]
pub struct RealAffine {
    /// Per-output gain (BatchNorm `γ/√(σ²+ε)`; 1 without BatchNorm).
    pub gain: Vec<f64>,
    /// Per-output bias (BatchNorm `β − γμ/√(σ²+ε)`, or the layer bias).
    pub bias: Vec<f64>,
}

impl RealAffine {
    /// Gain 1 and the given bias.
    pub fn bias_only(bias: Vec<f64>) -> Self {
        Self {
            gain: vec![1.0; bias.len()],
            bias,
        }
    }
}

/// What a weighted layer emits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerOutput {
    /// A u8 activation on this grid (PACT: `scale = α/(2^bits − 1)`, zero point 0).
    Activation(ActivationSpec),
    /// Float logits.
    Logits,
}

/// Convolution geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Kernel `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride.
    pub stride: [usize; 2],
    /// Zero padding on each side.
    pub padding: [usize; 2],
    /// Groups.
    pub groups: usize,
}

/// Builds a `.qfm` model node by node; each call validates the graph so far.
#[derive(Debug)]
pub struct ModelBuilder {
    model: QfmModel,
    blob: Vec<u8>,
    values: Vec<ValueType>,
}

fn parameter(name: &'static str, reason: impl Into<String>) -> RtError {
    RtError::Parameter {
        name,
        reason: reason.into(),
    }
}

impl ModelBuilder {
    /// A model reading `input`; node 0 is the input.
    pub fn new(name: &str, producer: &str, input: InputSpec) -> Result<Self> {
        let mut builder = Self {
            model: QfmModel {
                name: name.into(),
                producer: producer.into(),
                input,
                nodes: Vec::new(),
                labels: Vec::new(),
            },
            blob: Vec::new(),
            values: Vec::new(),
        };
        builder.push("input", vec![], Op::Input)?;
        Ok(builder)
    }

    /// Sets class names.
    pub fn labels(&mut self, labels: Vec<String>) {
        self.model.labels = labels;
    }

    /// The type of node `index`'s output.
    pub fn value(&self, index: usize) -> &ValueType {
        &self.values[index]
    }

    fn push(&mut self, name: &str, inputs: Vec<usize>, op: Op) -> Result<usize> {
        self.model.nodes.push(Node {
            name: name.into(),
            inputs,
            op,
        });
        match validate_prefix(&self.model, self.blob.len()) {
            Ok(values) => self.values = values,
            Err(e) => {
                self.model.nodes.pop();
                return Err(e);
            }
        }
        Ok(self.model.nodes.len() - 1)
    }

    fn pack(&mut self, w: &QuantizedWeights) -> Result<WeightSpec> {
        if w.codes.len() != w.rows * w.columns {
            return Err(parameter(
                "weights",
                format!("{} codes for {}×{}", w.codes.len(), w.rows, w.columns),
            ));
        }
        let bits = BitWidth::new(w.bits).map_err(|e| parameter("weight bits", e.to_string()))?;
        let packed =
            pack_codes(&w.codes, bits).map_err(|e| parameter("weight codes", e.to_string()))?;
        let offset = self.blob.len() as u64;
        self.blob.extend_from_slice(&packed);
        Ok(WeightSpec {
            bits: w.bits,
            rows: w.rows,
            columns: w.columns,
            data: BlobRange {
                offset,
                length: packed.len() as u64,
            },
            scale: w.scale.clone(),
            zero_point_x2: w.zero_point_x2.clone(),
        })
    }

    fn layer_params(
        &mut self,
        input: usize,
        residual: Option<usize>,
        w: &QuantizedWeights,
        real: &RealAffine,
        output: LayerOutput,
    ) -> Result<LayerParams> {
        let rows = w.rows;
        if real.gain.len() != rows || real.bias.len() != rows {
            return Err(parameter("gain/bias", format!("expected {rows} entries")));
        }
        let (s_x, z_x) = match &self.values[input] {
            ValueType::Quantized { activation, .. } => {
                (activation.scale as f64, activation.zero_point as i64)
            }
            ValueType::PooledSum { scale, .. } => (*scale as f64, 0),
            other => {
                return Err(parameter(
                    "input",
                    format!("a weighted layer cannot read {other:?}"),
                ))
            }
        };
        let per = |v: &[f32], o: usize| if v.len() == 1 { v[0] } else { v[o] };
        let per_i = |v: &[i32], o: usize| if v.len() == 1 { v[0] } else { v[o] };
        let mut bias: Vec<f64> = Vec::with_capacity(rows);
        let mut eff = Vec::with_capacity(rows);
        for o in 0..rows {
            let e = real.gain[o] * per(&w.scale, o) as f64 * s_x / 2.0;
            if e == 0.0 || !e.is_finite() {
                return Err(parameter(
                    "gain",
                    format!(
                        "output {o} has a zero or non-finite gain ({})",
                        real.gain[o]
                    ),
                ));
            }
            let code_sum: i64 = w.codes[o * w.columns..(o + 1) * w.columns]
                .iter()
                .map(|&c| c as i64)
                .sum();
            let z2 = per_i(&w.zero_point_x2, o) as i64;
            let b = real.bias[o] / e - (2 * z_x * code_sum) as f64
                + (w.columns as i64 * z2 * z_x) as f64;
            if !b.is_finite() || b.abs() >= (1u64 << 30) as f64 {
                return Err(parameter(
                    "bias",
                    format!(
                        "output {o}: bias {} is out of the i32 accumulator range",
                        real.bias[o]
                    ),
                ));
            }
            bias.push(b);
            eff.push(e);
        }
        // As many fractional bits as keep every bias inside i32.
        let largest = bias.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        let bias_fraction_bits = (30 - (largest + 1.0).log2().ceil() as i64).clamp(0, 24) as u32;
        let unit = (bias_fraction_bits as f64).exp2();
        let bias: Vec<i32> = bias.iter().map(|b| (b * unit).round() as i32).collect();
        let output = match output {
            LayerOutput::Logits => OutputStage::Logits {
                scale: eff.iter().map(|&e| e as f32).collect(),
            },
            LayerOutput::Activation(spec) => {
                let residual_scale = match residual.map(|r| &self.values[r]) {
                    None => None,
                    Some(ValueType::Quantized { activation, .. }) => Some(activation.scale as f64),
                    Some(other) => {
                        return Err(parameter("residual", format!("cannot add {other:?}")))
                    }
                };
                let s_out = spec.scale as f64;
                let mut multiplier = Vec::with_capacity(rows);
                let mut shift = Vec::with_capacity(rows);
                let mut residual_multiplier = Vec::with_capacity(rows);
                for &e in &eff {
                    let (m, r, s) =
                        fixed_point_pair(e / s_out, residual_scale.unwrap_or(0.0) / s_out)?;
                    multiplier.push(m);
                    shift.push(s);
                    residual_multiplier.push(r);
                }
                OutputStage::Requantize {
                    multiplier,
                    shift,
                    residual_multiplier: residual.map(|_| residual_multiplier),
                    output: spec,
                }
            }
        };
        Ok(LayerParams {
            weights: self.pack(w)?,
            bias,
            bias_fraction_bits,
            output,
        })
    }

    /// A fully connected layer.
    pub fn linear(
        &mut self,
        name: &str,
        input: usize,
        w: &QuantizedWeights,
        real: &RealAffine,
        output: LayerOutput,
    ) -> Result<usize> {
        let params = self.layer_params(input, None, w, real, output)?;
        self.push(name, vec![input], Op::Linear { params })
    }

    /// A convolution, optionally adding `residual` before requantization.
    #[allow(clippy::too_many_arguments)]
    pub fn conv2d(
        &mut self,
        name: &str,
        input: usize,
        residual: Option<usize>,
        geometry: ConvGeometry,
        w: &QuantizedWeights,
        real: &RealAffine,
        output: LayerOutput,
    ) -> Result<usize> {
        let params = self.layer_params(input, residual, w, real, output)?;
        let mut inputs = vec![input];
        inputs.extend(residual);
        self.push(
            name,
            inputs,
            Op::Conv2d {
                kernel: geometry.kernel,
                stride: geometry.stride,
                padding: geometry.padding,
                groups: geometry.groups,
                params,
            },
        )
    }

    /// Max pooling.
    pub fn max_pool(
        &mut self,
        name: &str,
        input: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Result<usize> {
        self.push(name, vec![input], Op::MaxPool2d { kernel, stride })
    }

    /// Average pooling.
    pub fn avg_pool(
        &mut self,
        name: &str,
        input: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Result<usize> {
        self.push(name, vec![input], Op::AvgPool2d { kernel, stride })
    }

    /// Global average pooling.
    pub fn global_avg_pool(&mut self, name: &str, input: usize) -> Result<usize> {
        self.push(name, vec![input], Op::GlobalAvgPool)
    }

    /// Channel padding with the zero point.
    pub fn pad_channels(&mut self, name: &str, input: usize, extra: usize) -> Result<usize> {
        self.push(name, vec![input], Op::PadChannels { extra })
    }

    /// Flatten `[h, w, c]`.
    pub fn flatten(&mut self, name: &str, input: usize) -> Result<usize> {
        self.push(name, vec![input], Op::Flatten)
    }

    /// Embedding lookup of the token input.
    pub fn embedding(&mut self, name: &str, input: usize, w: &QuantizedWeights) -> Result<usize> {
        let weights = self.pack(w)?;
        self.push(name, vec![input], Op::Embedding { weights })
    }

    /// Pooling over tokens.
    pub fn token_pool(&mut self, name: &str, input: usize, mode: TokenPooling) -> Result<usize> {
        self.push(name, vec![input], Op::TokenPool { mode })
    }

    /// The finished, validated model.
    pub fn finish(self) -> Result<QfmFile> {
        QfmFile::new(self.model, self.blob)
    }
}
