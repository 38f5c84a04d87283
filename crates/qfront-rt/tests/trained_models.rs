//! Models trained and exported on x86-64 by `qfront-train` (the `export_agrees` models,
//! written to `tests/fixtures/trained/`) run on every kernel set of this CPU: each gives the
//! scalar reference kernels' predictions on the whole test split, and logits bit-identical
//! to those the reference kernels computed on the machine that wrote the fixture. On
//! aarch64 (CI runs this under qemu) that checks the NEON, dot-product and i8mm kernels
//! against x86 on real trained models of every family, weight quantizer and width 2..=8.

use qfront_rt::{argmax, KernelSet, QfmFile, Session};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trained")
}

fn numbers<T>(v: &Value, key: &str, convert: impl Fn(&Value) -> T) -> Vec<T> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {key}"))
        .iter()
        .map(convert)
        .collect()
}

/// Predictions of `session` on `inputs`, in batches of 64, and the logits of the first
/// `logit_examples` examples (one batch of their own).
fn run(session: &mut Session, inputs: &Value, logit_examples: usize) -> (Vec<usize>, Vec<f32>) {
    let classes = session.classes();
    let mut predictions = Vec::new();
    match inputs["kind"].as_str().unwrap() {
        "images" => {
            let pixels = numbers(inputs, "pixels", |v| v.as_f64().unwrap() as f32);
            let per: usize = numbers(inputs, "shape", |v| v.as_u64().unwrap() as usize)
                .iter()
                .product();
            for chunk in pixels.chunks(64 * per) {
                let logits = session.run_images(chunk, chunk.len() / per).unwrap();
                predictions.extend(argmax(logits, classes));
            }
            let logits = session
                .run_images(&pixels[..logit_examples * per], logit_examples)
                .unwrap();
            (predictions, logits.to_vec())
        }
        "tokens" => {
            let ids = numbers(inputs, "ids", |v| v.as_u64().unwrap() as u32);
            let per = inputs["max_tokens"].as_u64().unwrap() as usize;
            for chunk in ids.chunks(64 * per) {
                let logits = session.run_tokens(chunk, chunk.len() / per).unwrap();
                predictions.extend(argmax(logits, classes));
            }
            let logits = session
                .run_tokens(&ids[..logit_examples * per], logit_examples)
                .unwrap();
            (predictions, logits.to_vec())
        }
        other => panic!("unknown input kind {other}"),
    }
}

#[test]
fn trained_models_agree_on_every_kernel_set() {
    let dir = fixture_dir();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "qfm"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "expected the export_agrees models in {}",
        dir.display()
    );
    let mut inputs_cache: HashMap<String, Value> = HashMap::new();
    eprintln!("kernel sets: {:?}", KernelSet::available());
    for model in names {
        let fixture: Value =
            serde_json::from_slice(&std::fs::read(model.with_extension("json")).unwrap()).unwrap();
        let what = fixture["what"].as_str().unwrap().to_string();
        let inputs_name = fixture["inputs"].as_str().unwrap().to_string();
        let inputs = inputs_cache.entry(inputs_name.clone()).or_insert_with(|| {
            serde_json::from_slice(&std::fs::read(dir.join(&inputs_name)).unwrap()).unwrap()
        });
        let file = QfmFile::from_bytes(&std::fs::read(&model).unwrap())
            .unwrap_or_else(|e| panic!("{what}: {e} (rewrite the fixtures, see README.md)"));
        let expected = numbers(&fixture, "reference_predictions", |v| {
            v.as_u64().unwrap() as usize
        });
        let fake = numbers(&fixture, "fake_quant_predictions", |v| {
            v.as_u64().unwrap() as usize
        });
        let bits = numbers(&fixture, "reference_logit_bits", |v| {
            v.as_u64().unwrap() as u32
        });
        let logit_examples = fixture["logit_examples"].as_u64().unwrap() as usize;
        let mut sessions: Vec<(String, Session)> = KernelSet::available()
            .into_iter()
            .map(|k| (k.name().to_string(), Session::new(&file, k)))
            .collect();
        let best = KernelSet::best_available();
        sessions.push((
            format!("{} on 2 threads", best.name()),
            Session::with_threads(&file, best, 2).unwrap(),
        ));
        for (set, session) in &mut sessions {
            let (predictions, logits) = run(session, inputs, logit_examples);
            // What this run predicts, against the trained model (the issue's ≥ 99.5%).
            let agree = fake
                .iter()
                .zip(&predictions)
                .filter(|(a, b)| a == b)
                .count() as f64
                / fake.len() as f64;
            assert!(agree >= 0.995, "{what}: {set} agrees on {agree}");
            assert_eq!(predictions, expected, "{what}: {set} predictions");
            let got: Vec<u32> = logits.iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got, bits,
                "{what}: {set} logits differ from x86's reference"
            );
        }
        eprintln!("{what}: {} examples, every set agrees", expected.len());
    }
}
