//! Model building, PACT α clamping, checkpoint round trips and bad input.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use qfront_train::data::{DataOptions, Dataset, DatasetName};
use qfront_train::layers::clamp_pact_alphas;
use qfront_train::models::{model_cost, Model};
use qfront_train::spec::{ModelFamily, ModelSpec, QuantSpec};
use qfront_train::training::{
    accuracy, fit, load_checkpoint, predict, save_checkpoint, TrainConfig,
};
use qfront_train::TrainError;

fn mlp_spec(data: &Dataset) -> ModelSpec {
    ModelSpec {
        family: ModelFamily::Mlp { hidden: vec![128] },
        width_multiplier: 1.0,
        input: data.input.clone(),
        classes: data.classes.len(),
        quant: QuantSpec {
            pact_alpha_init: 4.0,
            ..QuantSpec::default()
        },
        dropout: 0.0,
    }
}

#[test]
fn digits_split_is_fixed_and_complete() {
    let data = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    assert_eq!(
        (data.train.len(), data.val.len(), data.test.len()),
        (1257, 180, 360)
    );
    let again = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    assert_eq!(data.test.labels, again.test.labels);
}

#[test]
fn snips_has_seven_intents_and_the_documented_split() {
    let data = Dataset::load(DatasetName::Snips, &DataOptions::default()).unwrap();
    assert_eq!(data.classes.len(), 7);
    assert_eq!(data.val.len(), 700);
    assert_eq!(data.test.len(), 700);
    assert_eq!(data.train.len(), 13_784 - 700);
}

#[test]
fn external_datasets_need_a_data_dir() {
    let err = Dataset::load(DatasetName::FashionMnist, &DataOptions::default()).unwrap_err();
    assert!(matches!(err, TrainError::MissingData { .. }));
    assert!(err.to_string().contains("--data-dir"), "{err}");
}

