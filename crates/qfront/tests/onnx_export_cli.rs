//! `qfront export --format onnx` as a user runs it: from a checkpoint, from a `.qfm`, and for
//! every trial of a study with `onnx = true`. The files are read back with the protobuf
//! bindings of `onnx.proto` and checked for what a deployer relies on: opset, inputs, outputs
//! and integer weights at their width. (That ONNX Runtime computes the same predictions as
//! `qfront-rt` is `qfront-train/tests/export_agrees.rs`.)

mod common;

use common::{qfront, qfront_fails, qfront_ok, search_ok};
use onnx_ir::{Message, ModelProto};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("qfront-onnx-export-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_model(path: &Path) -> ModelProto {
    ModelProto::parse_from_bytes(&std::fs::read(path).unwrap()).expect("a valid ModelProto")
}

/// Element types of the weight initializers (`onnx.proto`: INT8 = 3, INT4 = 22, INT2 = 26).
fn weight_types(model: &ModelProto) -> Vec<i32> {
    model
        .graph
        .initializer
        .iter()
        .filter(|t| t.name.contains("_weight_codes_"))
        .map(|t| t.data_type)
        .collect()
}

#[test]
fn a_checkpoint_and_its_qfm_export_the_same_onnx_model() {
    let dir = temp("checkpoint");
    let checkpoint = dir.join("ckpt");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    qfront_ok(&[
        "train",
        "--dataset",
        "digits",
        "--model",
        "mlp",
        "--hidden",
        "32,32",
        "--wbits",
        "2",
        "--abits",
        "4",
        "--epochs",
        "1",
        "--save",
        checkpoint.to_str().unwrap(),
    ]);
    // The format follows the extension.
    let out = qfront_ok(&["export", checkpoint.to_str().unwrap(), &path("model.onnx")]);
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["format"], "onnx");
    assert_eq!(line["opset"], 25);
    assert_eq!(line["input"], "image");
    let weights = line["weights"].as_array().unwrap();
    let elements: Vec<(u64, &str)> = weights
        .iter()
        .map(|w| (w["bits"].as_u64().unwrap(), w["element"].as_str().unwrap()))
        .collect();
    // First and last layers stay at 8 bits; the hidden layer is 2-bit and stored as INT2.
    assert_eq!(elements, [(8, "INT8"), (2, "INT2"), (8, "INT8")]);

    let model = read_model(&dir.join("model.onnx"));
    assert_eq!(model.opset_import[0].version, 25);
    assert_eq!(model.ir_version, 13);
    let graph = &model.graph;
    assert_eq!(graph.input[0].name, "image");
    assert_eq!(graph.output[0].name, "logits");
    assert_eq!(weight_types(&model), [3, 26, 3]);
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    for op in ["QuantizeLinear", "DequantizeLinear", "Gemm"] {
        assert!(ops.contains(&op), "{op} in {ops:?}");
    }
    assert!(model
        .metadata_props
        .iter()
        .any(|p| p.key == "qfront.labels" && p.value.contains("\"9\"")));

    // The same model exported first to .qfm, then converted, gives identical bytes.
    qfront_ok(&["export", checkpoint.to_str().unwrap(), &path("model.qfm")]);
    let converted = qfront_ok(&["export", &path("model.qfm"), &path("again.onnx")]);
    let line: Value = serde_json::from_slice(&converted.stdout).unwrap();
    assert_eq!(line["format"], "onnx");
    assert_eq!(
        std::fs::read(dir.join("model.onnx")).unwrap(),
        std::fs::read(dir.join("again.onnx")).unwrap()
    );
    // --format overrides the extension.
    qfront_ok(&[
        "export",
        &path("model.qfm"),
        &path("forced.bin"),
        "--format",
        "onnx",
    ]);
    assert_eq!(
        std::fs::read(dir.join("forced.bin")).unwrap(),
        std::fs::read(dir.join("model.onnx")).unwrap()
    );

    // A damaged model is refused by name, and nothing is written.
    let bytes = std::fs::read(dir.join("model.qfm")).unwrap();
    std::fs::write(dir.join("cut.qfm"), &bytes[..bytes.len() / 2]).unwrap();
    qfront_fails(
        &["export", &path("cut.qfm"), &path("cut.onnx")],
        1,
        &["not a readable .qfm model: ", "cut.qfm: truncated"],
    );
    let refused = qfront(&["export", &path("cut.qfm"), &path("cut.onnx")]);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(
        message.matches("not a readable").count(),
        1,
        "said once: {message}"
    );
    assert!(!dir.join("cut.onnx").exists());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_study_with_onnx_writes_every_trial_as_onnx() {
    let dir = temp("study");
    let config = dir.join("study.toml");
    std::fs::write(
        &config,
        r#"name = "onnx-study"
dataset = "digits"
family = "mlp"
objectives = ["accuracy", "-size_kb"]
budget = 2
onnx = true

[fixed]
epochs = 1

[latency]
max_time = 0.05

[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4]
"#,
    )
    .unwrap();
    let run = dir.join("run");
    search_ok(&config, &run);
    for trial in 0..2 {
        let trial_dir = run.join("trials").join(trial.to_string());
        let model = read_model(&trial_dir.join("model.onnx"));
        assert_eq!(model.graph.output[0].name, "logits");
        let metrics: Value =
            serde_json::from_str(&std::fs::read_to_string(trial_dir.join("metrics.json")).unwrap())
                .unwrap();
        let bytes = std::fs::metadata(trial_dir.join("model.onnx"))
            .unwrap()
            .len();
        assert_eq!(metrics["onnx_bytes"].as_f64().unwrap(), bytes as f64);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_device_command_can_time_each_trials_onnx_file() {
    let dir = temp("device");
    let config = dir.join("study.toml");
    let study = |onnx: bool| {
        format!(
            r#"name = "onnx-device"
dataset = "digits"
family = "mlp"
objectives = ["accuracy", "-latency_ms"]
budget = 2
onnx = {onnx}

[fixed]
epochs = 1

[latency]
mode = "device"
device_cmd = "test -s {{onnx}} && echo 'Average inference time cost: 0.375 ms'"

[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4]
"#
        )
    };
    // Without ONNX files the template cannot work: refused before anything runs.
    std::fs::write(&config, study(false)).unwrap();
    let run = dir.join("run");
    qfront_fails(
        &[
            "search",
            "--config",
            config.to_str().unwrap(),
            "--dir",
            run.to_str().unwrap(),
        ],
        1,
        &["latency.device_cmd", "onnx = true"],
    );
    // With them, each trial's file is handed to the command, whose ONNX Runtime-style output
    // (`onnxruntime_perf_test`) is the trial's latency.
    std::fs::write(&config, study(true)).unwrap();
    search_ok(&config, &run);
    for trial in 0..2 {
        let metrics: Value = serde_json::from_str(
            &std::fs::read_to_string(
                run.join("trials")
                    .join(trial.to_string())
                    .join("metrics.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(metrics["latency_ms"].as_f64().unwrap(), 0.375);
    }
    std::fs::remove_dir_all(dir).ok();
}
