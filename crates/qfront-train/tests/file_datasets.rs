//! The user's own data: CSV/TSV/JSON Lines text, image class folders and NumPy arrays, with
//! their splits, label sets, normalisation and every bad input the loaders must name.

use npyz::WriterBuilder;
use qfront_train::data::token_encoder::{TextEncoding, VocabularyPlan};
use qfront_train::data::tokenizer::HashingTokenizer;
use qfront_train::data::{DataOptions, Dataset, DatasetSource, Features, FileDataset, FileFormat};
use std::io::Write;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qfront-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn load(files: FileDataset) -> qfront_train::Result<Dataset> {
    Dataset::from_source(
        &DatasetSource::Files(Box::new(files)),
        &DataOptions::default(),
    )
}

fn error(files: FileDataset) -> String {
    load(files).unwrap_err().to_string()
}

fn tokens(split: &qfront_train::data::Split) -> Vec<Vec<i64>> {
    match &split.features {
        Features::Tokens { ids, max_tokens } => {
            ids.chunks(*max_tokens).map(|c| c.to_vec()).collect()
        }
        Features::Images { .. } => panic!("text expected"),
    }
}

fn pixels(split: &qfront_train::data::Split) -> (&[f32], [usize; 3]) {
    match &split.features {
        Features::Images { pixels, shape } => (pixels, *shape),
        Features::Tokens { .. } => panic!("images expected"),
    }
}

/// 40 utterances over three intents, labels in first-seen order weather, music, books.
fn intents_csv() -> String {
    let mut text = String::from("id,utterance,intent\n");
    for i in 0..40 {
        let (utterance, intent) = match i % 3 {
            0 => (format!("will it rain in city {i} tomorrow"), "weather"),
            1 => (format!("play song number {i} loud"), "music"),
            _ => (format!("rate book {i} five stars"), "books"),
        };
        text += &format!("{i},\"{utterance}\",{intent}\n");
    }
    text
}

#[test]
fn csv_single_source_splits_by_seeded_fractions_and_keeps_first_seen_labels() {
    let dir = temp_dir("csv-split");
    let path = dir.join("intents.csv");
    write(&path, &intents_csv());
    let mut files = FileDataset::new(&path);
    files.text_column = "utterance".into();
    files.label_column = "intent".into();
    let data = load(files.clone()).unwrap();
    assert_eq!(data.classes, vec!["weather", "music", "books"]);
    assert_eq!(
        (data.train.len(), data.val.len(), data.test.len()),
        (32, 4, 4)
    );
    // Every row is in exactly one split, tokenized as the tokenizer does.
    let tokenizer = HashingTokenizer::default();
    let mut all: Vec<(Vec<i64>, usize)> = Vec::new();
    for split in [&data.train, &data.val, &data.test] {
        all.extend(tokens(split).into_iter().zip(split.labels.iter().copied()));
    }
    let mut expected: Vec<(Vec<i64>, usize)> = (0..40)
        .map(|i| {
            let (u, l) = match i % 3 {
                0 => (format!("will it rain in city {i} tomorrow"), 0),
                1 => (format!("play song number {i} loud"), 1),
                _ => (format!("rate book {i} five stars"), 2),
            };
            (tokenizer.encode(&u), l)
        })
        .collect();
    all.sort();
    expected.sort();
    assert_eq!(all, expected);
    // The split is fixed by SPLIT_SEED, not by the training seed: loading again is identical.
    let again = load(files).unwrap();
    assert_eq!(tokens(&again.val), tokens(&data.val));
}

