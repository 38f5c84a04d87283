//! `qfront train`, `eval` and `search` on the user's own files, as a user meets them: SNIPS
//! written out as CSV, UCI digits written out as PNG class folders (both from the copies in
//! `data/`), a study TOML with a `[dataset]` table run from another directory, and every bad
//! input answered with exit code 1 or 2 and a message naming the problem, never a panic.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::qfront;

fn repo_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-user-{}-{name}", std::process::id()));
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

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// SNIPS (the built-in copy) as `train.csv` (the `train_*_full` files) and `test.csv` (the
/// `validate_*` files) with columns `utterance,intent`.
fn snips_csv(dir: &Path) -> (PathBuf, PathBuf) {
    let root = repo_data().join("snips/2017-06-custom-intent-engines");
    let mut intents: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    intents.sort();
    let mut train = String::from("utterance,intent\n");
    let mut test = train.clone();
    for intent in &intents {
        for (file, out) in [
            (format!("train_{intent}_full.json"), &mut train),
            (format!("validate_{intent}.json"), &mut test),
        ] {
            let bytes = std::fs::read(root.join(intent).join(file)).unwrap();
            let doc: Value = serde_json::from_str(&String::from_utf8_lossy(&bytes)).unwrap();
            for query in doc[intent.as_str()].as_array().unwrap() {
                let text: String = query["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|c| c["text"].as_str())
                    .collect();
                *out += &format!("{},{intent}\n", quote(text.trim()));
            }
        }
    }
    let (train_path, test_path) = (dir.join("train.csv"), dir.join("test.csv"));
    std::fs::write(&train_path, train).unwrap();
    std::fs::write(&test_path, test).unwrap();
    (train_path, test_path)
}

#[test]
fn train_on_a_user_csv_exports_a_model_that_agrees_and_keeps_label_names() {
    let dir = temp_dir("csv");
    let (train, test) = snips_csv(&dir);
    let qfm = dir.join("intents.qfm");
    let out = qfront(&[
        "train",
        "--data",
        train.to_str().unwrap(),
        "--test-data",
        test.to_str().unwrap(),
        "--text-column",
        "utterance",
        "--label-column",
        "intent",
        "--epochs",
        "2",
        "--qfm",
        qfm.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = record(&out);
    assert_eq!(r["model"], "nlu");
    assert_eq!(r["classes"], 7);
    // No validation file: 10% of train.csv (13,784 rows) is held out.
    assert_eq!(r["train_examples"], 13784 - 1378);
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.9, "{r}");
    assert_eq!(r["runtime_agreement"], 1.0, "{r}");
    assert!(r["samples_per_second"].as_f64().unwrap() > 0.0);
    let model = qfront_rt::QfmFile::read(&qfm).unwrap();
    assert_eq!(
        model.model.labels[0], "AddToPlaylist",
        "labels in first-seen order"
    );
    assert_eq!(model.model.labels.len(), 7);
    // eval on the same data reproduces the runtime's test accuracy.
    let out = qfront(&[
        "eval",
        qfm.to_str().unwrap(),
        "--data",
        train.to_str().unwrap(),
        "--test-data",
        test.to_str().unwrap(),
        "--text-column",
        "utterance",
        "--label-column",
        "intent",
        "--format",
        "json",
    ]);
    assert_eq!(record(&out)["test_accuracy"], r["runtime_test_accuracy"]);
}

/// UCI digits (the built-in copy) as 8×8 PNG class folders, pixel counts 0..=16 scaled to
/// 0..=255.
fn digits_folders(dir: &Path) -> PathBuf {
    let mut gz = Vec::new();
    std::fs::File::open(repo_data().join("digits8x8/digits.csv.gz"))
        .unwrap()
        .read_to_end(&mut gz)
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    let root = dir.join("digits");
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let values: Vec<f32> = line.split(',').map(|v| v.trim().parse().unwrap()).collect();
        let class = root.join(format!("digit-{}", values[64] as u8));
        std::fs::create_dir_all(&class).unwrap();
        let image = image::GrayImage::from_fn(8, 8, |x, y| {
            image::Luma([(values[(y * 8 + x) as usize] * 255.0 / 16.0).round() as u8])
        });
        image.save(class.join(format!("{i:04}.png"))).unwrap();
    }
    root
}

#[test]
fn train_on_image_folders_with_a_cnn() {
    let dir = temp_dir("folders");
    let root = digits_folders(&dir);
    let qfm = dir.join("digits.qfm");
    let out = qfront(&[
        "train",
        "--data",
        root.to_str().unwrap(),
        "--model",
        "lenet",
        "--epochs",
        "6",
        "--qfm",
        qfm.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = record(&out);
    assert_eq!(r["classes"], 10);
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.85, "{r}");
    assert_eq!(r["runtime_agreement"], 1.0, "{r}");
    let model = qfront_rt::QfmFile::read(&qfm).unwrap();
    assert_eq!(model.model.labels[3], "digit-3");
}

#[test]
fn a_study_on_a_user_csv_with_a_layer_list_runs_from_another_directory() {
    let dir = temp_dir("study");
    let (train, _) = snips_csv(&dir);
    // A small slice keeps the study fast: every 20th row.
    let small: String = std::fs::read_to_string(&train)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 20 == 0)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::create_dir_all(dir.join("project")).unwrap();
    std::fs::write(dir.join("project/intents.csv"), small).unwrap();
    std::fs::write(
        dir.join("project/study.toml"),
        r#"
name = "my-intents"
family = "layers"
objectives = ["accuracy", "-size_kb"]
optimizer = "sobol"
budget = 2
[dataset]
path = "intents.csv"
text_column = "utterance"
label_column = "intent"
[model]
layers = [
  { type = "embedding", dim = 32, buckets = 512 },
  { type = "conv1d", name = "mix", channels = 32, kernel = 3 }, { type = "relu" },
  { type = "token_pool", mode = "max" },
  { type = "linear" },
]
[fixed]
epochs = 1
[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4]
[[parameter]]
name = "channels.mix"
type = "ordered"
values = [16, 48]
"#,
    )
    .unwrap();
    let elsewhere = temp_dir("elsewhere");
    let runs = dir.join("runs");
    let out = Command::new(env!("CARGO_BIN_EXE_qfront"))
        .current_dir(&elsewhere)
        .env("RUST_LOG", "warn")
        .env_remove("QFRONT_BUILTIN_DATA")
        .args([
            "search",
            "--config",
            dir.join("project/study.toml").to_str().unwrap(),
            "--dir",
            runs.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(runs.join("report/index.html").is_file());
    let front = qfront(&[
        "pareto",
        "--dir",
        runs.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(front.status.success(), "{}", stderr(&front));
    assert!(!String::from_utf8_lossy(&front.stdout).trim().is_empty());
}

#[test]
fn an_unread_data_dir_is_named_on_stderr() {
    let dir = temp_dir("unread-data-dir");
    let dir_text = dir.to_str().unwrap();
    for args in [
        vec!["train", "--data-dir", dir_text, "--epochs", "1"],
        vec![
            "bench",
            "data",
            "--dataset",
            "snips",
            "--data-dir",
            dir_text,
        ],
    ] {
        let out = common::qfront_ok(&args);
        let log = stderr(&out);
        assert!(
            log.contains(&format!(
                "--data-dir {dir_text} is not read: it ships with qfront"
            )),
            "{args:?}: {log}"
        );
    }
    let (train, _) = snips_csv(&dir);
    let out = common::qfront_ok(&[
        "bench",
        "data",
        "--data",
        train.to_str().unwrap(),
        "--text-column",
        "utterance",
        "--label-column",
        "intent",
        "--data-dir",
        dir_text,
    ]);
    assert!(
        stderr(&out).contains("is not read: --data names the files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn built_in_data_works_from_any_directory() {
    let elsewhere = temp_dir("anywhere");
    let out = Command::new(env!("CARGO_BIN_EXE_qfront"))
        .current_dir(&elsewhere)
        .env("RUST_LOG", "warn")
        .env_remove("QFRONT_BUILTIN_DATA")
        .args([
            "train",
            "--dataset",
            "snips",
            "--epochs",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let r = record(&out);
    assert_eq!(r["classes"], 7);
    // The documented built-in split: 100 utterances per intent held out of 13,784.
    assert_eq!(r["train_examples"], 13084);
}

/// Runs `qfront args` and checks it failed with `code` (never 101, never "panicked") and a
/// message holding every one of `needles`.
fn fails(args: &[&str], code: i32, needles: &[&str]) {
    common::qfront_fails(args, code, needles);
}

#[test]
fn every_bad_input_is_named_with_its_fix() {
    let dir = temp_dir("bad");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let train = p("train.csv");
    std::fs::write(
        &train,
        "text,label\nplay jazz,music\nrain today,weather\nplay rock,music\nsnow soon,weather\n",
    )
    .unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("short.csv", "text,label\nplay pop\n");
    write("empty.csv", "text,label\n,music\n");
    write("unseen.csv", "text,label\nbuy milk,shopping\n");
    write("single.csv", "text,label\na,x\nb,x\nc,x\n");
    write("blank.csv", "");
    let train_cmd = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["train", "--data", train.as_str(), "--epochs", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: Vec<String>, code: i32, needles: &[&str]| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&refs, code, needles);
    };
    run(
        train_cmd(&["--val-data", &p("short.csv")]),
        1,
        &["short.csv, line 2", "no 'label' value"],
    );
    run(
        train_cmd(&["--val-data", &p("empty.csv")]),
        1,
        &["empty.csv, line 2", "text is empty"],
    );
    run(
        train_cmd(&["--val-data", &p("unseen.csv")]),
        1,
        &["unseen.csv, line 2", "'shopping'", "--skip-bad-rows"],
    );
    run(
        train_cmd(&["--text-column", "utterance"]),
        1,
        &["no column named 'utterance'", "text, label"],
    );
    fails(
        &["train", "--data", &p("blank.csv")],
        1,
        &["blank.csv, line 1", "the file is empty", "header row"],
    );
    fails(
        &["train", "--data", &p("single.csv")],
        1,
        &["single class ('x')"],
    );
    fails(
        &["train", "--data", &p("nothing.csv")],
        1,
        &["nothing.csv", "not found"],
    );
    fails(&["train", "--val-data", &p("short.csv")], 2, &["--data"]);
    fails(
        &["train", "--data", &train, "--image-size", "32by32"],
        2,
        &["32by32"],
    );
    fails(
        &["train", "--data", &train, "--channels", "2"],
        1,
        &["channels", "2"],
    );
    fails(
        &["train", "--image-size", "8x8"],
        1,
        &["--image-size", "--data"],
    );
    // A split share given for a built-in dataset, whose splits are fixed, is refused, not
    // silently ignored.
    fails(
        &["train", "--val-fraction", "0.5"],
        1,
        &["--val-fraction applies to your own data", "--data PATH"],
    );
    fails(
        &["train", "--dataset", "snips", "--test-fraction", "0"],
        1,
        &["--test-fraction applies to your own data"],
    );
    fails(
        &["train", "--data", &train, "--val-fraction", "0"],
        1,
        &["validation_fraction"],
    );
    fails(
        &["train", "--data", &train, "--model", "lenet"],
        1,
        &["--model lenet", "text"],
    );

    // Image folders.
    let images = dir.join("images");
    for class in ["a", "b"] {
        std::fs::create_dir_all(images.join(class)).unwrap();
        image::GrayImage::new(4, 4)
            .save(images.join(class).join("0.png"))
            .unwrap();
    }
    image::GrayImage::new(5, 4)
        .save(images.join("b").join("1.png"))
        .unwrap();
    let images_text = images.to_str().unwrap();
    fails(
        &["train", "--data", images_text],
        1,
        &["1.png", "4x5", "--image-size"],
    );
    std::fs::create_dir_all(images.join("c")).unwrap();
    fails(
        &["train", "--data", images_text, "--image-size", "4x4"],
        1,
        &["class folder 'c'", "no images"],
    );
    std::fs::write(images.join("c").join("0.png"), b"not a png").unwrap();
    fails(
        &["train", "--data", images_text, "--image-size", "4x4"],
        1,
        &["0.png", "cannot be decoded"],
    );

    // NumPy archives.
    let npz = p("bad.npz");
    std::fs::write(&npz, b"PK\x03\x04").unwrap();
    fails(
        &["train", "--data", &npz],
        1,
        &["bad.npz", "not a readable .npz"],
    );
    let arrays = dir.join("arrays");
    std::fs::create_dir_all(&arrays).unwrap();
    std::fs::write(arrays.join("x.npy"), b"\x93NUMPY").unwrap();
    fails(
        &["train", "--data", arrays.to_str().unwrap()],
        1,
        &["y.npy", "missing"],
    );
    // Mismatched lengths: 3 images, 2 labels.
    std::fs::write(arrays.join("x.npy"), npy("|u1", &[3, 2, 2], &[7u8; 12])).unwrap();
    let labels: Vec<u8> = [0i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(arrays.join("y.npy"), npy("<i8", &[2], &labels)).unwrap();
    fails(
        &["train", "--data", arrays.to_str().unwrap()],
        1,
        &["array 'y'", "holds 3 images"],
    );
}

/// A version-1.0 `.npy` file: magic, header dict padded to a multiple of 64 bytes, data.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

const LAYER_LIST: &str = r#"[model]
layers = [
  { type = "conv2d", channels = 8, kernel = 3 }, { type = "batch_norm" }, { type = "relu" },
  { type = "max_pool", kernel = 2 },
  { type = "conv2d", channels = 16, kernel = 3 }, { type = "batch_norm" }, { type = "relu" },
  { type = "flatten" }, { type = "linear", features = 32 }, { type = "relu" },
  { type = "linear" },
]
"#;

#[test]
fn a_layer_list_model_trains_exports_and_is_searched() {
    let dir = temp_dir("layer-list");
    let root = digits_folders(&dir);
    let net = dir.join("net.toml");
    std::fs::write(&net, LAYER_LIST).unwrap();
    let qfm = dir.join("net.qfm");
    let out = qfront(&[
        "train",
        "--data",
        root.to_str().unwrap(),
        "--model",
        net.to_str().unwrap(),
        "--epochs",
        "8",
        "--qfm",
        qfm.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = record(&out);
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.8, "{r}");
    assert_eq!(r["runtime_agreement"], 1.0, "{r}");

    // A study over the list's sizes and per-layer bits, model file relative to the study.
    std::fs::write(
        dir.join("study.toml"),
        r#"
name = "digits-layers"
family = "layers"
model = "net.toml"
objectives = ["accuracy", "-size_kb"]
optimizer = "sobol"
budget = 2
[dataset]
path = "digits"
[fixed]
epochs = 2
[[parameter]]
name = "channels.conv2"
type = "ordered"
values = [8, 24]
[[parameter]]
name = "wbits.conv2"
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

    // A typo in a layer name is refused before anything runs.
    std::fs::write(
        dir.join("typo.toml"),
        std::fs::read_to_string(dir.join("study.toml"))
            .unwrap()
            .replace("channels.conv2", "channels.cnov2")
            .replace("digits-layers", "typo"),
    )
    .unwrap();
    fails(
        &[
            "search",
            "--config",
            dir.join("typo.toml").to_str().unwrap(),
            "--dir",
            dir.join("typo-runs").to_str().unwrap(),
        ],
        1,
        &["channels.cnov2", "no convolution named 'cnov2'"],
    );
    // A list the runtime cannot run names the layer and the rule.
    std::fs::write(
        &net,
        LAYER_LIST.replace(
            "{ type = \"max_pool\", kernel = 2 },",
            "{ type = \"max_pool\", kernel = 2 }, { type = \"batch_norm\" },",
        ),
    )
    .unwrap();
    fails(
        &[
            "train",
            "--data",
            root.to_str().unwrap(),
            "--model",
            net.to_str().unwrap(),
        ],
        1,
        &["model.layers[4] (batch_norm)", "directly after a conv2d"],
    );
}
