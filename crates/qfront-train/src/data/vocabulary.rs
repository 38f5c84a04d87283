//! A word vocabulary: the non-hashed alternative to [`super::tokenizer::HashingTokenizer`].
//!
//! Row `k` of the embedding table belongs to word `words[k]`. Row 0 is padding (its token is a
//! padding marker, never a word) and one row, the *unknown* row, takes every word the
//! vocabulary lacks. Words are matched after qfront's word splitting
//! ([`super::tokenizer::words`]: lower-cased runs of letters and digits).
//!
//! A vocabulary comes either from the training split ([`VocabularyBuild`]: words seen at
//! least `min_count` times, the `max_words` most frequent, ties in first-seen order, after
//! `<pad>` and `<unk>`), or from a file of one token per line, line `k` naming row `k`, as a
//! PyTorch model's vocabulary is usually saved (`torchtext`'s `get_itos()`, a HuggingFace
//! `vocab.txt`).

use crate::{Result, TrainError};
use std::collections::HashMap;
use std::path::Path;

/// The padding token qfront writes as row 0 of a vocabulary it builds.
pub const PADDING_TOKEN: &str = "<pad>";
/// The unknown-word token qfront writes as row 1 of a vocabulary it builds.
pub const UNKNOWN_TOKEN: &str = "<unk>";
/// Tokens accepted as the padding row (row 0) of a vocabulary file.
const PADDING_TOKENS: [&str; 3] = ["<pad>", "[pad]", "<blank>"];
/// Tokens accepted as the unknown-word row of a vocabulary file.
const UNKNOWN_TOKENS: [&str; 3] = ["<unk>", "[unk]", "<oov>"];

/// How a vocabulary is built from the training split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocabularyBuild {
    /// A word enters the vocabulary when the training split holds it at least this often
    /// (default 2, so that the unknown row is trained on the rare words).
    #[serde(default = "default_min_count")]
    pub min_count: usize,
    /// At most this many words (default 20,000), the most frequent first.
    #[serde(default = "default_max_words")]
    pub max_words: usize,
}

fn default_min_count() -> usize {
    2
}

fn default_max_words() -> usize {
    20_000
}

impl Default for VocabularyBuild {
    fn default() -> Self {
        Self {
            min_count: default_min_count(),
            max_words: default_max_words(),
        }
    }
}

impl VocabularyBuild {
    /// Checks the settings (`what` names them in the error).
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.min_count == 0 || self.max_words == 0 {
            return Err(TrainError::config(
                what,
                "min_count and max_words must be at least 1",
            ));
        }
        Ok(())
    }

    /// Builds the vocabulary of words counted in the training split: `candidates[i]` was
    /// seen `counts[i]` times, candidates in first-seen order.
    pub fn build(&self, candidates: &[String], counts: &[usize]) -> Vocabulary {
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&i| counts[i] >= self.min_count)
            .collect();
        // Most frequent first; a stable sort keeps first-seen order among equal counts.
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
        order.truncate(self.max_words);
        let mut words = Vec::with_capacity(order.len() + 2);
        words.push(PADDING_TOKEN.to_string());
        words.push(UNKNOWN_TOKEN.to_string());
        words.extend(order.iter().map(|&i| candidates[i].clone()));
        Vocabulary::from_words(words)
            .expect("a built vocabulary has unique words after <pad>, <unk>")
    }
}

/// A word vocabulary (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    words: Vec<String>,
    index: HashMap<String, i64>,
    unknown: i64,
}

impl Vocabulary {
    /// The vocabulary whose row `k` is `words[k]`. Row 0 must be a padding marker (`<pad>`,
    /// `[PAD]`, `<blank>`), one row an unknown-word marker (`<unk>`, `[UNK]`, `<oov>`), and no
    /// token may repeat; the error says which row breaks the rule.
    pub fn from_words(words: Vec<String>) -> std::result::Result<Self, String> {
        let marker = |token: &str, set: &[&str]| set.contains(&token.to_lowercase().as_str());
        match words.first() {
            None => return Err("it is empty".into()),
            Some(first) if !marker(first, &PADDING_TOKENS) => {
                return Err(format!(
                    "row 0 is '{first}', but row 0 is the padding row qfront fills short texts with; put {PADDING_TOKEN} (or [PAD]) first, the way the model's embedding was trained"
                ))
            }
            _ => {}
        }
        let mut index = HashMap::with_capacity(words.len());
        let mut unknown = None;
        for (row, token) in words.iter().enumerate().skip(1) {
            if token.is_empty() {
                return Err(format!("row {row} is empty; every row needs its token"));
            }
            if marker(token, &UNKNOWN_TOKENS) {
                unknown.get_or_insert(row as i64);
                continue;
            }
            if let Some(first) = index.insert(token.clone(), row as i64) {
                return Err(format!(
                    "'{token}' is both row {first} and row {row}; each token names one row"
                ));
            }
        }
        let Some(unknown) = unknown else {
            return Err(format!(
                "no row is the unknown-word token ({UNKNOWN_TOKEN} or [UNK]); add one, since words outside the vocabulary map to it"
            ));
        };
        Ok(Self {
            words,
            index,
            unknown,
        })
    }

