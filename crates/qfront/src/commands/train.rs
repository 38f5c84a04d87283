//! `qfront train`: quantization-aware training of one model on one dataset.

use crate::output::Format;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qfront_quant::quantizers::pact::PactGradient;
use qfront_train::burn::tensor::Device;
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::data::{DataOptions, Dataset, DatasetName};
use qfront_train::models::{model_cost, Model};
use qfront_train::quantize::WeightQuantizer;
use qfront_train::spec::{ModelFamily, ModelSpec, NluBlock, Pooling, QuantSpec};
use qfront_train::training::{
    accuracy, fit, load_checkpoint, save_checkpoint, LrSchedule, OptimizerKind, TrainConfig,
};
use std::io::IsTerminal;
use std::path::PathBuf;

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

/// Optimizers on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerName {
    /// Adam.
    Adam,
    /// SGD with momentum.
    Sgd,
}

/// Schedules on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleName {
    /// Cosine annealing to 0.
    Cosine,
    /// Step decay (`--step-every`, `--step-gamma`).
    Step,
    /// Constant.
    Constant,
}

/// Options of `qfront train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset: digits, snips (built in), mnist, fashion-mnist, hwu64, clinc150, banking77 (need --data-dir).
    #[arg(long, default_value = "digits")]
    dataset: String,
    /// Directory holding the datasets that do not ship with qfront (one folder per dataset).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Model family (default: mlp for images, nlu for text).
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    /// Weight bits of the middle layers: 2..=8, or 32 for full precision.
    #[arg(long, default_value_t = 4)]
    wbits: u32,
    /// Activation bits (PACT): 2..=8, or 32 for full precision.
    #[arg(long, default_value_t = 4)]
    abits: u32,
    /// Weight bits of the first layer (default 8; 32 when --wbits 32).
    #[arg(long)]
    first_bits: Option<u32>,
    /// Weight bits of the last layer (default 8; 32 when --wbits 32).
    #[arg(long)]
    last_bits: Option<u32>,
    /// Weight quantizer: sawb, sawb-zero, sawb-channel, dorefa, min-max, min-max-asym, lsq.
    #[arg(long, default_value = "sawb")]
    weight_quantizer: String,
    /// Use the PACT+ gradient instead of the paper's.
    #[arg(long)]
    pact_plus: bool,
    /// Initial PACT clip α (the paper uses 10 for 200-epoch runs; 4 suits our short schedules).
    #[arg(long, default_value_t = 4.0)]
    alpha_init: f64,
    /// Width multiplier on every hidden size.
    #[arg(long, default_value_t = 1.0)]
    width: f64,
    /// Hidden sizes: MLP widths (comma list), LeNet "c1,c2,fc", ResNet "s1,s2,s3", NLU "embedding,hidden".
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// NLU: number of blocks.
    #[arg(long, default_value_t = 1)]
    blocks: usize,
    /// NLU: block type (conv or mlp).
    #[arg(long, default_value = "conv")]
    nlu_block: String,
    /// NLU: hash buckets.
    #[arg(long, default_value_t = 4096)]
    buckets: usize,
    /// NLU: words kept per utterance.
    #[arg(long, default_value_t = 32)]
    max_tokens: usize,
    /// Dropout before the classifier.
    #[arg(long, default_value_t = 0.0)]
    dropout: f64,
    /// Epochs (default depends on the dataset).
    #[arg(long)]
    epochs: Option<usize>,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Learning rate (default 3e-3 for Adam, 0.05 for SGD).
    #[arg(long)]
    lr: Option<f64>,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerName::Adam)]
    optimizer: OptimizerName,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Weight decay (also the PACT α decay).
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = ScheduleName::Cosine)]
    schedule: ScheduleName,
    /// Step schedule period in epochs.
    #[arg(long, default_value_t = 10)]
    step_every: usize,
    /// Step schedule factor.
    #[arg(long, default_value_t = 0.1)]
    step_gamma: f64,
    /// Seed of initialisation, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fine-tune from a checkpoint directory (e.g. a float model saved with --save).
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// Keep the checkpoint (model.bpk, spec.json, train.json) in this directory.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Output format of the result record on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn default_epochs(d: DatasetName) -> usize {
    match d {
        DatasetName::Digits => 30,
        DatasetName::Snips => 8,
        DatasetName::Mnist | DatasetName::FashionMnist => 10,
        _ => 15,
    }
}