#[test]
fn truncated_idx_file_is_reported() {
    let dir = std::env::temp_dir().join(format!("qfront-idx-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("mnist")).unwrap();
    let mut header = vec![0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28];
    header.extend(vec![0u8; 100]);
    std::fs::write(dir.join("mnist/train-images-idx3-ubyte"), header).unwrap();
    let err = Dataset::load(
        DatasetName::Mnist,
        &DataOptions {
            data_dir: Some(dir.clone()),
            ..DataOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_specs_are_rejected_with_the_setting_named() {
    let data = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    for (bits, name) in [(0, "wbits"), (33, "wbits"), (1, "wbits")] {
        let mut spec = mlp_spec(&data);
        spec.quant.weight_bits = bits;
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains(&bits.to_string()),
            "{err}"
        );
    }
    let mut spec = mlp_spec(&data);
    spec.width_multiplier = f64::NAN;
    assert!(spec.validate().unwrap_err().to_string().contains("width"));
    let mut spec = mlp_spec(&data);
    spec.family = ModelFamily::Nlu {
        buckets: 10,
        embedding_dim: 4,
        block: qfront_train::spec::NluBlock::Conv,
        blocks: 1,
        hidden: 4,
        kernel: 3,
        pooling: qfront_train::spec::Pooling::Max,
    };
    assert!(spec.validate().unwrap_err().to_string().contains("text"));
}

#[test]
fn alpha_clamp_visits_every_pact_and_keeps_ids() {
    let data = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    let device = Device::flex().autodiff();
    let mut model = Model::build(&mlp_spec(&data), 1, &device).unwrap();
    if let Model::Mlp(m) = &mut model {
        let id = m.activations[0].alpha.id;
        m.activations[0].alpha =
            Param::initialized(id, Tensor::from_floats([-3.0f32], &device).require_grad());
    }
    let (model, visited) = clamp_pact_alphas(model);
    assert_eq!(visited, 1);
    let Model::Mlp(m) = &model else {
        unreachable!()
    };
    assert!((m.activations[0].alpha_value() - 1e-3).abs() < 1e-7);
    assert!(m.activations[0].alpha.val().is_require_grad());
}

#[test]
fn a_negative_lsq_step_is_clamped_positive() {
    let data = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    let device = Device::flex().autodiff();
    let mut spec = mlp_spec(&data);
    spec.quant.weight_quantizer = qfront_train::quantize::WeightQuantizer::Lsq;
    spec.family = ModelFamily::Mlp {
        hidden: vec![16, 16],
    };
    let mut model = Model::build(&spec, 1, &device).unwrap();
    if let Model::Mlp(m) = &mut model {
        let step = m.layers[1]
            .weight
            .lsq_step
            .as_mut()
            .expect("LSQ layers carry a step");
        let id = step.id;
        *step = Param::initialized(id, Tensor::from_floats([-0.5f32], &device).require_grad());
    }
    let (model, _) = clamp_pact_alphas(model);
    let Model::Mlp(m) = &model else {
        unreachable!()
    };
    let step = m.layers[1]
        .weight
        .lsq_step
        .as_ref()
        .unwrap()
        .val()
        .into_scalar::<f32>();
    assert!(
        (step as f64 - qfront_train::layers::LSQ_STEP_EPSILON).abs() < 1e-9,
        "{step}"
    );
}

#[test]
fn training_is_deterministic_learns_and_checkpoints_round_trip() {
    let data = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    let spec = mlp_spec(&data);
    let config = TrainConfig {
        epochs: 12,
        learning_rate: 3e-3,
        seed: 7,
        ..TrainConfig::default()
    };
    let run = || {
        let model = Model::build(&spec, config.seed, &Device::flex().autodiff()).unwrap();
        fit(model, &data, &config, |_, _| {}, |_| {}).unwrap()
    };
    let (model, report) = run();
    let (_, again) = run();
    assert_eq!(
        report.epochs.last().unwrap().train_loss,
        again.epochs.last().unwrap().train_loss,
        "seeded runs are deterministic"
    );
    let acc = accuracy(&model, &data.test, 128);
    assert!(acc > 0.9, "12 epochs of W4A4 on digits reach {acc}");

    let dir = std::env::temp_dir().join(format!("qfront-ckpt-{}", std::process::id()));
    save_checkpoint(&model, &spec, &serde_json::json!({}), &dir).unwrap();
    let (loaded, loaded_spec) = load_checkpoint(&dir, &Device::flex().autodiff()).unwrap();
    assert_eq!(loaded_spec, spec);
    assert_eq!(
        predict(&model, &data.test, 64),
        predict(&loaded, &data.test, 64)
    );

    // A truncated weights file is an error, not a panic.
    let weights = dir.join("model.bpk");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        load_checkpoint(&dir, &Device::flex()),
        Err(TrainError::Checkpoint { .. })
    ));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_family_builds_runs_and_is_accounted() {
    let digits = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    let device = Device::flex();
    for family in [
        ModelFamily::Lenet {
            channels: [4, 8],
            hidden: 16,
            kernel: 3,
        },
        ModelFamily::Resnet {
            stage_channels: [4, 8, 16],
            blocks_per_stage: 1,
        },
    ] {
        let spec = ModelSpec {
            family,
            ..mlp_spec(&digits)
        };
        let model = Model::build(&spec, 0, &device).unwrap();
        let (input, _) = qfront_train::training::batch_input(&digits.test, &[0, 1, 2], &device);
        assert_eq!(model.forward(input).dims(), [3, 10]);
        let cost = model_cost(&spec);
        assert!(cost.size_bits > 0 && cost.bops > 0);
        assert!(model.num_params() > 0);
    }
    // The width multiplier shrinks the model.
    let base = ModelSpec {
        family: ModelFamily::Resnet {
            stage_channels: [16, 32, 64],
            blocks_per_stage: 3,
        },
        ..mlp_spec(&digits)
    };
    let half = ModelSpec {
        width_multiplier: 0.5,
        ..base.clone()
    };
    assert!(model_cost(&half).size_bits < model_cost(&base).size_bits / 2);
}

#[test]
fn edge_layers_use_the_edge_quantizer_and_overrides_apply() {
    use qfront_quant::BitWidth;
    use qfront_train::quantize::WeightQuantizer;
    use qfront_train::spec::{LayerBitsOverride, Position};
    let digits = Dataset::load(DatasetName::Digits, &DataOptions::default()).unwrap();
    let mut spec = mlp_spec(&digits);
    spec.quant.per_layer.insert(
        "hidden1".into(),
        LayerBitsOverride {
            weight_bits: Some(2),
            activation_bits: Some(6),
        },
    );
    let first = spec.precision("hidden0", Position::First);
    let middle = spec.precision("hidden1", Position::Middle);
    let last = spec.precision("classifier", Position::Last);
    assert_eq!(first.weight_bits, BitWidth::new(8).unwrap());
    assert_eq!(last.weight_bits, BitWidth::new(8).unwrap());
    assert_eq!(middle.weight_bits, BitWidth::new(2).unwrap());
    assert_eq!(middle.activation_bits, BitWidth::new(6).unwrap());
    assert_eq!(middle.weight_quantizer, WeightQuantizer::default());
    assert_eq!(
        first.weight_quantizer,
        qfront_train::spec::edge_weight_quantizer_default()
    );
    assert_eq!(last.weight_quantizer, first.weight_quantizer);
    assert_ne!(first.weight_quantizer, middle.weight_quantizer);
    // A spec saved before the edge quantizer existed still loads, with the default.
    let mut json = serde_json::to_value(&spec).unwrap();
    json["quant"]
        .as_object_mut()
        .unwrap()
        .remove("edge_weight_quantizer");
    let old: ModelSpec = serde_json::from_value(json).unwrap();
    assert_eq!(old, spec);
}
