//! The `--data-dir` datasets, read from the shared data folder: sizes, classes and pixel
//! statistics against the figures their READMEs document (shared/data/*/README.md).
//!
//! The folder is `$QFRONT_DATA_DIR`, else `../shared/data` beside the repository. Where it is
//! absent (a clone without the shared data) each test prints why it skips and passes.

use qfront_train::data::{DataOptions, Dataset, DatasetName, Features};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QFRONT_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    dir.is_dir().then_some(dir)
}

fn load(name: DatasetName) -> Option<Dataset> {
    let Some(dir) = data_dir() else {
        eprintln!(
            "skipping {}: no shared data folder (set QFRONT_DATA_DIR)",
            name.name()
        );
        return None;
    };
    if !dir.join(name.name()).is_dir() {
        eprintln!(
            "skipping {}: {} has no such folder",
            name.name(),
            dir.display()
        );
        return None;
    }
    let options = DataOptions {
        data_dir: Some(dir),
        ..DataOptions::default()
    };
    Some(Dataset::load(name, &options).expect("the shared dataset loads"))
}

fn class_counts(labels: &[usize], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for &l in labels {
        counts[l] += 1;
    }
    counts
}

fn pixel_mean(features: &Features) -> f64 {
    match features {
        Features::Images { pixels, .. } => {
            pixels.iter().map(|&p| p as f64).sum::<f64>() / pixels.len() as f64
        }
        Features::Tokens { .. } => panic!("not an image set"),
    }
}

#[test]
fn mnist_matches_its_readme() {
    let Some(data) = load(DatasetName::Mnist) else {
        return;
    };
    assert_eq!(
        (data.train.len(), data.val.len(), data.test.len()),
        (55_000, 5_000, 10_000)
    );
    assert_eq!(
        class_counts(&data.test.labels, 10),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // README: test pixel mean 0.1325 (÷255).
    assert!((pixel_mean(&data.test.features) - 0.1325).abs() < 5e-4);
    // Train + val together are the 60,000 training images with the README's class counts.
    let mut all = data.train.labels.clone();
    all.extend(&data.val.labels);
    assert_eq!(
        class_counts(&all, 10),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
}

#[test]
fn fashion_mnist_is_balanced_like_its_readme() {
    let Some(data) = load(DatasetName::FashionMnist) else {
        return;
    };
    assert_eq!(
        (data.train.len(), data.val.len(), data.test.len()),
        (55_000, 5_000, 10_000)
    );
    assert_eq!(data.classes.len(), 10);
    assert_eq!(class_counts(&data.test.labels, 10), [1000; 10]);
    // README: test pixel mean 0.2868 (÷255).
    assert!((pixel_mean(&data.test.features) - 0.2868).abs() < 5e-4);
    let mut all = data.train.labels.clone();
    all.extend(&data.val.labels);
    assert_eq!(class_counts(&all, 10), [6000; 10]);
}

#[test]
fn text_sets_have_their_documented_sizes() {
    // (dataset, classes, train + val, test): the READMEs' tables.
    for (name, classes, train_and_val, test) in [
        (DatasetName::Hwu64, 64, 9_960, 1_076),
        (DatasetName::Banking77, 77, 10_003, 3_080),
        (DatasetName::Clinc150, 150, 15_000 + 3_000, 4_500),
    ] {
        let Some(data) = load(name) else {
            continue;
        };
        assert_eq!(data.classes.len(), classes, "{}", name.name());
        assert_eq!(
            data.train.len() + data.val.len(),
            train_and_val,
            "{}",
            name.name()
        );
        assert_eq!(data.test.len(), test, "{}", name.name());
        assert!(!data.val.is_empty(), "{}", name.name());
        // Every class is seen in training.
        assert!(
            class_counts(&data.train.labels, classes)
                .iter()
                .all(|&c| c > 0),
            "{}",
            name.name()
        );
    }
}
