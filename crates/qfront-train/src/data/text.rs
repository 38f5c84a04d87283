//! Intent datasets: utterances encoded ([`TextEncoding`]) into fixed-length id rows.
//!
//! * SNIPS (built in, CC0 original JSON): train on `train_<Intent>_full.json` less 100
//!   held-out utterances per intent (validation, seeded), test on the 700 `validate_*` ones.
//! * HWU64: `train/` and `test/` folders of `;`-separated CSV, one file per intent; 10% of
//!   train held out for validation.
//! * CLINC150: `data_full.json` in-scope `train`/`val`/`test` (out-of-scope rows ignored).
//! * Banking77: `train.csv`/`test.csv` (`text,category`); 10% of train held out.

use super::builtin::{display_path, read_builtin, SNIPS_INTENTS};
use super::dataset::{read_file, Dataset, DatasetName, Features, Split};
use super::split::hold_out;
use super::token_encoder::TextEncoding;
use crate::spec::InputShape;
use crate::{Result, TrainError};
use std::collections::BTreeMap;
use std::path::Path;

/// Utterances with string labels.
type Examples = Vec<(String, String)>;

fn malformed(what: &str, path: &Path, reason: impl ToString) -> TrainError {
    TrainError::MalformedData {
        what: what.into(),
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn build(
    name: DatasetName,
    source: &Path,
    train: Examples,
    val: Examples,
    test: Examples,
    encoding: &TextEncoding,
) -> Result<Dataset> {
    let mut classes: Vec<String> = train.iter().map(|(_, l)| l.clone()).collect();
    classes.sort();
    classes.dedup();
    let index: BTreeMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let max_tokens = encoding.max_tokens();
    let mut encoder = encoding.encoder();
    let mut encode = |examples: &Examples, split: &str| -> Result<(Vec<i64>, Vec<usize>)> {
        let mut ids = Vec::with_capacity(examples.len() * max_tokens);
        let mut labels = Vec::with_capacity(examples.len());
        for (text, label) in examples {
            let Some(&l) = index.get(label.as_str()) else {
                return Err(TrainError::MalformedData {
                    what: format!("{} {split} split", name.name()),
                    path: source.to_path_buf(),
                    reason: format!("label '{label}' does not occur in the training split"),
                });
            };
            encoder.encode_into(text, &mut ids);
            labels.push(l);
        }
        Ok((ids, labels))
    };
    let (mut train, mut val, mut test) = (
        encode(&train, "train")?,
        encode(&val, "validation")?,
        encode(&test, "test")?,
    );
    let space = encoder.finish(&mut train.0, &mut [&mut val.0, &mut test.0]);
    let split = |(ids, labels): (Vec<i64>, Vec<usize>)| Split {
        features: Features::Tokens { ids, max_tokens },
        labels,
    };
    let (train, val, test) = (split(train), split(val), split(test));
    Ok(Dataset {
        name: name.name().into(),
        classes,
        train,
        val,
        test,
        input: InputShape::Tokens {
            max_tokens,
            vocabulary: space.rows,
        },
        pixel_scale: None,
        normalization: None,
        skipped_rows: 0,
        vocabulary: space.vocabulary,
    })
}

fn split_off(examples: Examples, fraction: f64) -> (Examples, Examples) {
    let held = (examples.len() as f64 * fraction).round() as usize;
    let (kept, out) = hold_out(examples.len(), held, super::SPLIT_SEED);
    (
        kept.iter().map(|&i| examples[i].clone()).collect(),
        out.iter().map(|&i| examples[i].clone()).collect(),
    )
}

/// Reads one SNIPS intent file: `{"Intent": [{"data": [{"text": ..}, ..]}, ..]}`.
fn snips_file(relative: &str, intent: &str) -> Result<Vec<String>> {
    let path = display_path(relative);
    // One upstream file holds a CESU-8 surrogate pair; decode lossily (see data/snips/README.md).
    let text = String::from_utf8_lossy(&read_builtin(relative)?).into_owned();
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed("SNIPS JSON", &path, e))?;
    let rows = doc
        .get(intent)
        .and_then(|v| v.as_array())
        .ok_or_else(|| malformed("SNIPS JSON", &path, format!("no top-level '{intent}' list")))?;
    rows.iter()
        .map(|row| {
            let chunks = row
                .get("data")
                .and_then(|d| d.as_array())
                .ok_or_else(|| malformed("SNIPS JSON", &path, "a query without 'data'"))?;
            Ok(chunks
                .iter()
                .filter_map(|c| c.get("text").and_then(|t| t.as_str()))
                .collect::<String>())
        })
        .collect()
}

/// SNIPS intents (built in).
pub fn load_snips(encoding: &TextEncoding) -> Result<Dataset> {
    let root = "snips/2017-06-custom-intent-engines";
    let (mut train, mut val, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for intent in SNIPS_INTENTS {
        let intent = intent.to_string();
        let all = snips_file(
            &format!("{root}/{intent}/train_{intent}_full.json"),
            &intent,
        )?;
        let (kept, held) = hold_out(all.len(), 100, super::SPLIT_SEED);
        train.extend(kept.iter().map(|&i| (all[i].clone(), intent.clone())));
        val.extend(held.iter().map(|&i| (all[i].clone(), intent.clone())));
        test.extend(
            snips_file(&format!("{root}/{intent}/validate_{intent}.json"), &intent)?
                .into_iter()
                .map(|t| (t, intent.clone())),
        );
    }
    build(
        DatasetName::Snips,
        &display_path(root),
        train,
        val,
        test,
        encoding,
    )
}

fn hwu_folder(dir: &Path) -> Result<Examples> {
    let entries = std::fs::read_dir(dir).map_err(|_| TrainError::MissingData {
        what: "HWU64 split folder".into(),
        path: dir.to_path_buf(),
        hint: "expected train/ and test/ folders of <scenario>_<intent>.csv files".into(),
    })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let label = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(&path)
            .map_err(|e| malformed("HWU64 CSV", &path, e))?;
        let headers = reader
            .headers()
            .map_err(|e| malformed("HWU64 CSV", &path, e))?
            .clone();
        let col = headers
            .iter()
            .position(|h| h == "answer_from_anno")
            .ok_or_else(|| malformed("HWU64 CSV", &path, "no 'answer_from_anno' column"))?;
        for record in reader.records() {
            let record = record.map_err(|e| malformed("HWU64 CSV", &path, e))?;
            out.push((
                record.get(col).unwrap_or_default().to_string(),
                label.clone(),
            ));
        }
    }
    Ok(out)
}

/// HWU64.
pub fn load_hwu64(dir: &Path, encoding: &TextEncoding) -> Result<Dataset> {
    let (train, val) = split_off(hwu_folder(&dir.join("train"))?, 0.1);
    build(
        DatasetName::Hwu64,
        dir,
        train,
        val,
        hwu_folder(&dir.join("test"))?,
        encoding,
    )
}

/// CLINC150 (in-scope intents).
pub fn load_clinc150(dir: &Path, encoding: &TextEncoding) -> Result<Dataset> {
    let path = dir.join("data_full.json");
    let doc: serde_json::Value =
        serde_json::from_slice(&read_file(&path, "CLINC150 data_full.json")?)
            .map_err(|e| malformed("CLINC150 JSON", &path, e))?;
    let split = |key: &str| -> Result<Examples> {
        let rows = doc
            .get(key)
            .and_then(|v| v.as_array())
            .ok_or_else(|| malformed("CLINC150 JSON", &path, format!("no '{key}' list")))?;
        rows.iter()
            .map(|r| {
                match (
                    r.get(0).and_then(|v| v.as_str()),
                    r.get(1).and_then(|v| v.as_str()),
                ) {
                    (Some(t), Some(l)) => Ok((t.to_string(), l.to_string())),
                    _ => Err(malformed(
                        "CLINC150 JSON",
                        &path,
                        format!("a '{key}' row is not [text, intent]"),
                    )),
                }
            })
            .collect()
    };
    build(
        DatasetName::Clinc150,
        &path,
        split("train")?,
        split("val")?,
        split("test")?,
        encoding,
    )
}

fn banking_csv(path: &Path) -> Result<Examples> {
    let mut reader = csv::Reader::from_path(path).map_err(|_| TrainError::MissingData {
        what: "Banking77 CSV".into(),
        path: path.to_path_buf(),
        hint: "expected train.csv and test.csv".into(),
    })?;
    reader
        .records()
        .map(|r| {
            let r = r.map_err(|e| malformed("Banking77 CSV", path, e))?;
            Ok((
                r.get(0).unwrap_or_default().to_string(),
                r.get(1).unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Banking77.
pub fn load_banking77(dir: &Path, encoding: &TextEncoding) -> Result<Dataset> {
    let (train, val) = split_off(banking_csv(&dir.join("train.csv"))?, 0.1);
    build(
        DatasetName::Banking77,
        dir,
        train,
        val,
        banking_csv(&dir.join("test.csv"))?,
        encoding,
    )
}
