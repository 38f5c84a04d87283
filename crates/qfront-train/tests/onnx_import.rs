//! ONNX import: float models exported from PyTorch (fixtures and reference logits written by
//! `bench/onnx/make_fixtures.py` with PyTorch 2.15.0 and ONNX Runtime 1.32.0) are imported
//! as layer lists whose float forward pass reproduces ONNX Runtime's logits (max abs.
//! difference ≤ 1e-4), and what cannot be imported is refused with the operator's name.

use burn::tensor::{Device, Tensor, TensorData};
use qfront_train::models::{
    import_onnx, read_model_file, LayerSpec, Model, ModelInput, PretrainedSource,
};
use qfront_train::spec::{InputShape, ModelFamily, ModelSpec, QuantSpec};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Reference {
    input_shape: [usize; 3],
    pixels: Vec<Vec<u8>>,
    logits: Vec<Vec<f32>>,
}

/// A float spec (32-bit weights and activations, PACT clips far above every activation, so
/// PACT is a plain ReLU) of the imported model.
fn float_spec(name: &str, input: [usize; 3], classes: usize) -> ModelSpec {
    let file = read_model_file(&fixture(&format!("{name}.onnx"))).unwrap();
    ModelSpec {
        family: ModelFamily::Layers {
            layers: file.layers,
            pretrained: file.pretrained,
        },
        width_multiplier: 1.0,
        input: InputShape::Image {
            channels: input[0],
            height: input[1],
            width: input[2],
        },
        classes,
        quant: QuantSpec {
            weight_bits: 32,
            activation_bits: 32,
            first_layer_bits: 32,
            last_layer_bits: 32,
            pact_alpha_init: 1e6,
            ..QuantSpec::default()
        },
        dropout: 0.0,
    }
}

/// The imported float model's logits on the reference inputs, and the largest difference
/// from ONNX Runtime's.
fn largest_difference(name: &str) -> f32 {
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap())
            .unwrap();
    let classes = reference.logits[0].len();
    let spec = float_spec(name, reference.input_shape, classes);
    let device = Device::flex();
    let model = Model::build(&spec, 0, &device).unwrap();
    let [c, h, w] = reference.input_shape;
    let n = reference.pixels.len();
    let values: Vec<f32> = reference
        .pixels
        .iter()
        .flatten()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(values, [n, c, h, w]), &device);
    let logits: Vec<f32> = model
        .forward(ModelInput::Image(x))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    largest_gap(name, &logits, &reference.logits)
}

/// The largest |Δ| between qfront's logits and ONNX Runtime's.
fn largest_gap(name: &str, logits: &[f32], expected: &[Vec<f32>]) -> f32 {
    let expected: Vec<f32> = expected.iter().flatten().copied().collect();
    assert_eq!(logits.len(), expected.len());
    let gap = logits
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    eprintln!("{name}: max |Δlogit| against ONNX Runtime = {gap:.2e}");
    gap
}

#[test]
fn imported_cnn_matches_onnx_runtime() {
    let gap = largest_difference("cnn");
    assert!(gap <= 1e-4, "cnn: max |Δlogit| = {gap}");
}

#[test]
fn imported_resnet_matches_onnx_runtime() {
    let gap = largest_difference("resnet");
    assert!(gap <= 1e-4, "resnet: max |Δlogit| = {gap}");
}

/// The TorchScript exporter at opset 13 keeps BatchNormalization nodes (folded into the
/// import's batch_norm layers), GlobalAveragePool and Flatten.
#[test]
fn imported_opset13_resnet_with_batch_norm_matches_onnx_runtime() {
    let gap = largest_difference("resnet_opset13");
    assert!(gap <= 1e-4, "resnet_opset13: max |Δlogit| = {gap}");
    let imported = import_onnx(&fixture("resnet_opset13.onnx")).unwrap();
    let norms = imported
        .layers
        .iter()
        .filter(|l| matches!(l, LayerSpec::BatchNorm))
        .count();
    assert_eq!(norms, 9);
    assert!(imported
        .layers
        .iter()
        .any(|l| matches!(l, LayerSpec::GlobalAvgPool)));
}

#[test]
fn imported_mlp_matches_onnx_runtime() {
    let gap = largest_difference("mlp");
    assert!(gap <= 1e-4, "mlp: max |Δlogit| = {gap}");
}

#[test]
fn imported_depthwise_cnn_matches_onnx_runtime() {
    let gap = largest_difference("depthwise");
    assert!(gap <= 1e-4, "depthwise: max |Δlogit| = {gap}");
    let imported = import_onnx(&fixture("depthwise.onnx")).unwrap();
    assert!(imported.layers.iter().any(|l| matches!(
        l,
        LayerSpec::Conv2d {
            groups: Some(qfront_train::models::Groups::Named(
                qfront_train::models::GroupsName::Depthwise
            )),
            ..
        }
    )));
}

