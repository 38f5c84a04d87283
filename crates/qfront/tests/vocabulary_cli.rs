//! Word-vocabulary text models as a user meets them: a layer list whose embedding builds its
//! vocabulary from the training split, trained, exported with the vocabulary inside the
//! `.qfm`, re-exported from its checkpoint and evaluated; an imported ONNX text model given
//! the vocabulary it was trained with (`--vocabulary`); and every bad vocabulary answered
//! with exit code 1 and a message naming the problem.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::qfront_ok;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-vocab-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn record(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a record")).expect("JSON")
}

fn text_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../qfront-train/tests/fixtures/onnx/text_max.onnx")
}

/// The words of [`write_intents`]'s utterances.
const WORDS: &str = "will it rain in tomorrow play some music please rate the book five stars set an alarm for am add to my list turn on lights paris oslo lima rome cairo jazz blues rock soul folk dune emma ulysses beloved hamlet";

/// 700 utterances over seven intents (as many as the SNIPS-shaped ONNX fixture has classes),
/// written as a CSV.
fn write_intents(path: &Path) {
    let mut text = String::from("text,label\n");
    let slots = [
        ["paris", "oslo", "lima", "rome", "cairo"],
        ["jazz", "blues", "rock", "soul", "folk"],
        ["dune", "emma", "ulysses", "beloved", "hamlet"],
    ];
    for i in 0..100 {
        let [city, song, book] = slots.map(|s| s[i % 5]);
        text += &format!("will it rain in {city} tomorrow,weather\n");
        text += &format!("play some {song} music please,music\n");
        text += &format!("rate the book {book} five stars,books\n");
        text += &format!("set an alarm for {} am,alarm\n", i % 12);
        text += &format!("add {song} to my list,playlist\n");
        text += &format!("turn on the lights in {city},lights\n");
        text += &format!("book {book} in {city},travel\n");
    }
    std::fs::write(path, text).unwrap();
}

fn fails(args: &[&str], needles: &[&str]) {
    common::qfront_fails(args, 1, needles);
}

