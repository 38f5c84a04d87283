//! Text classification from CSV or TSV with a header row: the text and label columns are
//! named (`text_column`, `label_column`); other columns are ignored. Streamed record by record
//! (the `csv` crate, one reused record buffer), tokenized as it is read.

use super::dataset::io_error;
use super::text_sink::{RowProblem, TextSink};
use crate::{Result, TrainError};
use std::path::Path;

/// Reads `path` (`delimiter` `b','` or `b'\t'`) into `sink`.
pub fn read_csv(
    path: &Path,
    delimiter: u8,
    text_column: &str,
    label_column: &str,
    sink: &mut TextSink<'_>,
) -> Result<()> {
    // Short utterances take ~40 bytes a CSV row; reserve for that many to avoid regrowth.
    let file = open_rows(path, sink, 40)?;
    let kind = if delimiter == b'\t' { "TSV" } else { "CSV" };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let headers = reader
        .headers()
        .map_err(|e| {
            TrainError::bad_entry(
                path,
                "line 1",
                format!("cannot read the {kind} header: {e}"),
            )
        })?
        .clone();
    if headers.is_empty() {
        return Err(TrainError::bad_entry(
            path,
            "line 1",
            format!("the file is empty; a {kind} file needs a header row naming its text and label columns, then one row per example"),
        ));
    }
    let find = |column: &str, flag: &str| -> Result<usize> {
        headers.iter().position(|h| h.trim() == column).ok_or_else(|| {
            let names: Vec<&str> = headers.iter().collect();
            TrainError::bad_entry(
                path,
                "line 1 (header)",
                format!(
                    "no column named '{column}' (the header has: {}); name the column with {flag}, or check the delimiter ({kind})",
                    names.join(", ")
                ),
            )
        })
    };
    let text_at = find(text_column, "--text-column (text_column in a study)")?;
    let label_at = find(label_column, "--label-column (label_column in a study)")?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(TrainError::bad_entry(
                    path,
                    format!("line {line}"),
                    format!("not valid {kind}: {e}"),
                ));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let entry = || format!("line {line}");
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // a blank line is no row
        }
        match (record.get(text_at), record.get(label_at)) {
            (Some(text), Some(label)) => sink.push(&entry, text, label)?,
            (None, _) => sink.reject(&entry, RowProblem::MissingColumn(text_column.into()))?,
            (_, None) => sink.reject(&entry, RowProblem::MissingColumn(label_column.into()))?,
        }
    }
    Ok(())
}

/// Opens a text data file and reserves room in `sink` for its rows, guessed at
/// `bytes_per_row` bytes each.
pub(crate) fn open_rows(
    path: &Path,
    sink: &mut TextSink<'_>,
    bytes_per_row: u64,
) -> Result<std::fs::File> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, "data file", e))?;
    if let Ok(meta) = file.metadata() {
        sink.reserve((meta.len() / bytes_per_row) as usize);
    }
    Ok(file)
}
