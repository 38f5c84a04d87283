//! `qfront train`: quantization-aware training of one model on one dataset.

use super::data_args::DataArgs;
use super::model_args::ModelArgs;
use crate::output::Format;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qfront_train::burn::tensor::Device;
use qfront_train::data::{DataOptions, Dataset, DatasetName, DatasetSource};
use qfront_train::models::{model_cost, Model};
use qfront_train::training::{
    accuracy, fit, load_checkpoint, predict, save_checkpoint, LrSchedule, OptimizerKind,
    TrainConfig,
};
use std::io::IsTerminal;
use std::path::PathBuf;

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
    /// The data: a built-in dataset or your own files.
    #[command(flatten)]
    data: DataArgs,
    /// The model: family, sizes and precision.
    #[command(flatten)]
    model: ModelArgs,
    /// Epochs (default depends on the dataset); 0 evaluates (and with --qfm exports) the
    /// starting model untrained, e.g. an imported ONNX model.
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
    /// Also write the trained model as a packed `.qfm` file for the runtime, and report the
    /// runtime's test accuracy and its agreement with the fake-quantized model.
    #[arg(long)]
    qfm: Option<PathBuf>,
    /// Output format of the result record on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn default_epochs(source: &DatasetSource) -> usize {
    match source {
        DatasetSource::Builtin(DatasetName::Digits) => 30,
        DatasetSource::Builtin(DatasetName::Snips) => 8,
        DatasetSource::Builtin(DatasetName::Mnist | DatasetName::FashionMnist) => 10,
        DatasetSource::Builtin(_) => 15,
        DatasetSource::Files(_) => 10,
    }
}

