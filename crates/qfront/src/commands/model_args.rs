//! The model options shared by `qfront train` and `qfront bench train-step`: family, sizes and
//! precision, turned into a validated [`ModelSpec`].

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use qfront_quant::quantizers::pact::PactGradient;
use qfront_train::quantize::WeightQuantizer;
use qfront_train::spec::{InputShape, ModelFamily, ModelSpec, NluBlock, Pooling, QuantSpec};

/// Model families on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// Multi-layer perceptron (images).
    Mlp,
    /// LeNet-style CNN (images).
    Lenet,
    /// ResNet-20-style CNN with a width multiplier (images).
    Resnet20,
    /// On-device NLU intent model (text).
    Nlu,
}

impl ModelName {
    /// The name as typed on the command line.
    pub fn cli_name(self) -> &'static str {
        match self {
            ModelName::Mlp => "mlp",
            ModelName::Lenet => "lenet",
            ModelName::Resnet20 => "resnet20",
            ModelName::Nlu => "nlu",
        }
    }
}

/// Model options of `qfront train` and `qfront bench train-step`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model family (default: mlp for images, nlu for text).
    #[arg(long, value_enum)]
    pub model: Option<ModelName>,
    /// Weight bits of the middle layers: 2..=8, or 32 for full precision.
    #[arg(long, default_value_t = 4)]
    pub wbits: u32,
    /// Activation bits (PACT): 2..=8, or 32 for full precision.
    #[arg(long, default_value_t = 4)]
    pub abits: u32,
    /// Weight bits of the first layer (default 8; 32 when --wbits 32).
    #[arg(long)]
    pub first_bits: Option<u32>,
    /// Weight bits of the last layer (default 8; 32 when --wbits 32).
    #[arg(long)]
    pub last_bits: Option<u32>,
    /// Weight quantizer: sawb, sawb-zero, sawb-channel, dorefa, min-max, min-max-asym, lsq.
    #[arg(long, default_value = "sawb")]
    pub weight_quantizer: String,
    /// Weight quantizer of the first and last layers (same names; min-max = scale max|w|,
    /// because SAWB's fit undershoots the best clip at 8 bits).
    #[arg(long, default_value = "min-max")]
    pub edge_weight_quantizer: String,
    /// Use the PACT+ gradient instead of the paper's.
    #[arg(long)]
    pub pact_plus: bool,
    /// Initial PACT clip α (the paper uses 10 for 200-epoch runs; 4 suits our short schedules).
    #[arg(long, default_value_t = 4.0)]
    pub alpha_init: f64,
    /// Width multiplier on every hidden size.
    #[arg(long, default_value_t = 1.0)]
    pub width: f64,
    /// Hidden sizes: MLP widths (comma list), LeNet "c1,c2,fc", ResNet "s1,s2,s3", NLU "embedding,hidden".
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// NLU: number of blocks.
    #[arg(long, default_value_t = 1)]
    pub blocks: usize,
    /// NLU: block type (conv or mlp).
    #[arg(long, default_value = "conv")]
    pub nlu_block: String,
    /// NLU: hash buckets.
    #[arg(long, default_value_t = 4096)]
    pub buckets: usize,
    /// NLU: words kept per utterance.
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    /// Dropout before the classifier.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
}

impl ModelArgs {
    /// The model family these options name, given whether the data is text.
    pub fn model_name(&self, text: bool) -> Result<ModelName> {
        let name = self
            .model
            .unwrap_or(if text { ModelName::Nlu } else { ModelName::Mlp });
        if text != (name == ModelName::Nlu) {
            bail!(
                "--model {} cannot read {} data: use --model nlu for text and mlp, lenet or resnet20 for images",
                name.cli_name(),
                if text { "text" } else { "image" }
            );
        }
        Ok(name)
    }

    /// The validated spec of model `model` on inputs of shape `input` with `classes` classes.
    pub fn build_spec(
        &self,
        model: ModelName,
        input: InputShape,
        classes: usize,
    ) -> Result<ModelSpec> {
        let args = self;
        let hidden = args.hidden.clone();
        let pick = |defaults: Vec<usize>, n: usize, what: &str| -> Result<Vec<usize>> {
            let v = hidden.clone().unwrap_or(defaults);
            if v.len() != n {
                bail!(
                    "--hidden for {what} takes {n} comma-separated sizes, got {}",
                    v.len()
                );
            }
            Ok(v)
        };
        let family = match model {
            ModelName::Mlp => ModelFamily::Mlp {
                hidden: hidden.clone().unwrap_or(vec![256, 128]),
            },
            ModelName::Lenet => {
                let v = pick(vec![16, 32, 128], 3, "lenet (c1,c2,fc)")?;
                ModelFamily::Lenet {
                    channels: [v[0], v[1]],
                    hidden: v[2],
                    kernel: 5,
                }
            }
            ModelName::Resnet20 => {
                let v = pick(vec![16, 32, 64], 3, "resnet20 (s1,s2,s3)")?;
                ModelFamily::Resnet {
                    stage_channels: [v[0], v[1], v[2]],
                    blocks_per_stage: 3,
                }
            }
            ModelName::Nlu => {
                let v = pick(vec![64, 128], 2, "nlu (embedding,hidden)")?;
                let block = match args.nlu_block.as_str() {
                    "conv" => NluBlock::Conv,
                    "mlp" => NluBlock::Mlp,
                    other => bail!("--nlu-block '{other}' is not one of conv, mlp"),
                };
                ModelFamily::Nlu {
                    buckets: args.buckets,
                    embedding_dim: v[0],
                    block,
                    blocks: args.blocks,
                    hidden: v[1],
                    kernel: 3,
                    pooling: Pooling::Max,
                }
            }
        };
        let full = args.wbits == 32;
        let weight_quantizer =
            WeightQuantizer::from_name(&args.weight_quantizer).with_context(|| {
                format!(
                    "--weight-quantizer '{}' is not one of {}",
                    args.weight_quantizer,
                    WeightQuantizer::NAMES.join(", ")
                )
            })?;
        let edge_weight_quantizer = WeightQuantizer::from_name(&args.edge_weight_quantizer)
            .with_context(|| {
                format!(
                    "--edge-weight-quantizer '{}' is not one of {}",
                    args.edge_weight_quantizer,
                    WeightQuantizer::NAMES.join(", ")
                )
            })?;
        let spec = ModelSpec {
            family,
            width_multiplier: args.width,
            input,
            classes,
            quant: QuantSpec {
                weight_bits: args.wbits,
                activation_bits: args.abits,
                first_layer_bits: args.first_bits.unwrap_or(if full { 32 } else { 8 }),
                last_layer_bits: args.last_bits.unwrap_or(if full { 32 } else { 8 }),
                weight_quantizer,
                edge_weight_quantizer,
                pact_gradient: if args.pact_plus {
                    PactGradient::Plus
                } else {
                    PactGradient::Paper
                },
                pact_alpha_init: args.alpha_init,
                ..QuantSpec::default()
            },
            dropout: args.dropout,
        };
        spec.validate()?;
        Ok(spec)
    }
}