/// A vocabulary built from a single source is the words seen at least `min_count` times in
/// the training rows, most frequent first; held-out rows use the same ids.
#[test]
fn a_vocabulary_is_built_from_the_training_split_only() {
    let dir = temp_dir("csv-vocabulary");
    let path = dir.join("intents.csv");
    let mut text = String::from("text,label\n");
    for i in 0..60 {
        text += &format!(
            "play song {} loud,music\nrain in city {} today,weather\n",
            i % 7,
            i % 5
        );
    }
    write(&path, &text);
    let files = FileDataset::new(&path);
    let build = qfront_train::data::vocabulary::VocabularyBuild {
        min_count: 2,
        max_words: 100,
    };
    let options = DataOptions {
        text: TextEncoding::Vocabulary {
            max_tokens: 8,
            vocabulary: VocabularyPlan::Build(build),
        },
        ..DataOptions::default()
    };
    let data = Dataset::from_source(&DatasetSource::Files(Box::new(files)), &options).unwrap();
    let vocabulary = data.vocabulary.clone().expect("a vocabulary");
    assert_eq!(
        data.input,
        qfront_train::spec::InputShape::Tokens {
            max_tokens: 8,
            vocabulary: vocabulary.len()
        }
    );
    // Count each word over the training rows by hand: the vocabulary is exactly the words
    // seen twice or more, most frequent first.
    let words = vocabulary.words();
    assert_eq!(&words[..2], ["<pad>", "<unk>"]);
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for row in tokens(&data.train) {
        for id in row.into_iter().filter(|&id| id > 1) {
            *counts.entry(words[id as usize].clone()).or_default() += 1;
        }
    }
    assert_eq!(
        counts.len(),
        words.len() - 2,
        "every vocabulary word occurs in training"
    );
    assert!(counts.values().all(|&c| c >= 2));
    let frequency: Vec<usize> = words[2..].iter().map(|w| counts[w]).collect();
    assert!(frequency.windows(2).all(|p| p[0] >= p[1]), "{frequency:?}");
    for w in ["play", "song", "loud", "rain", "in", "city", "today"] {
        assert!(words.iter().any(|v| v == w), "{w}");
    }
    // Validation and test rows use the same ids (decoded back, they are real words or unk).
    for split in [&data.val, &data.test] {
        for row in tokens(split) {
            assert!(row.iter().all(|&id| (id as usize) < words.len()));
            assert!(row[0] > 1, "'play' and 'rain' are in the vocabulary");
        }
    }
}

#[test]
fn tsv_and_jsonl_with_separate_validation_and_integer_labels() {
    let dir = temp_dir("tsv-jsonl");
    let train = dir.join("train.tsv");
    write(
        &train,
        "text\tlabel\nhello there\t7\ngood bye\t3\nhi again\t7\nsee you\t3\n",
    );
    let val = dir.join("val.tsv");
    write(&val, "text\tlabel\nhello\t7\nbye\t3\n");
    let mut files = FileDataset::new(&train);
    files.validation = Some(val);
    let data = load(files).unwrap();
    assert_eq!(data.classes, vec!["7", "3"]);
    assert_eq!(
        (data.train.len(), data.val.len(), data.test.len()),
        (4, 2, 0)
    );
    assert_eq!(data.val.labels, vec![0, 1]);

    let jsonl = dir.join("train.jsonl");
    write(
        &jsonl,
        "{\"text\": \"turn on the lights\", \"label\": 1}\n\n{\"text\": \"what time is it\", \"label\": \"clock\"}\n{\"text\": \"lights off\", \"label\": 1}\n",
    );
    let mut files = FileDataset::new(&jsonl);
    files.validation = Some(jsonl.clone());
    let data = load(files).unwrap();
    assert_eq!(data.classes, vec!["1", "clock"]);
    assert_eq!(data.train.labels, vec![0, 1, 0]);
    assert_eq!(
        tokens(&data.train)[0],
        HashingTokenizer::default().encode("turn on the lights")
    );
}

