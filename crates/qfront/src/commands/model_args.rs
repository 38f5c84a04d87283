//! The model options shared by `qfront train` and `qfront bench train-step`: family, sizes and
//! precision, turned into a validated [`ModelSpec`].

use anyhow::{bail, Context, Result};
use clap::Args;
use qfront_quant::quantizers::pact::PactGradient;
use qfront_train::data::token_encoder::TextEncoding;
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::models::ModelFile;
use qfront_train::quantize::WeightQuantizer;
use qfront_train::recipe::{FamilyName, Recipe};
use qfront_train::spec::{InputShape, ModelSpec, NluBlock};

/// The model on the command line: a built-in family, or a layer-list TOML or ONNX file
/// (read once, here).
#[derive(Debug, Clone, PartialEq)]
pub enum ModelName {
    /// A built-in family (`mlp`, `lenet`, `resnet20`, `nlu`).
    Family(FamilyName),
    /// A layer list read from `path` (`[model] layers = [...]`, or an imported ONNX model).
    Layers {
        /// The file.
        path: std::path::PathBuf,
        /// What it holds.
        file: ModelFile,
    },
}

impl ModelName {
    /// Parses `--model`: a family name, or the path of a `.toml` layer list or `.onnx` model
    /// (which is read).
    pub fn parse(text: &str) -> Result<Self> {
        let path = std::path::Path::new(text);
        if text.ends_with(".toml") || qfront_train::models::is_onnx(path) {
            return Ok(ModelName::Layers {
                path: path.to_path_buf(),
                file: qfront_train::models::read_model_file(path)?,
            });
        }
        match FamilyName::parse(text) {
            Ok(FamilyName::Layers) | Err(_) => bail!(
                "--model '{text}' is not mlp, lenet, resnet20, nlu, a layer-list .toml file or an .onnx model"
            ),
            Ok(family) => Ok(ModelName::Family(family)),
        }
    }

    /// The family it builds.
    pub fn family(&self) -> FamilyName {
        match self {
            ModelName::Family(family) => *family,
            ModelName::Layers { .. } => FamilyName::Layers,
        }
    }

    /// The name as typed on the command line.
    pub fn cli_name(&self) -> String {
        match self {
            ModelName::Family(family) => family.name().into(),
            ModelName::Layers { path, .. } => path.display().to_string(),
        }
    }
}

/// Model options of `qfront train` and `qfront bench train-step`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model: mlp, lenet, resnet20 (images), nlu (text), or a layer-list TOML file
    /// (`[model] layers = [...]`, images or text). Default: mlp for images, nlu for text.
    #[arg(long)]
    pub model: Option<String>,
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
    /// Text: words kept per utterance.
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    /// Text: the word vocabulary of a model file's embedding, one token per line (line k =
    /// row k; row 0 `<pad>`, one row `<unk>`), as the imported model was trained with.
    #[arg(long)]
    pub vocabulary: Option<std::path::PathBuf>,
    /// Dropout before the classifier.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
}

impl ModelArgs {
    /// How text is encoded for `model`: as its embedding says (hash buckets or a
    /// vocabulary), else hashed into `--buckets`, keeping `--max-tokens` words.
    pub fn text_encoding(&self, model: &ModelName) -> Result<TextEncoding> {
        if self.buckets == 0 || self.max_tokens == 0 {
            bail!("--buckets and --max-tokens must be positive");
        }
        let hashed = TextEncoding::Hashed(HashingTokenizer {
            buckets: self.buckets,
            max_tokens: self.max_tokens,
        });
        Ok(match model {
            ModelName::Layers { file, .. } => {
                qfront_train::models::text_encoding(&file.layers, self.max_tokens)?
                    .unwrap_or(hashed)
            }
            ModelName::Family(_) => hashed,
        })
    }