#[derive(serde::Deserialize)]
struct TextReference {
    tokens: usize,
    ids: Vec<Vec<i64>>,
    logits: Vec<Vec<f32>>,
}

/// A text model on qfront's hashed ids: every position holds a real token, so qfront's
/// pooling over real tokens and ONNX's pooling over every position agree.
fn largest_text_difference(name: &str) -> f32 {
    let reference: TextReference =
        serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap())
            .unwrap();
    let mut spec = float_spec(name, [1, 1, 1], reference.logits[0].len());
    spec.input = InputShape::Tokens {
        max_tokens: reference.tokens,
        vocabulary: 1025,
    };
    let device = Device::flex();
    let model = Model::build(&spec, 0, &device).unwrap();
    let n = reference.ids.len();
    let ids: Vec<i64> = reference.ids.iter().flatten().copied().collect();
    let ids = Tensor::<2, burn::tensor::Int>::from_data(
        TensorData::new(ids, [n, reference.tokens]),
        &device,
    );
    let mask = Tensor::<2>::ones([n, reference.tokens], &device);
    let logits: Vec<f32> = model
        .forward(ModelInput::Tokens(ids, mask))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    largest_gap(name, &logits, &reference.logits)
}

#[test]
fn imported_text_models_match_onnx_runtime() {
    for name in ["text_max", "text_mean"] {
        let gap = largest_text_difference(name);
        assert!(gap <= 1e-4, "{name}: max |Δlogit| = {gap}");
    }
    let imported = import_onnx(&fixture("text_max.onnx")).unwrap();
    assert_eq!(
        imported.input,
        qfront_train::models::ImportedInput::Tokens(12)
    );
    assert!(matches!(
        imported.layers[0],
        LayerSpec::Embedding {
            dim: 16,
            buckets: Some(1024),
            ..
        }
    ));
}

#[test]
fn resnet_imports_as_residual_layer_list() {
    let imported = import_onnx(&fixture("resnet.onnx")).unwrap();
    assert_eq!(
        imported.input,
        qfront_train::models::ImportedInput::Image([1, 16, 16])
    );
    let adds: Vec<&str> = imported
        .layers
        .iter()
        .filter_map(|l| match l {
            LayerSpec::Add { from } => Some(from.as_str()),
            _ => None,
        })
        .collect();
    // Each block adds its input: the stem's relu, then each transition's.
    assert_eq!(adds, ["relu1", "relu4", "relu7"]);
    let convs = imported
        .layers
        .iter()
        .filter(|l| matches!(l, LayerSpec::Conv2d { .. }))
        .count();
    assert_eq!(convs, 9);
    assert!(matches!(
        imported.layers.last(),
        Some(LayerSpec::Linear {
            features: Some(10),
            ..
        })
    ));
    // Weights are keyed by the names per-layer settings use.
    let names: Vec<&String> = imported.weights.layers.keys().collect();
    assert!(names.contains(&&"conv1".to_string()));
    assert!(names.contains(&&"classifier".to_string()));
    assert_eq!(names.len(), 10);
}

#[test]
fn unsupported_operators_are_refused_by_name() {
    let message = import_onnx(&fixture("sigmoid.onnx"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("Sigmoid"), "{message}");
    assert!(message.contains("not supported"), "{message}");
    assert!(message.contains("BatchNormalization"), "{message}");
}

#[test]
fn truncated_and_missing_files_are_errors() {
    let dir = std::env::temp_dir().join(format!("qfront-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(fixture("cnn.onnx")).unwrap();
    let truncated = dir.join("truncated.onnx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let message = import_onnx(&truncated).unwrap_err().to_string();
    assert!(message.contains("truncated.onnx"), "{message}");
    let message = import_onnx(&dir.join("absent.onnx"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("absent.onnx"), "{message}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_changed_source_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("qfront-onnx-pin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.onnx");
    std::fs::copy(fixture("mlp.onnx"), &path).unwrap();
    let pinned = PretrainedSource::pin(&path).unwrap();
    assert!(pinned.import().is_ok());
    std::fs::copy(fixture("cnn.onnx"), &path).unwrap();
    let message = pinned.import().unwrap_err().to_string();
    assert!(message.contains("changed"), "{message}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_model_for_other_images_is_refused() {
    let mut spec = float_spec("mlp", [1, 8, 8], 10);
    spec.input = InputShape::Image {
        channels: 1,
        height: 28,
        width: 28,
    };
    let message = match Model::build(&spec, 0, &Device::flex()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an 8×8 model built on 28×28 images"),
    };
    assert!(message.contains("8×8"), "{message}");
}