#[test]
fn bad_text_rows_name_the_file_the_line_and_the_fix() {
    let dir = temp_dir("bad-text");
    let train = dir.join("train.csv");
    write(&train, "text,label\nplay jazz,music\nrain today,weather\n");
    let case = |name: &str, text: &str| -> FileDataset {
        let val = dir.join(name);
        write(&val, text);
        let mut files = FileDataset::new(&train);
        files.validation = Some(val);
        files
    };
    let message = error(case(
        "unseen.csv",
        "text,label\nplay rock,music\nbuy milk,shopping\n",
    ));
    assert!(
        message.contains("unseen.csv, line 3")
            && message.contains("'shopping'")
            && message.contains("train.csv"),
        "{message}"
    );
    let message = error(case("short.csv", "text,label\nplay rock\n"));
    assert!(
        message.contains("line 2") && message.contains("no 'label' value"),
        "{message}"
    );
    let message = error(case("empty.csv", "text,label\n  ...  ,music\n"));
    assert!(
        message.contains("line 2") && message.contains("empty"),
        "{message}"
    );
    let message = error(case("nolabel.csv", "text,label\nplay rock,\n"));
    assert!(
        message.contains("line 2") && message.contains("label is empty"),
        "{message}"
    );
    let message = error(case("header.csv", "utterance,label\nplay rock,music\n"));
    assert!(
        message.contains("no column named 'text'")
            && message.contains("utterance, label")
            && message.contains("--text-column"),
        "{message}"
    );
    // With skip_bad_rows the bad rows are dropped and counted.
    let mut files = case(
        "mixed.csv",
        "text,label\nplay rock,music\nbuy milk,shopping\nplay rock\n,music\nrain,weather\n",
    );
    files.skip_bad_rows = true;
    let data = load(files).unwrap();
    assert_eq!((data.val.len(), data.skipped_rows), (2, 3));

    let jsonl = dir.join("bad.jsonl");
    write(&jsonl, "{\"text\": \"a b\", \"label\": \"x\"}\n[1, 2]\n");
    let message = error(FileDataset::new(&jsonl));
    assert!(
        message.contains("bad.jsonl, line 2") && message.contains("not a JSON object"),
        "{message}"
    );
    write(&jsonl, "{\"text\": \"a b\", \"label\": 1.5}\n");
    let message = error(FileDataset::new(&jsonl));
    assert!(
        message.contains("line 1") && message.contains("1.5"),
        "{message}"
    );

    let single = dir.join("single.csv");
    write(&single, "text,label\na b,only\nc d,only\ne f,only\n");
    let message = error(FileDataset::new(&single));
    assert!(message.contains("single class ('only')"), "{message}");

    let message = error(FileDataset::new(dir.join("missing.csv")));
    assert!(
        message.contains("missing.csv") && message.contains("not found"),
        "{message}"
    );
    let message = error(FileDataset::new(dir.join("data.parquet")));
    assert!(message.contains("data.parquet"), "{message}");
}

fn save_grey_png(path: &Path, height: u32, width: u32, value: impl Fn(u32, u32) -> u8) {
    let image = image::GrayImage::from_fn(width, height, |x, y| image::Luma([value(x, y)]));
    image.save(path).unwrap();
}