    /// Reads a vocabulary file: one token per line, line `k` (from 0) naming row `k`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| super::dataset::io_error(path, "vocabulary file", e))?;
        let words: Vec<String> = text
            .strip_suffix('\n')
            .unwrap_or(&text)
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string())
            .collect();
        let vocabulary = Self::from_words(words).map_err(|reason| {
            TrainError::config(format!("vocabulary file {}", path.display()), reason)
        })?;
        let unmatched = vocabulary
            .words
            .iter()
            .skip(1)
            .filter(|w| super::tokenizer::words(w) != [w.as_str()])
            .count();
        if unmatched > 1 {
            // The markers are among them; the rest can never match a word of the data.
            tracing::warn!(
                path = %path.display(),
                tokens = unmatched - 1,
                "vocabulary tokens that are not lower-case words never match the text (qfront lower-cases and splits on non-alphanumerics)"
            );
        }
        Ok(vocabulary)
    }

    /// Rows of the embedding table.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether it has no rows (never true for a checked vocabulary).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The token of each row.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The row of the unknown-word token.
    pub fn unknown(&self) -> i64 {
        self.unknown
    }

    /// The row of `word` (a word as split by qfront), or the unknown row.
    pub fn id(&self, word: &str) -> i64 {
        self.index.get(word).copied().unwrap_or(self.unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn build_keeps_frequent_words_most_frequent_first_ties_in_first_seen_order() {
        let candidates = strings(&["play", "the", "song", "rare", "jazz", "now"]);
        let counts = [3, 5, 3, 1, 2, 4];
        let v = VocabularyBuild {
            min_count: 2,
            max_words: 4,
        }
        .build(&candidates, &counts);
        assert_eq!(
            v.words(),
            strings(&["<pad>", "<unk>", "the", "now", "play", "song"])
        );
        assert_eq!(v.id("the"), 2);
        assert_eq!(v.id("song"), 5);
        assert_eq!(v.id("jazz"), 1, "cut by max_words");
        assert_eq!(v.id("rare"), 1, "below min_count");
        assert_eq!(v.unknown(), 1);
    }

    #[test]
    fn file_vocabularies_keep_their_rows() {
        let v = Vocabulary::from_words(strings(&["[PAD]", "hello", "[UNK]", "world"])).unwrap();
        assert_eq!((v.id("hello"), v.id("world"), v.id("moon")), (1, 3, 2));
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn bad_vocabularies_name_the_row() {
        for (words, expected) in [
            (vec![], "empty"),
            (vec!["hello", "<unk>"], "row 0 is 'hello'"),
            (
                vec!["<pad>", "a", "<unk>", "a"],
                "'a' is both row 1 and row 3",
            ),
            (vec!["<pad>", "a", ""], "row 2 is empty"),
            (vec!["<pad>", "a", "b"], "no row is the unknown-word token"),
        ] {
            let err = Vocabulary::from_words(strings(&words)).unwrap_err();
            assert!(err.contains(expected), "{words:?}: {err}");
        }
    }

    #[test]
    fn reads_files_with_any_line_ending() {
        let dir = std::env::temp_dir().join(format!("qfront-vocab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vocab.txt");
        std::fs::write(&path, "<pad>\r\n<unk>\r\nweather\r\n").unwrap();
        let v = Vocabulary::read(&path).unwrap();
        assert_eq!(v.words(), strings(&["<pad>", "<unk>", "weather"]));
        let err = Vocabulary::read(&dir.join("missing.txt")).unwrap_err();
        assert!(err.to_string().contains("missing.txt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
