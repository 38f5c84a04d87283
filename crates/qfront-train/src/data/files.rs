//! The user's own dataset: reads the training source and the validation and test sources (or
//! splits them off the training source with seeded fractions, [`super::SPLIT_SEED`]), checks
//! labels and shapes across splits, and normalises images with statistics of the training
//! split alone.

use super::csv_text::read_csv;
use super::dataset::{Dataset, InputNormalization};
use super::image_folder::{read_image_folder, ImageGeometry};
use super::jsonl_text::read_jsonl;
use super::labels::LabelSet;
use super::numpy::{read_arrays, ImageArrays, Pixels};
use super::rows::{split_sizes, Rows};
use super::source::{FileDataset, FileFormat};
use super::text_sink::TextSink;
use super::token_encoder::TextEncoding;
use crate::spec::InputShape;
use crate::{Result, TrainError};
use std::collections::BTreeSet;
use std::path::Path;

/// Loads `spec` (text sources encoded with `encoding`).
pub fn load_files(spec: &FileDataset, encoding: &TextEncoding) -> Result<Dataset> {
    spec.validate()?;
    let format = spec.resolved_format()?;
    for (path, flag) in [(&spec.validation, "validation"), (&spec.test, "test")] {
        if let Some(path) = path {
            let other = FileFormat::infer(path).ok();
            if other.is_some_and(|o| o.is_text() != format.is_text()) {
                return Err(TrainError::config(
                    flag,
                    format!(
                        "{} holds {} but the training data {} holds {}",
                        path.display(),
                        if format.is_text() { "images" } else { "text" },
                        spec.path.display(),
                        if format.is_text() { "text" } else { "images" }
                    ),
                ));
            }
        }
    }
    let dataset = match format {
        FileFormat::Csv | FileFormat::Tsv | FileFormat::Jsonl => load_text(spec, format, encoding)?,
        FileFormat::ImageFolder => load_folders(spec)?,
        FileFormat::Npz | FileFormat::Npy => load_arrays(spec)?,
    };
    check_splits(spec, &dataset)?;
    Ok(dataset)
}

/// The validation and test rows: each from its own file when the spec names one, else split
/// off `train` with the seeded fractions (validation always; test only when neither file is
/// named), else none.
fn other_splits<T: Copy>(
    spec: &FileDataset,
    train: &mut Rows<T>,
    mut read: impl FnMut(&Path) -> Result<Rows<T>>,
) -> Result<(Rows<T>, Rows<T>)> {
    let (split_val, split_test) = split_single_source(spec, train);
    let val = match (&spec.validation, split_val) {
        (Some(path), _) => read(path)?,
        (None, Some(rows)) => rows,
        (None, None) => unreachable!("validation is split off when no file gives it"),
    };
    let test = match (&spec.test, split_test) {
        (Some(path), _) => read(path)?,
        (None, Some(rows)) => rows,
        (None, None) => Rows::new(train.width),
    };
    Ok((val, test))
}

/// Splits off validation (and test) rows when no file gives them.
fn split_single_source<T: Copy>(
    spec: &FileDataset,
    train: &mut Rows<T>,
) -> (Option<Rows<T>>, Option<Rows<T>>) {
    let want_validation = spec.validation.is_none();
    let want_test = spec.validation.is_none() && spec.test.is_none();
    if !want_validation {
        return (None, None);
    }
    let (validation, test) = split_sizes(
        train.len(),
        spec.validation_fraction,
        if want_test { spec.test_fraction } else { 0.0 },
    );
    let (val, tst) = train.split_off(validation, test, super::SPLIT_SEED);
    (
        Some(val),
        if want_test && test > 0 {
            Some(tst)
        } else {
            None
        },
    )
}