#[test]
fn image_folders_read_pixels_on_the_255_grid_and_check_sizes() {
    let root = temp_dir("images");
    let train = root.join("train");
    for (class, base) in [("cat", 10u8), ("dog", 200u8)] {
        std::fs::create_dir_all(train.join(class)).unwrap();
        for i in 0..5u8 {
            save_grey_png(&train.join(class).join(format!("{i}.png")), 4, 3, |x, y| {
                base + i + (x + 3 * y) as u8
            });
        }
    }
    std::fs::write(train.join("cat").join("notes.txt"), "not an image").unwrap();
    let mut files = FileDataset::new(&train);
    files.validation = Some(train.clone());
    let data = load(files.clone()).unwrap();
    assert_eq!(data.classes, vec!["cat", "dog"]);
    assert_eq!(
        data.input,
        qfront_train::spec::InputShape::Image {
            channels: 1,
            height: 4,
            width: 3
        }
    );
    assert_eq!(data.pixel_scale, Some(1.0 / 255.0));
    let (px, shape) = pixels(&data.train);
    assert_eq!(shape, [1, 4, 3]);
    // cat/0.png, row 1 column 2: 10 + 0 + (2 + 3) = 15.
    assert_eq!(px[3 + 2], 15.0 / 255.0);
    assert_eq!(data.train.labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);

    // A differently-sized image is refused unless a size is declared.
    save_grey_png(&train.join("dog").join("big.png"), 8, 6, |_, _| 255);
    let message = error(files.clone());
    assert!(
        message.contains("big.png") && message.contains("8x6") && message.contains("--image-size"),
        "{message}"
    );
    files.image_size = Some([4, 3]);
    let data = load(files.clone()).unwrap();
    assert_eq!(data.train.len(), 11);
    let (px, _) = pixels(&data.train);
    assert!(
        px[10 * 12..11 * 12].iter().all(|&v| v == 1.0),
        "a white 8x6 image resizes to white"
    );
    files.image_size = None;
    std::fs::remove_file(train.join("dog").join("big.png")).unwrap();

    // RGB on request: three planes.
    files.channels = Some(3);
    let data = load(files.clone()).unwrap();
    let (px, shape) = pixels(&data.train);
    assert_eq!(shape, [3, 4, 3]);
    assert_eq!(px[..12], px[12..24]);
    files.channels = None;

    // Bad folders.
    std::fs::create_dir_all(train.join("empty")).unwrap();
    let message = error(files.clone());
    assert!(
        message.contains("class folder 'empty'") && message.contains("no images"),
        "{message}"
    );
    std::fs::remove_dir_all(train.join("empty")).unwrap();
    std::fs::write(
        train.join("cat").join("broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    let message = error(files.clone());
    assert!(
        message.contains("broken.png") && message.contains("cannot be decoded"),
        "{message}"
    );
    std::fs::remove_file(train.join("cat").join("broken.png")).unwrap();
    let val = root.join("val");
    std::fs::create_dir_all(val.join("bird")).unwrap();
    save_grey_png(&val.join("bird").join("0.pgm"), 4, 3, |_, _| 0);
    files.validation = Some(val);
    let message = error(files);
    assert!(
        message.contains("class folder 'bird'") && message.contains("no class 'bird'"),
        "{message}"
    );
}

/// Writes a `.npy` array into a zip member or a file.
fn npy_bytes<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    shape: &[u64],
    values: &[T],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut out)
        .begin_nd()
        .unwrap();
    writer.extend(values.iter().copied()).unwrap();
    writer.finish().unwrap();
    out
}