    /// The model family these options name, given whether the data is text.
    pub fn model_name(&self, text: bool) -> Result<ModelName> {
        let name = match &self.model {
            Some(m) => ModelName::parse(m)?,
            None if text => ModelName::Family(FamilyName::Nlu),
            None => ModelName::Family(FamilyName::Mlp),
        };
        if let ModelName::Layers { mut file, path } = name {
            if let Some(vocabulary) = &self.vocabulary {
                file.use_vocabulary(vocabulary)?;
            }
            return Ok(ModelName::Layers { path, file }); // text when it starts with an embedding
        }
        if self.vocabulary.is_some() {
            bail!("--vocabulary names the words of a model file's embedding (--model net.onnx or net.toml); the built-in nlu model hashes words (--buckets)");
        }
        // Checked before the data is loaded (the recipe checks again on the real input).
        if text != name.family().is_text() {
            bail!(
                "--model {} cannot read {} data: use --model nlu for text and mlp, lenet or resnet20 for images",
                name.cli_name(),
                if text { "text" } else { "image" }
            );
        }
        Ok(name)
    }

    /// The validated spec of model `model` on inputs of shape `input` with `classes` classes,
    /// built through the one recipe studies use too (`qfront_train::recipe`).
    pub fn build_spec(
        &self,
        model: &ModelName,
        input: InputShape,
        classes: usize,
    ) -> Result<ModelSpec> {
        let args = self;
        let mut recipe = Recipe::new(model.family());
        let pick = |n: usize, what: &str| -> Result<Option<Vec<usize>>> {
            match &args.hidden {
                Some(v) if v.len() != n => bail!(
                    "--hidden for {what} takes {n} comma-separated sizes, got {}",
                    v.len()
                ),
                other => Ok(other.clone()),
            }
        };
        match (model, recipe.family) {
            (ModelName::Layers { path, file }, _) => {
                if args.hidden.is_some() {
                    bail!(
                        "--hidden does not apply to a layer list; sizes are in {}",
                        path.display()
                    );
                }
                file.check_input(&input)?;
                recipe.layers = Some(file.layers.clone());
                recipe.pretrained = file.pretrained.clone();
            }
            (_, FamilyName::Layers) => unreachable!("a layer list comes with its file"),
            (_, FamilyName::Mlp) => recipe.mlp_hidden = args.hidden.clone(),
            (_, FamilyName::Lenet) => {
                if let Some(v) = pick(3, "lenet (c1,c2,fc)")? {
                    recipe.lenet_channels = [Some(v[0]), Some(v[1])];
                    recipe.hidden = Some(v[2]);
                }
            }
            (_, FamilyName::Resnet20) => {
                if let Some(v) = pick(3, "resnet20 (s1,s2,s3)")? {
                    recipe.stage_channels = [Some(v[0]), Some(v[1]), Some(v[2])];
                }
            }
            (_, FamilyName::Nlu) => {
                if let Some(v) = pick(2, "nlu (embedding,hidden)")? {
                    recipe.embedding_dim = Some(v[0]);
                    recipe.hidden = Some(v[1]);
                }
                recipe.block = Some(match args.nlu_block.as_str() {
                    "conv" => NluBlock::Conv,
                    "mlp" => NluBlock::Mlp,
                    other => bail!("--nlu-block '{other}' is not one of conv, mlp"),
                });
                recipe.blocks = Some(args.blocks);
                recipe.buckets = Some(args.buckets);
            }
        }
        let quantizer = |flag: &str, name: &str| -> Result<WeightQuantizer> {
            WeightQuantizer::from_name(name).with_context(|| {
                format!(
                    "{flag} '{name}' is not one of {}",
                    WeightQuantizer::NAMES.join(", ")
                )
            })
        };
        recipe.weight_quantizer = Some(quantizer("--weight-quantizer", &args.weight_quantizer)?);
        recipe.edge_weight_quantizer = Some(quantizer(
            "--edge-weight-quantizer",
            &args.edge_weight_quantizer,
        )?);
        recipe.weight_bits = Some(args.wbits);
        recipe.activation_bits = Some(args.abits);
        recipe.first_layer_bits = args.first_bits;
        recipe.last_layer_bits = args.last_bits;
        recipe.pact_gradient = Some(if args.pact_plus {
            PactGradient::Plus
        } else {
            PactGradient::Paper
        });
        recipe.alpha_init = Some(args.alpha_init);
        recipe.width = Some(args.width);
        recipe.dropout = Some(args.dropout);
        Ok(recipe.spec(input, classes)?)
    }
}