fn load_text(spec: &FileDataset, format: FileFormat, encoding: &TextEncoding) -> Result<Dataset> {
    let mut labels = LabelSet::new();
    let mut skipped = 0;
    let mut encoder = encoding.encoder();
    let mut read = |path: &Path, labels: &mut LabelSet| -> Result<Rows<i64>> {
        let mut sink = TextSink::new(path, &spec.path, &mut encoder, labels, spec.skip_bad_rows);
        match format {
            FileFormat::Jsonl => {
                read_jsonl(path, &spec.text_column, &spec.label_column, &mut sink)?
            }
            FileFormat::Tsv => read_csv(
                path,
                b'\t',
                &spec.text_column,
                &spec.label_column,
                &mut sink,
            )?,
            _ => read_csv(path, b',', &spec.text_column, &spec.label_column, &mut sink)?,
        }
        if sink.skipped > 0 {
            tracing::warn!(path = %path.display(), skipped = sink.skipped, "dropped bad rows (--skip-bad-rows)");
        }
        skipped += sink.skipped;
        Ok(sink.rows)
    };
    let mut train = read(&spec.path, &mut labels)?;
    labels.freeze();
    let (mut val, mut test) = other_splits(spec, &mut train, |path| read(path, &mut labels))?;
    let space = encoder.finish(&mut train.values, &mut [&mut val.values, &mut test.values]);
    Ok(Dataset {
        name: spec.path.display().to_string(),
        classes: labels.into_names(),
        train: train.into_token_split(),
        val: val.into_token_split(),
        test: test.into_token_split(),
        input: InputShape::Tokens {
            max_tokens: encoding.max_tokens(),
            vocabulary: space.rows,
        },
        pixel_scale: None,
        normalization: None,
        skipped_rows: skipped,
        vocabulary: space.vocabulary,
    })
}

fn load_folders(spec: &FileDataset) -> Result<Dataset> {
    let mut labels = LabelSet::new();
    let declared = ImageGeometry {
        channels: spec.channels,
        size: spec.image_size,
        resize: spec.image_size.is_some(),
    };
    let train = read_image_folder(&spec.path, &spec.path, &mut labels, declared)?;
    labels.freeze();
    let [channels, height, width] = train.shape;
    let geometry = ImageGeometry {
        channels: Some(channels),
        size: Some([height, width]),
        resize: declared.resize,
    };
    let mut ignored = train.ignored_files;
    let mut train_rows = train.rows;
    let read = |path: &Path| -> Result<Rows<f32>> {
        let images = read_image_folder(path, &spec.path, &mut labels, geometry)?;
        ignored += images.ignored_files;
        Ok(images.rows)
    };
    let (val, test) = other_splits(spec, &mut train_rows, read)?;
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "files in the image folders that are not PNG/JPEG/PGM images were left out"
        );
    }
    Ok(Dataset {
        name: spec.path.display().to_string(),
        classes: labels.into_names(),
        train: train_rows.into_image_split(train.shape),
        val: val.into_image_split(train.shape),
        test: test.into_image_split(train.shape),
        input: InputShape::Image {
            channels,
            height,
            width,
        },
        pixel_scale: Some(1.0 / 255.0),
        normalization: None,
        skipped_rows: 0,
        vocabulary: None,
    })
}

/// Channels-last pixels as planar `[channels, height, width]` rows (raw values).
fn planar_rows(arrays: &ImageArrays, classes: &[u64], path: &Path) -> Result<Rows<f32>> {
    let [h, w, c] = arrays.image;
    let per = h * w * c;
    let mut rows = Rows::new(per);
    rows.values.resize(arrays.labels.len() * per, 0.0);
    let plane = h * w;
    let value = |i: usize| match &arrays.pixels {
        Pixels::U8(v) => v[i] as f32,
        Pixels::F32(v) => v[i],
    };
    for (n, out) in rows.values.chunks_mut(per).enumerate() {
        for p in 0..plane {
            for ch in 0..c {
                out[ch * plane + p] = value(n * per + p * c + ch);
            }
        }
    }
    for (i, label) in arrays.labels.iter().enumerate() {
        match classes.binary_search(label) {
            Ok(class) => rows.labels.push(class),
            Err(_) => {
                return Err(TrainError::bad_entry(
                    path,
                    format!("label {i}"),
                    format!("is {label}, a class the training data never has; add training examples of it or remove the image"),
                ))
            }
        }
    }
    Ok(rows)
}

