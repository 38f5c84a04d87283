//! What the text loaders (CSV/TSV, JSON Lines) share: each accepted row is tokenized at once
//! into fixed-width id rows (nothing of the text is kept), its label looked up in the
//! [`LabelSet`], and a bad row either fails the load with the file and line named or, with
//! `skip_bad_rows`, is counted and dropped.

use super::labels::LabelSet;
use super::rows::Rows;
use super::token_encoder::TokenEncoder;
use crate::{Result, TrainError};
use std::path::{Path, PathBuf};

/// Why a row cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum RowProblem {
    /// A column (field, key) is absent.
    MissingColumn(String),
    /// The column holds a value of the wrong kind.
    WrongType(String, String),
    /// The text has no words.
    EmptyText,
    /// The label is empty.
    EmptyLabel,
    /// The label is not among the training labels.
    UnseenLabel(String),
}

/// Accumulates the token rows of one text file.
pub struct TextSink<'a> {
    encoder: &'a mut TokenEncoder,
    labels: &'a mut LabelSet,
    skip_bad_rows: bool,
    path: &'a Path,
    training_path: PathBuf,
    /// Rows accepted so far.
    pub rows: Rows<i64>,
    /// Rows dropped (only with `skip_bad_rows`).
    pub skipped: usize,
}

impl<'a> TextSink<'a> {
    /// A sink for `path`; `labels` is open when `path` is the training source.
    pub fn new(
        path: &'a Path,
        training_path: &Path,
        encoder: &'a mut TokenEncoder,
        labels: &'a mut LabelSet,
        skip_bad_rows: bool,
    ) -> Self {
        let width = encoder.max_tokens();
        Self {
            encoder,
            labels,
            skip_bad_rows,
            path,
            training_path: training_path.to_path_buf(),
            rows: Rows::new(width),
            skipped: 0,
        }
    }

    /// Reserves room for about `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.rows.values.reserve(rows * self.rows.width);
        self.rows.labels.reserve(rows);
    }

    /// Takes one row; `entry` names it in errors (`line 12`).
    pub fn push(&mut self, entry: &dyn Fn() -> String, text: &str, label: &str) -> Result<()> {
        let label = label.trim();
        if label.is_empty() {
            return self.reject(entry, RowProblem::EmptyLabel);
        }
        let Some(class) = self.labels.lookup(label) else {
            return self.reject(entry, RowProblem::UnseenLabel(label.to_string()));
        };
        let words = self.encoder.encode_into(text, &mut self.rows.values);
        if words == 0 {
            let end = self.rows.values.len() - self.rows.width;
            self.rows.values.truncate(end);
            return self.reject(entry, RowProblem::EmptyText);
        }
        self.rows.labels.push(class);
        Ok(())
    }

    /// Drops the row (counted) or fails, naming the file, the entry and the fix.
    pub fn reject(&mut self, entry: &dyn Fn() -> String, problem: RowProblem) -> Result<()> {
        if self.skip_bad_rows {
            self.skipped += 1;
            return Ok(());
        }
        let skip = "or drop such rows with --skip-bad-rows (skip_bad_rows = true in a study)";
        let message = match problem {
            RowProblem::MissingColumn(column) => {
                format!("the row has no '{column}' value; give every row its text and label, {skip}")
            }
            RowProblem::WrongType(column, found) => {
                format!("'{column}' is {found}; the text must be a string and the label a string or an integer, {skip}")
            }
            RowProblem::EmptyText => format!("the text is empty (it has no words); remove the row {skip}"),
            RowProblem::EmptyLabel => format!("the label is empty; label the row {skip}"),
            RowProblem::UnseenLabel(label) => format!(
                "label '{label}' never occurs in the training data ({}); add training examples of it, remove the row, {skip}",
                self.training_path.display()
            ),
        };
        Err(TrainError::bad_entry(self.path, entry(), message))
    }
}
