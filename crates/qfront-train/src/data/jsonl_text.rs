//! Text classification from JSON Lines: one object per line, `{"text": ..., "label": ...}`
//! (keys named by `text_column` / `label_column`). Labels are strings or integers. Blank lines
//! are skipped; every other line must be an object.

use super::csv_text::open_rows;
use super::text_sink::{RowProblem, TextSink};
use crate::{Result, TrainError};
use std::io::BufRead;
use std::path::Path;

/// Reads `path` into `sink`.
pub fn read_jsonl(
    path: &Path,
    text_column: &str,
    label_column: &str,
    sink: &mut TextSink<'_>,
) -> Result<()> {
    let file = open_rows(path, sink, 60)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(|e| {
            TrainError::bad_entry(
                path,
                format!("line {}", number + 1),
                format!("cannot read the line: {e} (is the file UTF-8?)"),
            )
        })?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let entry = || format!("line {number}");
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            TrainError::bad_entry(
                path,
                entry(),
                format!("not a JSON object: {e}; JSON Lines hold one object per line"),
            )
        })?;
        let Some(object) = value.as_object() else {
            return Err(TrainError::bad_entry(path, entry(), "not a JSON object; JSON Lines hold one {\"text\": ..., \"label\": ...} object per line"));
        };
        let text = match object.get(text_column) {
            None | Some(serde_json::Value::Null) => {
                sink.reject(&entry, RowProblem::MissingColumn(text_column.into()))?;
                continue;
            }
            Some(serde_json::Value::String(s)) => s.as_str(),
            Some(other) => {
                sink.reject(
                    &entry,
                    RowProblem::WrongType(text_column.into(), kind(other)),
                )?;
                continue;
            }
        };
        let label = match object.get(label_column) {
            None | Some(serde_json::Value::Null) => {
                sink.reject(&entry, RowProblem::MissingColumn(label_column.into()))?;
                continue;
            }
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(other) => {
                sink.reject(
                    &entry,
                    RowProblem::WrongType(label_column.into(), kind(other)),
                )?;
                continue;
            }
        };
        sink.push(&entry, text, &label)?;
    }
    Ok(())
}

fn kind(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(_) => "a boolean".into(),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(_) => "a string".into(),
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}