fn load_arrays(spec: &FileDataset) -> Result<Dataset> {
    let train = read_arrays(&spec.path)?;
    let [height, width, channels] = train.image;
    if let Some([h, w]) = spec.image_size {
        if [h, w] != [height, width] {
            return Err(TrainError::bad_entry(
                &spec.path,
                "array 'x'",
                format!("holds {height}x{width} images but image_size is {h}x{w}; arrays are not resized, so drop image_size or resize the arrays"),
            ));
        }
    }
    if spec.channels.is_some_and(|c| c != channels) {
        return Err(TrainError::bad_entry(
            &spec.path,
            "array 'x'",
            format!(
                "holds {channels}-channel images but channels is {}",
                spec.channels.unwrap_or(0)
            ),
        ));
    }
    let classes: Vec<u64> = train
        .labels
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let floats = matches!(train.pixels, Pixels::F32(_));
    let mut train_rows = planar_rows(&train, &classes, &spec.path)?;
    drop(train);
    let read = |path: &Path| -> Result<Rows<f32>> {
        let arrays = read_arrays(path)?;
        if arrays.image != [height, width, channels] {
            return Err(TrainError::bad_entry(
                path,
                "array 'x'",
                format!(
                    "holds {:?} (H, W, C) images but the training data holds {:?}",
                    arrays.image,
                    [height, width, channels]
                ),
            ));
        }
        if matches!(arrays.pixels, Pixels::F32(_)) != floats {
            return Err(TrainError::bad_entry(
                path,
                "array 'x'",
                "has another dtype than the training data's 'x'; use one dtype for every split",
            ));
        }
        planar_rows(&arrays, &classes, path)
    };
    let (mut val, mut test) = other_splits(spec, &mut train_rows, read)?;
    let normalization = if floats {
        let norm = InputNormalization::fit(&train_rows.values).ok_or_else(|| {
            TrainError::bad_entry(
                &spec.path,
                "array 'x'",
                "every training pixel has the same value; there is nothing to learn from",
            )
        })?;
        for rows in [&mut train_rows, &mut val, &mut test] {
            norm.apply(&mut rows.values);
        }
        Some(norm)
    } else {
        for rows in [&mut train_rows, &mut val, &mut test] {
            rows.values.iter_mut().for_each(|v| *v /= 255.0);
        }
        None
    };
    let shape = [channels, height, width];
    Ok(Dataset {
        name: spec.path.display().to_string(),
        classes: classes.iter().map(|c| c.to_string()).collect(),
        train: train_rows.into_image_split(shape),
        val: val.into_image_split(shape),
        test: test.into_image_split(shape),
        input: InputShape::Image {
            channels,
            height,
            width,
        },
        pixel_scale: Some(1.0 / 255.0),
        normalization,
        skipped_rows: 0,
        vocabulary: None,
    })
}

/// At least two classes, and non-empty training and validation splits.
fn check_splits(spec: &FileDataset, data: &Dataset) -> Result<()> {
    match data.classes.len() {
        0 => {
            return Err(TrainError::bad_entry(
                &spec.path,
                "the data",
                "holds no usable example",
            ));
        }
        1 => {
            return Err(TrainError::bad_entry(
                &spec.path,
                "the labels",
                format!(
                    "name a single class ('{}'); a classifier needs at least two",
                    data.classes[0]
                ),
            ))
        }
        _ => {}
    }
    if data.train.is_empty() {
        return Err(TrainError::bad_entry(
            &spec.path,
            "the training split",
            "is empty after splitting; give more examples",
        ));
    }
    if data.val.is_empty() {
        let path = spec.validation.as_deref().unwrap_or(&spec.path);
        return Err(TrainError::bad_entry(
            path,
            "the validation split",
            "is empty; a search optimises validation accuracy, so give it examples",
        ));
    }
    let seen: BTreeSet<usize> = data.train.labels.iter().copied().collect();
    if seen.len() < data.classes.len() {
        let missing: Vec<&str> = (0..data.classes.len())
            .filter(|c| !seen.contains(c))
            .map(|c| data.classes[c].as_str())
            .take(5)
            .collect();
        tracing::warn!(classes = ?missing, "some classes have no training example after the split (too few examples of them)");
    }
    Ok(())
}