fn write_npz(path: &Path, members: &[(&str, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    for (name, bytes) in members {
        zip.start_file(
            format!("{name}.npy"),
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn npz_and_npy_arrays_transpose_channels_and_normalise_on_training_data() {
    let dir = temp_dir("npz");
    // 10 RGB images of 2x2, channels last; pixel (n, p, c) = n*12 + p*3 + c.
    let n = 10usize;
    let x: Vec<u8> = (0..n * 12).map(|v| v as u8).collect();
    let y: Vec<i64> = (0..n as i64).map(|i| [4, 9][i as usize % 2]).collect();
    let path = dir.join("train.npz");
    write_npz(
        &path,
        &[
            ("x", npy_bytes(&[n as u64, 2, 2, 3], &x)),
            ("y", npy_bytes(&[n as u64], &y)),
        ],
    );
    let mut files = FileDataset::new(&path);
    files.validation = Some(path.clone());
    assert_eq!(files.resolved_format().unwrap(), FileFormat::Npz);
    let data = load(files).unwrap();
    assert_eq!(data.classes, vec!["4", "9"]);
    let (px, shape) = pixels(&data.train);
    assert_eq!(shape, [3, 2, 2]);
    // Image 1, channel 2, pixel 3: 12 + 9 + 2 = 23, planar index 2*4 + 3.
    assert_eq!(px[12 + 2 * 4 + 3], 23.0 / 255.0);
    assert_eq!(data.train.labels[..4], [0, 1, 0, 1]);

    // Float arrays: min/max of the training split map onto [0, 1], on the 1/255 grid; the
    // validation file's values outside that range are clamped.
    let folder = dir.join("float");
    std::fs::create_dir_all(&folder).unwrap();
    let xf: Vec<f32> = (0..n * 4).map(|v| -1.0 + v as f32 * 0.05).collect();
    std::fs::write(folder.join("x.npy"), npy_bytes(&[n as u64, 2, 2], &xf)).unwrap();
    std::fs::write(folder.join("y.npy"), npy_bytes(&[n as u64], &y)).unwrap();
    let val = dir.join("val");
    std::fs::create_dir_all(&val).unwrap();
    std::fs::write(
        val.join("x.npy"),
        npy_bytes(
            &[2, 2, 2],
            &[-5.0f32, -1.0, 0.0, 0.95, 1.0, 9.0, -1.0, -1.0],
        ),
    )
    .unwrap();
    std::fs::write(val.join("y.npy"), npy_bytes(&[2], &[4i64, 9])).unwrap();
    let mut files = FileDataset::new(&folder);
    files.validation = Some(val.clone());
    let data = load(files.clone()).unwrap();
    let norm = data.normalization.unwrap();
    assert_eq!((norm.min, norm.max), (-1.0, -1.0 + 39.0 * 0.05));
    let (px, _) = pixels(&data.val);
    let expect = |v: f32| {
        ((255.0 * (v - norm.min) / (norm.max - norm.min))
            .round()
            .clamp(0.0, 255.0))
            / 255.0
    };
    assert_eq!(px[0], 0.0);
    assert_eq!(px[3], expect(0.95));
    assert_eq!(px[5], 1.0);

    // Bad arrays.
    write_npz(&path, &[("x", npy_bytes(&[n as u64, 2, 2, 3], &x))]);
    let message = error(FileDataset::new(&path));
    assert!(
        message.contains("array 'y'") && message.contains("missing"),
        "{message}"
    );
    write_npz(
        &path,
        &[
            ("x", npy_bytes(&[n as u64, 2, 2, 3], &x)),
            ("y", npy_bytes(&[3], &[1i64, 2, 3])),
        ],
    );
    let message = error(FileDataset::new(&path));
    assert!(
        message.contains("array 'y'") && message.contains("10 images"),
        "{message}"
    );
    write_npz(
        &path,
        &[
            ("x", npy_bytes(&[n as u64, 12], &x)),
            ("y", npy_bytes(&[n as u64], &y)),
        ],
    );
    let message = error(FileDataset::new(&path));
    assert!(
        message.contains("array 'x'") && message.contains("N×H×W"),
        "{message}"
    );
    std::fs::write(val.join("y.npy"), npy_bytes(&[2], &[4i64, 5])).unwrap();
    let message = error(files);
    assert!(
        message.contains("label 1") && message.contains("is 5"),
        "{message}"
    );
    std::fs::write(&path, b"PK\x03\x04 truncated").unwrap();
    let message = error(FileDataset::new(&path));
    assert!(
        message.contains("train.npz") && message.contains(".npz"),
        "{message}"
    );
}

#[test]
fn dataset_tables_parse_from_toml_and_refuse_unknown_keys() {
    #[derive(serde::Deserialize)]
    struct Holder {
        dataset: DatasetSource,
    }
    let parsed: Holder = toml::from_str("dataset = \"snips\"").unwrap();
    assert_eq!(
        parsed.dataset,
        DatasetSource::Builtin(qfront_train::data::DatasetName::Snips)
    );
    let parsed: Holder = toml::from_str(
        "[dataset]\npath = \"a.csv\"\nimage_size = \"32x24\"\nchannels = 3\nvalidation_fraction = 0.2\n",
    )
    .unwrap();
    let DatasetSource::Files(files) = parsed.dataset else {
        panic!("a table")
    };
    assert_eq!(
        (files.image_size, files.channels, files.validation_fraction),
        (Some([32, 24]), Some(3), 0.2)
    );
    let wrong = toml::from_str::<Holder>("[dataset]\npath = \"a.csv\"\ncolumns = 3\n")
        .err()
        .unwrap();
    assert!(wrong.to_string().contains("columns"), "{wrong}");
    let wrong = toml::from_str::<Holder>("dataset = \"imagenet\"")
        .err()
        .unwrap();
    assert!(wrong.to_string().contains("imagenet"), "{wrong}");
}
