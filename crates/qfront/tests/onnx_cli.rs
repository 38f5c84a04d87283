//! `qfront train --model net.onnx` and a study with `model = "net.onnx"`, as a user meets
//! them: an imported PyTorch model (fixtures from `bench/onnx/make_fixtures.py`) fine-tuned
//! with QAT, exported and searched; a model that cannot be imported answered with exit code 1
//! and a message naming the problem, never a panic.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::qfront;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../qfront-train/tests/fixtures/onnx")
        .join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-onnx-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn record(out: &Output) -> Value {
    assert!(out.status.success(), "qfront failed: {}", stderr(out));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a record")).expect("JSON")
}

/// `qfront train --epochs 0` at 32 bits on digits: the imported float model, evaluated.
fn float_import(model: &Path, seed: &str) -> Value {
    record(&qfront(&[
        "train",
        "--dataset",
        "digits",
        "--model",
        model.to_str().unwrap(),
        "--wbits",
        "32",
        "--abits",
        "32",
        "--alpha-init",
        "1e6",
        "--epochs",
        "0",
        "--seed",
        seed,
        "--format",
        "json",
    ]))
}

#[test]
fn an_imported_model_is_fine_tuned_exported_and_searched() {
    let dir = temp_dir("train");
    let qfm = dir.join("mlp.qfm");
    let model = fixture("mlp.onnx");
    // The float import as it stands (no training): PACT clips far above every activation.
    let float = float_import(&model, "0");
    assert_eq!(float["epochs"], 0);
    // The weights come from the file, not from the seed: another seed, the same predictions.
    let reseeded = float_import(&model, "7");
    for key in ["test_accuracy", "val_accuracy"] {
        assert_eq!(float[key], reseeded[key], "{key}");
    }
    let r = record(&qfront(&[
        "train",
        "--dataset",
        "digits",
        "--model",
        model.to_str().unwrap(),
        "--wbits",
        "4",
        "--abits",
        "4",
        "--epochs",
        "10",
        "--qfm",
        qfm.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.8, "{r}");
    assert_eq!(r["runtime_agreement"], 1.0, "{r}");

    // A study over the imported model's hidden width and bits; the file sits beside it.
    std::fs::copy(&model, dir.join("net.onnx")).unwrap();
    std::fs::write(
        dir.join("study.toml"),
        r#"
name = "digits-onnx"
family = "layers"
model = "net.onnx"
dataset = "digits"
objectives = ["accuracy", "-size_kb"]
optimizer = "sobol"
budget = 2
[fixed]
epochs = 2
[[parameter]]
name = "features.fc1"
type = "ordered"
values = [8, 24]
[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4]
"#,
    )
    .unwrap();
    let runs = dir.join("runs");
    assert_eq!(
        common::search_completed_trials(&dir.join("study.toml"), &runs),
        2
    );
}

#[test]
fn an_imported_text_model_is_fine_tuned_on_snips() {
    let dir = temp_dir("text");
    let qfm = dir.join("text.qfm");
    let model = fixture("text_max.onnx");
    let r = record(&qfront(&[
        "train",
        "--dataset",
        "snips",
        "--model",
        model.to_str().unwrap(),
        "--max-tokens",
        "12",
        "--epochs",
        "2",
        "--qfm",
        qfm.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.8, "{r}");
    assert_eq!(r["runtime_agreement"], 1.0, "{r}");
    // The tokenizer's default 32 tokens against a model exported for 12.
    fails(
        &[
            "train",
            "--dataset",
            "snips",
            "--model",
            model.to_str().unwrap(),
            "--epochs",
            "1",
        ],
        &["12 tokens", "--max-tokens 12"],
    );
}

fn fails(args: &[&str], needles: &[&str]) {
    common::qfront_fails(args, 1, needles);
}

#[test]
fn models_that_cannot_be_imported_are_named_with_the_fix() {
    let dir = temp_dir("bad");
    let train = |model: &Path| {
        vec![
            "train".to_string(),
            "--dataset".into(),
            "digits".into(),
            "--model".into(),
            model.to_str().unwrap().into(),
            "--epochs".into(),
            "1".into(),
        ]
    };
    let run = |model: &Path, needles: &[&str]| {
        let args = train(model);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, needles);
    };
    // Exported for 28×28 images, run on 8×8 digits.
    run(&fixture("cnn.onnx"), &["28×28", "8×8", "--image-size"]);
    run(
        &fixture("sigmoid.onnx"),
        &["Sigmoid", "not supported", "Gemm"],
    );
    let bytes = std::fs::read(fixture("mlp.onnx")).unwrap();
    let truncated = dir.join("truncated.onnx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    run(&truncated, &["truncated.onnx"]);
    run(&dir.join("absent.onnx"), &["absent.onnx"]);
}
