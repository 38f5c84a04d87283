//! The `qfront` binary as a user meets it: the JSON record of `qfront train`, checkpoints and
//! fine-tuning, the step-time benchmark, and clear errors with the documented exit codes
//! (0 ok, 1 failed, 2 usage error).

use serde_json::Value;
use std::process::Output;

mod common;
use common::qfront;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_record(out: &Output) -> Value {
    assert!(out.status.success(), "qfront failed: {}", stderr(out));
    let text = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout holds exactly one JSON record: {text}"
    );
    serde_json::from_str(lines[0]).expect("stdout is JSON")
}

#[test]
fn train_prints_one_json_record_with_the_documented_fields() {
    let out = qfront(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--format",
        "json",
    ]);
    let record = json_record(&out);
    assert_eq!(record["dataset"], "digits");
    assert_eq!(record["model"], "mlp");
    assert_eq!(record["wbits"], 4);
    assert_eq!(record["abits"], 4);
    for key in ["val_accuracy", "test_accuracy"] {
        let v = record[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing"));
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    // Three epochs of W4A4 on digits already classify most of the test set.
    assert!(record["test_accuracy"].as_f64().unwrap() > 0.85, "{record}");
    assert!(record["size_bytes"].as_u64().unwrap() > 0);
    assert!(record["train_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_saved_float_model_fine_tunes_to_low_bits() {
    let dir = std::env::temp_dir().join(format!("qfront-cli-{}", std::process::id()));
    let dir_text = dir.to_str().unwrap();
    let float = json_record(&qfront(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--wbits",
        "32",
        "--abits",
        "32",
        "--save",
        dir_text,
        "--format",
        "json",
    ]));
    assert_eq!(float["wbits"], 32);
    for file in ["model.bpk", "spec.json", "train.json"] {
        assert!(dir.join(file).is_file(), "{file} saved");
    }
    let tuned = json_record(&qfront(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--wbits",
        "3",
        "--abits",
        "4",
        "--init-from",
        dir_text,
        "--format",
        "json",
    ]));
    assert_eq!(tuned["wbits"], 3);
    // One epoch from the float weights keeps most of the float accuracy.
    assert!(tuned["test_accuracy"].as_f64().unwrap() > 0.85, "{tuned}");
    // A different architecture cannot load the checkpoint.
    let out = qfront(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--hidden",
        "64",
        "--init-from",
        dir_text,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("architecture differs"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_bit_widths_are_refused_with_the_allowed_range() {
    for bits in ["0", "1", "9", "33"] {
        let out = qfront(&[
            "train",
            "--dataset",
            "digits",
            "--wbits",
            bits,
            "--epochs",
            "1",
        ]);
        assert_eq!(out.status.code(), Some(1), "--wbits {bits}");
        let message = stderr(&out);
        assert!(
            message.contains(bits) && message.contains("2..=8"),
            "--wbits {bits}: {message}"
        );
        assert!(out.stdout.is_empty(), "no data on stdout after an error");
    }
}

#[test]
fn usage_errors_exit_2_and_failures_exit_1() {
    let out = qfront(&["train", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = qfront(&["train", "--dataset", "imagenet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown dataset 'imagenet'"),
        "{}",
        stderr(&out)
    );
    let out = qfront(&[
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        "/nonexistent/qfront-data",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/qfront-data"),
        "{}",
        stderr(&out)
    );
    let out = qfront(&["train", "--dataset", "snips", "--model", "lenet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--model nlu"), "{}", stderr(&out));
    let out = qfront(&[
        "train",
        "--dataset",
        "digits",
        "--weight-quantizer",
        "bogus",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sawb"), "{}", stderr(&out));
}

#[test]
fn train_step_bench_reports_its_timing() {
    let record = json_record(&qfront(&[
        "bench",
        "train-step",
        "--model",
        "lenet",
        "--input",
        "1x12x12",
        "--hidden",
        "4,8,16",
        "--batch-size",
        "8",
        "--steps",
        "3",
        "--warmup",
        "1",
        "--format",
        "json",
    ]));
    assert_eq!(record["bench"], "train-step");
    assert_eq!(record["model"], "lenet");
    assert_eq!(record["steps"], 3);
    let median = record["median_ms"].as_f64().unwrap();
    assert!(median > 0.0 && median <= record["p90_ms"].as_f64().unwrap());
    let out = qfront(&["bench", "train-step", "--input", "28x28"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CxHxW"), "{}", stderr(&out));
    // The default LeNet has a PyTorch peer; an interpreter without torch is a clear error.
    let out = qfront(&[
        "bench",
        "train-step",
        "--model",
        "lenet",
        "--batch-size",
        "2",
        "--steps",
        "1",
        "--warmup",
        "0",
        "--pytorch",
        "/nonexistent/python3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot import torch"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn mobo_bench_prints_events_and_a_summary_per_seed() {
    let out = qfront(&[
        "bench",
        "mobo",
        "--problem",
        "branin-currin",
        "--budget",
        "9",
        "--seeds",
        "2",
        "--raw-samples",
        "32",
        "--restarts",
        "2",
        "--mc-samples",
        "16",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let count = |event: &str| lines.iter().filter(|l| l["event"] == event).count();
    // 9 evaluations and 9 − 6 = 3 model-based iterations (initial design 2(d+1) = 6) per seed.
    assert_eq!(
        (count("evaluation"), count("iteration"), count("summary")),
        (18, 6, 2)
    );
    let summary = lines.iter().find(|l| l["event"] == "summary").unwrap();
    for key in [
        "problem",
        "method",
        "seed",
        "evaluations",
        "final_hv",
        "log10_hv_regret",
        "median_iter_seconds",
    ] {
        assert!(!summary[key].is_null(), "{key} missing from {summary}");
    }
    assert_eq!(summary["problem"], "branin-currin");
    assert_eq!(summary["evaluations"], 9);
    let hv = summary["final_hv"].as_f64().unwrap();
    assert!(hv > 0.0 && hv < 59.37, "{hv}");
    // Errors name the fix.
    let out = qfront(&["bench", "mobo", "--problem", "rosenbrock"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("branin-currin"), "{}", stderr(&out));
    let out = qfront(&["bench", "mobo", "--problem", "dtlz2", "--dim", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("d > m"), "{}", stderr(&out));
    let out = qfront(&["bench", "mobo", "--problem", "zdt1", "--method", "ehvi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("qnehvi"), "{}", stderr(&out));
}