#[test]
fn a_vocabulary_layer_list_trains_exports_and_evaluates() {
    let dir = temp_dir("layers");
    let data = dir.join("intents.csv");
    write_intents(&data);
    let model = dir.join("net.toml");
    std::fs::write(
        &model,
        r#"[model]
layers = [
  { type = "embedding", dim = 16, vocabulary = { min_count = 2 } },
  { type = "conv1d", channels = 24, kernel = 3 }, { type = "relu" },
  { type = "token_pool", mode = "max" },
  { type = "linear" },
]
"#,
    )
    .unwrap();
    let (qfm, checkpoint) = (dir.join("net.qfm"), dir.join("ckpt"));
    let trained = record(&qfront_ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--max-tokens",
        "8",
        "--epochs",
        "20",
        "--qfm",
        qfm.to_str().unwrap(),
        "--save",
        checkpoint.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(trained["runtime_agreement"], 1.0, "{trained}");
    assert!(
        trained["test_accuracy"].as_f64().unwrap() > 0.9,
        "{trained}"
    );
    // The model carries its words: the 3 templates' words and the 15 slot values.
    let file = qfront_rt::QfmFile::read(&qfm).unwrap();
    let qfront_rt::format::InputSpec::Tokens {
        words, vocabulary, ..
    } = &file.model.input
    else {
        panic!("a text model");
    };
    assert_eq!(words.len(), *vocabulary);
    assert_eq!(&words[..2], ["<pad>", "<unk>"]);
    for word in ["rain", "paris", "jazz", "music", "hamlet", "stars"] {
        assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
    }
    // The checkpoint re-exports the same file (the vocabulary is saved beside it).
    let exported = dir.join("exported.qfm");
    qfront_ok(&[
        "export",
        checkpoint.to_str().unwrap(),
        exported.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&qfm).unwrap(),
        std::fs::read(&exported).unwrap()
    );
    // Eval encodes the text with the model's own vocabulary.
    let eval = record(&qfront_ok(&[
        "eval",
        exported.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(
        eval["test_accuracy"], trained["runtime_test_accuracy"],
        "{eval}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_imported_text_model_takes_its_vocabulary() {
    let dir = temp_dir("onnx");
    let data = dir.join("intents.csv");
    write_intents(&data);
    // text_max.onnx has 1025 embedding rows: the vocabulary has one token per row.
    let mut tokens: Vec<String> = vec!["<pad>".into(), "<unk>".into()];
    tokens.extend(WORDS.split(' ').map(String::from));
    while tokens.len() < 1025 {
        tokens.push(format!("filler{}", tokens.len()));
    }
    let vocabulary = dir.join("vocab.txt");
    std::fs::write(&vocabulary, tokens.join("\n") + "\n").unwrap();
    let model = text_fixture();
    let train = |vocabulary: &Path, extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "train",
            "--data",
            data.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--vocabulary",
            vocabulary.to_str().unwrap(),
            "--max-tokens",
            "12",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let qfm = dir.join("text.qfm");
    let args = train(
        &vocabulary,
        &[
            "--epochs",
            "20",
            "--qfm",
            qfm.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let trained = record(&qfront_ok(&args));
    assert_eq!(trained["runtime_agreement"], 1.0, "{trained}");
    assert!(
        trained["test_accuracy"].as_f64().unwrap() > 0.9,
        "{trained}"
    );
    let file = qfront_rt::QfmFile::read(&qfm).unwrap();
    let qfront_rt::format::InputSpec::Tokens { words, .. } = &file.model.input else {
        panic!("a text model");
    };
    assert_eq!(words, &tokens);

    // A vocabulary of the wrong size, without an unknown row, or not starting with padding.
    let check = |name: &str, lines: &[&str], needles: &[&str]| {
        let path = dir.join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        let args = train(&path, &["--epochs", "1"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, needles);
    };
    check(
        "small.txt",
        &["<pad>", "<unk>", "rain"],
        &["small.txt", "3 tokens", "1025 rows"],
    );
    check(
        "no-unk.txt",
        &["<pad>", "rain"],
        &["no-unk.txt", "unknown-word token"],
    );
    check(
        "no-pad.txt",
        &["rain", "<unk>"],
        &["no-pad.txt", "row 0 is 'rain'"],
    );
    check(
        "twice.txt",
        &["<pad>", "<unk>", "rain", "rain"],
        &["'rain' is both row 2 and row 3"],
    );
    fails(
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--vocabulary",
            dir.join("missing.txt").to_str().unwrap(),
        ],
        &["missing.txt"],
    );
    fails(
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--vocabulary",
            vocabulary.to_str().unwrap(),
        ],
        &["--vocabulary", "nlu"],
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Studies find their vocabulary files relative to the study file: an inline layer list
/// naming one, and an imported ONNX model given its word list (`[model] file`, `vocabulary`).
#[test]
fn studies_read_vocabularies_relative_to_the_study_file() {
    let dir = temp_dir("study");
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    write_intents(&project.join("intents.csv"));
    let mut tokens: Vec<String> = vec!["<pad>".into(), "<unk>".into()];
    tokens.extend(WORDS.split(' ').map(String::from));
    std::fs::write(project.join("words.txt"), tokens.join("\n")).unwrap();
    while tokens.len() < 1025 {
        tokens.push(format!("filler{}", tokens.len()));
    }
    std::fs::write(project.join("vocab1025.txt"), tokens.join("\n")).unwrap();
    std::fs::copy(text_fixture(), project.join("text.onnx")).unwrap();
    let common = r#"
family = "layers"
objectives = ["accuracy", "-size_kb"]
optimizer = "sobol"
budget = 2
[dataset]
path = "intents.csv"
[fixed]
epochs = 3
max_tokens = 12
[[parameter]]
name = "wbits"
type = "ordered"
values = [2, 4]
"#;
    let studies = [
        (
            "inline",
            r#"[model]
layers = [
  { type = "embedding", dim = 16, vocabulary = "words.txt" },
  { type = "conv1d", channels = 16, kernel = 3 }, { type = "relu" },
  { type = "token_pool", mode = "max" },
  { type = "linear" },
]"#,
            2 + WORDS.split(' ').count(),
        ),
        (
            "onnx",
            "[model]\nfile = \"text.onnx\"\nvocabulary = \"vocab1025.txt\"",
            1025,
        ),
    ];
    let elsewhere = temp_dir("elsewhere");
    for (name, model, rows) in studies {
        let config = project.join(format!("{name}.toml"));
        std::fs::write(&config, format!("name = \"{name}\"\n{common}{model}\n")).unwrap();
        let runs = dir.join(name);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qfront"))
            .current_dir(&elsewhere)
            .env("RUST_LOG", "warn")
            .args([
                "search",
                "--config",
                config.to_str().unwrap(),
                "--dir",
                runs.to_str().unwrap(),
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = qfront_rt::QfmFile::read(&runs.join("trials/0/model.qfm")).unwrap();
        let qfront_rt::format::InputSpec::Tokens { words, .. } = &file.model.input else {
            panic!("a text model");
        };
        assert_eq!(words.len(), rows, "{name}");
        assert_eq!(words[..], tokens[..rows], "{name}");
    }
    std::fs::remove_dir_all(dir).ok();
}