fn build_spec(args: &TrainArgs, data: &Dataset, model: ModelName) -> Result<ModelSpec> {
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
    let spec = ModelSpec {
        family,
        width_multiplier: args.width,
        input: data.input.clone(),
        classes: data.classes.len(),
        quant: QuantSpec {
            weight_bits: args.wbits,
            activation_bits: args.abits,
            first_layer_bits: args.first_bits.unwrap_or(if full { 32 } else { 8 }),
            last_layer_bits: args.last_bits.unwrap_or(if full { 32 } else { 8 }),
            weight_quantizer,
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

/// Runs `qfront train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let dataset = DatasetName::parse(&args.dataset)?;
    let model_name = args.model.unwrap_or(if dataset.is_text() {
        ModelName::Nlu
    } else {
        ModelName::Mlp
    });
    if dataset.is_text() != (model_name == ModelName::Nlu) {
        bail!("--model {model_name:?} cannot read dataset '{}': use --model nlu for text and mlp, lenet or resnet20 for images", dataset.name());
    }
    let options = DataOptions {
        data_dir: args.data_dir.clone(),
        tokenizer: HashingTokenizer {
            buckets: args.buckets,
            max_tokens: args.max_tokens,
        },
    };
    if args.buckets == 0 || args.max_tokens == 0 {
        bail!("--buckets and --max-tokens must be positive");
    }
    let data = Dataset::load(dataset, &options)?;
    tracing::info!(
        dataset = dataset.name(),
        train = data.train.len(),
        val = data.val.len(),
        test = data.test.len(),
        classes = data.classes.len(),
        "loaded data"
    );
    let device = Device::flex().autodiff();
    let (spec, model) = match &args.init_from {
        Some(dir) => {
            let (model, base) = load_checkpoint(dir, &device)?;
            // Fine-tune: same architecture, this run's precision.
            let spec = build_spec(&args, &data, model_name)?;
            if spec.family != base.family
                || spec.input != base.input
                || spec.width_multiplier != base.width_multiplier
            {
                bail!("--init-from {}: the checkpoint's architecture differs from this run's; pass the same --model/--hidden/--width", dir.display());
            }
            let fresh = Model::build(&spec, args.seed, &device)?;
            let record = qfront_train::burn::module::Module::into_record(model);
            let model = qfront_train::burn::module::Module::try_load_record(fresh, record)
                .map_err(|e| {
                    anyhow::anyhow!("--init-from {}: cannot load weights: {e:?}", dir.display())
                })?;
            (spec, model)
        }
        None => {
            let spec = build_spec(&args, &data, model_name)?;
            let model = Model::build(&spec, args.seed, &device)?;
            (spec, model)
        }
    };
    let optimizer = match args.optimizer {
        OptimizerName::Adam => OptimizerKind::Adam,
        OptimizerName::Sgd => OptimizerKind::Sgd {
            momentum: args.momentum,
        },
    };
    let config = TrainConfig {
        optimizer,
        learning_rate: args.lr.unwrap_or(if args.optimizer == OptimizerName::Sgd {
            0.05
        } else {
            3e-3
        }),
        weight_decay: args.weight_decay,
        schedule: match args.schedule {
            ScheduleName::Cosine => LrSchedule::Cosine,
            ScheduleName::Constant => LrSchedule::Constant,
            ScheduleName::Step => LrSchedule::Step {
                every: args.step_every,
                gamma: args.step_gamma,
            },
        },
        epochs: args.epochs.unwrap_or_else(|| default_epochs(dataset)),
        batch_size: args.batch_size,
        seed: args.seed,
    };
    config.validate()?;
    let cost = model_cost(&spec);
    tracing::info!(model = ?model_name, wbits = args.wbits, abits = args.abits, size_bytes = cost.size_bytes(), mbops = cost.bops as f64 / 1e6, epochs = config.epochs, "training");
    let bar = ProgressBar::new(1);
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps {elapsed_precise} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let (model, report) = fit(
        model,
        &data,
        &config,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
        |e| {
            bar.suspend(|| {
                tracing::info!(
                    "epoch {:>3}  loss {:.4}  train acc {:.4}  val acc {:.4}  lr {:.2e}  {:.1}s",
                    e.epoch,
                    e.train_loss,
                    e.train_accuracy,
                    e.val_accuracy,
                    e.learning_rate,
                    e.seconds
                )
            })
        },
    )?;
    bar.finish_and_clear();
    let val_accuracy = report.epochs.last().map(|e| e.val_accuracy).unwrap_or(0.0);
    let test_accuracy = accuracy(&model, &data.test, 256);
    let record = serde_json::json!({
        "dataset": dataset.name(),
        "model": format!("{model_name:?}").to_lowercase(),
        "wbits": args.wbits,
        "abits": args.abits,
        "first_layer_bits": spec.quant.first_layer_bits,
        "last_layer_bits": spec.quant.last_layer_bits,
        "weight_quantizer": args.weight_quantizer,
        "width_multiplier": args.width,
        "val_accuracy": val_accuracy,
        "test_accuracy": test_accuracy,
        "size_bytes": cost.size_bytes(),
        "bops": cost.bops,
        "macs": cost.macs,
        "train_seconds": report.train_seconds,
        "epochs": config.epochs,
        "seed": args.seed,
    });
    if let Some(dir) = &args.save {
        save_checkpoint(
            &model,
            &spec,
            &serde_json::json!({"config": config, "report": report, "result": record}),
            dir,
        )?;
        tracing::info!(dir = %dir.display(), "checkpoint saved");
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&record)?),
        Format::Table => {
            println!("{:<16} {}", "dataset", dataset.name());
            println!(
                "{:<16} {:?} W{}A{} ({})",
                "model", model_name, args.wbits, args.abits, args.weight_quantizer
            );
            println!("{:<16} {:.4}", "val accuracy", val_accuracy);
            println!("{:<16} {:.4}", "test accuracy", test_accuracy);
            println!("{:<16} {}", "size bytes", cost.size_bytes());
            println!("{:<16} {:.1}", "train seconds", report.train_seconds);
        }
    }
    Ok(())
}
