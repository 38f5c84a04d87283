//! The runtime commands as a user meets them: `train --qfm`, `export`, `eval`,
//! `bench latency` (local and through a device command), `bench lut` and `bench kernel`.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

mod common;
use common::qfront;

fn lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "qfront failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-rt-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn metric(lines: &[Value], name: &str) -> f64 {
    lines
        .iter()
        .find(|l| l["metric"] == name)
        .and_then(|l| l["value"].as_f64())
        .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
}

#[test]
fn train_export_eval_and_measure_a_model() {
    let dir = temp("flow");
    let qfm = dir.join("digits.qfm");
    let checkpoint = dir.join("ckpt");
    let out = qfront(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "4",
        "--format",
        "json",
        "--qfm",
        qfm.to_str().unwrap(),
        "--save",
        checkpoint.to_str().unwrap(),
    ]);
    let record = &lines(&out)[0];
    let runtime_accuracy = record["runtime_test_accuracy"].as_f64().unwrap();
    assert!(
        record["runtime_agreement"].as_f64().unwrap() >= 0.995,
        "{record}"
    );
    assert!((runtime_accuracy - record["test_accuracy"].as_f64().unwrap()).abs() <= 0.003);

    // Export from the checkpoint gives the same file, and eval the same accuracy.
    let exported = dir.join("exported.qfm");
    lines(&qfront(&[
        "export",
        checkpoint.to_str().unwrap(),
        exported.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(&qfm).unwrap(),
        std::fs::read(&exported).unwrap()
    );
    let eval = &lines(&qfront(&[
        "eval",
        exported.to_str().unwrap(),
        "--dataset",
        "digits",
        "--format",
        "json",
    ]))[0];
    assert_eq!(eval["test_accuracy"].as_f64().unwrap(), runtime_accuracy);
    assert_eq!(eval["examples"], 360);

    let bench = lines(&qfront(&[
        "bench",
        "latency",
        qfm.to_str().unwrap(),
        "--max-time",
        "0.05",
        "--warmup-time",
        "0.01",
    ]));
    for name in [
        "median_ms",
        "p90_ms",
        "p99_ms",
        "mean_ms",
        "loops",
        "threads",
    ] {
        assert!(metric(&bench, name) > 0.0, "{name}");
    }
    assert!(metric(&bench, "p99_ms") >= metric(&bench, "median_ms"));
    assert!(bench.iter().any(|l| l["machine"]["kernels"].is_string()));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_device_hook_runs_the_template_and_parses_its_output() {
    let bench = lines(&qfront(&[
        "bench", "latency", "model.qfm", "--device-cmd",
        "echo 'Inference timings in us: Init: 10, First inference: 9, Warmup (avg): 8, Inference (avg): 2500' # {model}",
    ]));
    assert_eq!(metric(&bench, "mean_ms"), 2.5);
    let failed = qfront(&[
        "bench",
        "latency",
        "model.qfm",
        "--device-cmd",
        "echo board offline >&2; exit 7",
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("board offline"));
}

#[test]
fn bad_models_and_mismatched_datasets_fail_clearly() {
    let dir = temp("bad");
    let path = dir.join("junk.qfm");
    std::fs::write(&path, b"QFM\x1a\x01\x00\x00\x00not enough").unwrap();
    let out = qfront(&["eval", path.to_str().unwrap(), "--dataset", "digits"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    let out = qfront(&[
        "bench",
        "latency",
        dir.join("missing.qfm").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Settings the runtime cannot run are refused before training starts.
    let started = std::time::Instant::now();
    let out = qfront(&[
        "train",
        "--dataset",
        "snips",
        "--abits",
        "32",
        "--qfm",
        dir.join("x.qfm").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--abits ≤ 8"));
    assert!(started.elapsed().as_secs() < 5, "refused before training");
    let out = qfront(&["bench", "latency", path.to_str().unwrap(), "--threads", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads 0: give 1..=256"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn lut_and_kernel_benches_report_their_figures() {
    let lut = lines(&qfront(&["bench", "lut", "--models", "12", "--check", "3"]));
    // Every held-out model is predicted or refused (an op the table never measured), for
    // widths on and off the table's menus.
    for label in ["lut", "lut_off_menu"] {
        let refused = metric(&lut, &format!("{label}_models_refused"));
        let name = format!("{label}_models_checked");
        let checked = if lut.iter().any(|l| l["metric"] == name) {
            metric(&lut, &name)
        } else {
            0.0
        };
        assert_eq!(checked + refused, 3.0, "{label}");
        if checked > 0.0 {
            assert!(metric(&lut, &format!("{label}_median_abs_error")).is_finite());
        }
    }
    assert!(lut.iter().any(|l| l["widths"] == "lut_off_menu"));
    let kernel = lines(&qfront(&[
        "bench",
        "kernel",
        "--m",
        "8",
        "--k",
        "100",
        "--n",
        "20",
        "--bits",
        "2,8",
        "--max-time",
        "0.01",
    ]));
    let rows: Vec<&Value> = kernel.iter().filter(|l| l["kernel"] == "matmul").collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["gops"].as_f64().unwrap() > 0.0));
}

#[test]
fn an_unknown_kernel_set_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qfront"))
        .args(["trials", "--dir", "/nonexistent/qfront-study"])
        .env("QFRONT_KERNELS", "avx3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("QFRONT_KERNELS='avx3'") && err.contains("reference, avx2"),
        "{err}"
    );
}

/// `bench memory` writes a wide model per weight width, measures each in a child `bench
/// latency`, and reports the bytes the session holds and the peak RSS; with the AVX-512 set
/// the session holds exactly the packed widths (W4 half, W2 a quarter of W8).
#[test]
fn bench_memory_reports_weight_memory_per_width() {
    let dir = temp("memory");
    let out = lines(&qfront(&[
        "bench",
        "memory",
        "--family",
        "mlp",
        "--width",
        "256",
        "--layers",
        "2",
        "--batch",
        "1,8",
        "--max-time",
        "0.02",
        "--keep-models",
        dir.to_str().unwrap(),
    ]));
    let rows: Vec<&Value> = out
        .iter()
        .filter(|l| l.get("file_bytes").is_some())
        .collect();
    assert_eq!(rows.len(), 3, "{out:?}");
    for row in &rows {
        assert!(row["peak_rss_bytes"].as_f64().unwrap() > 0.0, "{row}");
        assert!(
            row["latency_ms"]["batch_8_ms"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        assert!(dir.join(format!("w{}.qfm", row["bits"])).exists());
    }
    let files: Vec<f64> = rows
        .iter()
        .map(|r| r["file_bytes"].as_f64().unwrap())
        .collect();
    assert!(files[0] > files[1] && files[1] > files[2], "{files:?}");
    let ratios: Vec<&Value> = out
        .iter()
        .filter(|l| l.get("session_weight_ratio").is_some())
        .collect();
    assert_eq!(ratios.len(), 2);
    // Every x86 kernel set keeps one copy of the weights at their width.
    let x86_sets = ["avx2", "avx512bw", "avx512-vnni", "avx512-amx"];
    if x86_sets.contains(&rows[0]["kernels"].as_str().unwrap()) {
        let w4 = ratios[0]["session_weight_ratio"].as_f64().unwrap();
        let w2 = ratios[1]["session_weight_ratio"].as_f64().unwrap();
        assert!((0.45..=0.55).contains(&w4), "W4 holds {w4} of W8");
        assert!((0.2..=0.3).contains(&w2), "W2 holds {w2} of W8");
    }
    let bad = qfront(&["bench", "memory", "--bits", "8,9"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2..=8"));
    std::fs::remove_dir_all(&dir).unwrap();
}