/// Runs `qfront train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let source = args.data.source()?;
    let dataset = source.display_name();
    let model_name = args.model.model_name(source.is_text()?)?;
    let options = DataOptions {
        data_dir: args.data.data_dir.clone(),
        text: args.model.text_encoding(&model_name)?,
    };
    let data = Dataset::from_source(&source, &options)?;
    tracing::info!(
        dataset = %dataset,
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
            let spec =
                args.model
                    .build_spec(&model_name, data.input.clone(), data.classes.len())?;
            if spec.family != base.family
                || spec.input != base.input
                || spec.width_multiplier != base.width_multiplier
            {
                bail!("--init-from {}: the checkpoint's architecture differs from this run's; pass the same --model/--hidden/--width", dir.display());
            }
            // The checkpoint's weights replace the fresh ones: no pretrained import needed.
            let fresh = Model::build_untrained(&spec, args.seed, &device)?;
            let record = qfront_train::burn::module::Module::into_record(model);
            let model = qfront_train::burn::module::Module::try_load_record(fresh, record)
                .map_err(|e| {
                    anyhow::anyhow!("--init-from {}: cannot load weights: {e:?}", dir.display())
                })?;
            (spec, model)
        }
        None => {
            let spec =
                args.model
                    .build_spec(&model_name, data.input.clone(), data.classes.len())?;
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
        epochs: args.epochs.unwrap_or_else(|| default_epochs(&source)),
        batch_size: args.batch_size,
        seed: args.seed,
    };
    config.validate()?;
    if args.qfm.is_some() {
        // Refuse settings the runtime cannot run before spending the training time.
        qfront_train::export::check_exportable(&spec)?;
    }
    let cost = model_cost(&spec);
    tracing::info!(model = ?model_name, wbits = args.model.wbits, abits = args.model.abits, size_bytes = cost.size_bytes(), mbops = cost.bops as f64 / 1e6, epochs = config.epochs, "training");
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
    let val_accuracy = match report.epochs.last() {
        Some(e) => e.val_accuracy,
        None => accuracy(&model, &data.val, 256), // --epochs 0
    };
    let test_accuracy = (!data.test.is_empty()).then(|| accuracy(&model, &data.test, 256));
    let runtime = match &args.qfm {
        Some(path) => Some(export_and_check(&model, &spec, &data, path)?),
        None => None,
    };
    let mut record = serde_json::json!({
        "dataset": dataset,
        "classes": data.classes.len(),
        "train_examples": data.train.len(),
        "skipped_rows": data.skipped_rows,
        "model": model_name.cli_name(),
        "wbits": args.model.wbits,
        "abits": args.model.abits,
        "first_layer_bits": spec.quant.first_layer_bits,
        "last_layer_bits": spec.quant.last_layer_bits,
        "weight_quantizer": args.model.weight_quantizer,
        "edge_weight_quantizer": args.model.edge_weight_quantizer,
        "width_multiplier": args.model.width,
        "val_accuracy": val_accuracy,
        "test_accuracy": test_accuracy,
        "size_bytes": cost.size_bytes(),
        "bops": cost.bops,
        "macs": cost.macs,
        "train_seconds": report.train_seconds,
        "samples_per_second": (data.train.len() * config.epochs) as f64 / report.train_seconds.max(1e-9),
        "epochs": config.epochs,
        "seed": args.seed,
    });
    if let Some((runtime_accuracy, agreement)) = runtime {
        record["qfm"] = serde_json::json!(args.qfm);
        record["runtime_test_accuracy"] = serde_json::json!(runtime_accuracy);
        record["runtime_agreement"] = serde_json::json!(agreement);
    }
    if let Some(dir) = &args.save {
        save_checkpoint(
            &model,
            &spec,
            &serde_json::json!({"config": config, "report": report, "result": record, "data": data.info()}),
            dir,
        )?;
        tracing::info!(dir = %dir.display(), "checkpoint saved");
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&record)?),
        Format::Table => {
            println!("{:<16} {}", "dataset", dataset);
            println!(
                "{:<16} {:?} W{}A{} ({})",
                "model",
                model_name.cli_name(),
                args.model.wbits,
                args.model.abits,
                args.model.weight_quantizer
            );
            println!("{:<16} {:.4}", "val accuracy", val_accuracy);
            match test_accuracy {
                Some(a) => println!("{:<16} {:.4}", "test accuracy", a),
                None => println!("{:<16} -", "test accuracy"),
            }
            if let Some((runtime_accuracy, agreement)) = runtime {
                println!("{:<16} {:.4}", "runtime accuracy", runtime_accuracy);
                println!("{:<16} {:.4}", "runtime agrees", agreement);
            }
            println!("{:<16} {}", "size bytes", cost.size_bytes());
            println!("{:<16} {:.1}", "train seconds", report.train_seconds);
        }
    }
    Ok(())
}

/// Exports the trained model to `path` and runs the test split through the runtime; returns
/// the runtime's test accuracy and the fraction of predictions equal to the fake-quantized
/// model's.
fn export_and_check(
    model: &Model,
    spec: &qfront_train::spec::ModelSpec,
    data: &Dataset,
    path: &std::path::Path,
) -> Result<(f64, f64)> {
    // The test split, or validation when the user gave no test data.
    let split = if data.test.is_empty() {
        &data.val
    } else {
        &data.test
    };
    let fake = predict(model, split, 256);
    let options = qfront_train::export::ExportOptions::for_data(data, "qfront");
    let file = qfront_train::export::export_model(model, spec, options)?;
    super::export::write_model(&file, path)?;
    let mut session = qfront_rt::Session::new(&file, qfront_rt::KernelSet::detect());
    let runtime = qfront_train::export::runtime_predict(&mut session, split, 64)?;
    let n = split.len().max(1) as f64;
    let correct = runtime
        .iter()
        .zip(&split.labels)
        .filter(|(p, l)| p == l)
        .count() as f64;
    let agree = runtime.iter().zip(&fake).filter(|(a, b)| a == b).count() as f64;
    tracing::info!(
        runtime_accuracy = correct / n,
        agreement = agree / n,
        "runtime check"
    );
    Ok((correct / n, agree / n))
}
