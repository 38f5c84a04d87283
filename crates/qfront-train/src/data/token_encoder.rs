//! How utterances become fixed-width token-id rows: hashed words
//! ([`HashingTokenizer`]) or a word [`Vocabulary`], given or built from the training split.
//!
//! A vocabulary built from the data needs the training split, which for a single source is
//! only known after its rows are read and split. So the loaders stream every row once, giving
//! each distinct word a provisional id (first seen = 1, next new word = 2, ...); when the
//! splits are final, [`TokenEncoder::finish`] counts the provisional ids of the training rows,
//! builds the vocabulary from those counts alone (validation and test words never enter it)
//! and rewrites every row's ids in place. Nothing of the text is kept but the distinct words.

use super::tokenizer::{encode_words, EncodeScratch, HashingTokenizer};
use super::vocabulary::{Vocabulary, VocabularyBuild};
use std::collections::HashMap;
use std::sync::Arc;

/// How text is turned into token ids; the model's embedding decides it.
#[derive(Debug, Clone, PartialEq)]
pub enum TextEncoding {
    /// Hashed words (no vocabulary stored).
    Hashed(HashingTokenizer),
    /// Words looked up in a vocabulary.
    Vocabulary {
        /// Words kept per utterance.
        max_tokens: usize,
        /// Where the vocabulary comes from.
        vocabulary: VocabularyPlan,
    },
}

impl Default for TextEncoding {
    fn default() -> Self {
        TextEncoding::Hashed(HashingTokenizer::default())
    }
}

/// Where a vocabulary comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum VocabularyPlan {
    /// Built from the training split.
    Build(VocabularyBuild),
    /// Given (a file, or the one stored in a model).
    Given(Arc<Vocabulary>),
}

impl TextEncoding {
    /// Words kept per utterance.
    pub fn max_tokens(&self) -> usize {
        match self {
            TextEncoding::Hashed(t) => t.max_tokens,
            TextEncoding::Vocabulary { max_tokens, .. } => *max_tokens,
        }
    }

    /// A fresh encoder for one load.
    pub fn encoder(&self) -> TokenEncoder {
        let mode = match self {
            TextEncoding::Hashed(t) => Mode::Hashed(*t),
            TextEncoding::Vocabulary {
                vocabulary: VocabularyPlan::Given(v),
                ..
            } => Mode::Lookup(v.clone()),
            TextEncoding::Vocabulary {
                vocabulary: VocabularyPlan::Build(build),
                ..
            } => Mode::Collect {
                build: *build,
                ids: HashMap::new(),
                words: Vec::new(),
            },
        };
        TokenEncoder {
            mode,
            max_tokens: self.max_tokens(),
            scratch: EncodeScratch::default(),
        }
    }
}

#[derive(Debug)]
enum Mode {
    Hashed(HashingTokenizer),
    Lookup(Arc<Vocabulary>),
    Collect {
        build: VocabularyBuild,
        /// Provisional id of each distinct word (1-based, first-seen order).
        ids: HashMap<String, i64>,
        /// The words by provisional id − 1.
        words: Vec<String>,
    },
}

/// Encodes utterances of one load (see the module documentation).
#[derive(Debug)]
pub struct TokenEncoder {
    mode: Mode,
    max_tokens: usize,
    scratch: EncodeScratch,
}

/// What a finished load's ids mean.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSpace {
    /// Distinct ids (rows of the embedding): buckets + 1, or the vocabulary's size.
    pub rows: usize,
    /// The vocabulary, when the ids are vocabulary rows.
    pub vocabulary: Option<Arc<Vocabulary>>,
}

impl TokenEncoder {
    /// Words kept per utterance (the width of a row).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Appends the `max_tokens` ids of `text` to `out` (the first words, padded with 0) and
    /// returns how many words the text has.
    pub fn encode_into(&mut self, text: &str, out: &mut Vec<i64>) -> usize {
        let scratch = &mut self.scratch;
        match &mut self.mode {
            Mode::Hashed(tokenizer) => tokenizer.encode_into(text, scratch, out),
            Mode::Lookup(vocabulary) => {
                encode_words(text, self.max_tokens, scratch, out, |w| vocabulary.id(w))
            }
            Mode::Collect { ids, words, .. } => {
                encode_words(text, self.max_tokens, scratch, out, |w| {
                    if let Some(&id) = ids.get(w) {
                        return id;
                    }
                    words.push(w.to_string());
                    let id = words.len() as i64;
                    ids.insert(w.to_string(), id);
                    id
                })
            }
        }
    }

    /// Ends the load: for a vocabulary built from the data, builds it from the provisional
    /// ids of `train` and rewrites `train` and every row of `others` to vocabulary rows.
    pub fn finish(self, train: &mut [i64], others: &mut [&mut [i64]]) -> TokenSpace {
        match self.mode {
            Mode::Hashed(tokenizer) => TokenSpace {
                rows: tokenizer.buckets + 1,
                vocabulary: None,
            },
            Mode::Lookup(vocabulary) => TokenSpace {
                rows: vocabulary.len(),
                vocabulary: Some(vocabulary),
            },
            Mode::Collect { build, words, .. } => {
                let mut counts = vec![0usize; words.len()];
                for &id in train.iter().filter(|&&id| id > 0) {
                    counts[id as usize - 1] += 1;
                }
                let vocabulary = build.build(&words, &counts);
                let row_of: Vec<i64> = std::iter::once(0)
                    .chain(words.iter().map(|w| vocabulary.id(w)))
                    .collect();
                for rows in std::iter::once(train).chain(others.iter_mut().map(|r| &mut **r)) {
                    for id in rows.iter_mut() {
                        *id = row_of[*id as usize];
                    }
                }
                tracing::info!(
                    words = vocabulary.len() - 2,
                    distinct = words.len(),
                    min_count = build.min_count,
                    "built the vocabulary from the training split"
                );
                TokenSpace {
                    rows: vocabulary.len(),
                    vocabulary: Some(Arc::new(vocabulary)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_encoding_matches_the_hashing_tokenizer() {
        let tokenizer = HashingTokenizer {
            buckets: 97,
            max_tokens: 4,
        };
        let mut encoder = TextEncoding::Hashed(tokenizer).encoder();
        for text in ["What's the weather in São Paulo?", "hi", "..."] {
            let mut out = Vec::new();
            let n = encoder.encode_into(text, &mut out);
            assert_eq!(out, tokenizer.encode(text), "{text}");
            assert_eq!(n, super::super::tokenizer::words(text).len());
        }
    }

    #[test]
    fn a_built_vocabulary_counts_only_the_training_rows() {
        let encoding = TextEncoding::Vocabulary {
            max_tokens: 3,
            vocabulary: VocabularyPlan::Build(VocabularyBuild {
                min_count: 2,
                max_words: 10,
            }),
        };
        let mut encoder = encoding.encoder();
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for text in ["play jazz", "play rock now", "jazz now", "play"] {
            encoder.encode_into(text, &mut train);
        }
        // "secret" is frequent in the test rows only: it must stay unknown.
        for text in ["secret secret secret", "play secret"] {
            encoder.encode_into(text, &mut test);
        }
        let space = encoder.finish(&mut train, &mut [&mut test]);
        let vocabulary = space.vocabulary.unwrap();
        // Counts: play 3, jazz 2, now 2, rock 1 (below min_count).
        assert_eq!(
            vocabulary.words(),
            ["<pad>", "<unk>", "play", "jazz", "now"]
        );
        assert_eq!(space.rows, 5);
        assert_eq!(train, [2, 3, 0, 2, 1, 4, 3, 4, 0, 2, 0, 0]);
        assert_eq!(test, [1, 1, 1, 2, 1, 0]);
    }

    #[test]
    fn a_given_vocabulary_looks_words_up() {
        let vocabulary =
            Vocabulary::from_words(["<pad>", "weather", "<unk>"].map(String::from).to_vec())
                .unwrap();
        let encoding = TextEncoding::Vocabulary {
            max_tokens: 4,
            vocabulary: VocabularyPlan::Given(Arc::new(vocabulary)),
        };
        let mut encoder = encoding.encoder();
        let mut out = Vec::new();
        assert_eq!(encoder.encode_into("Weather in Paris", &mut out), 3);
        assert_eq!(out, [1, 2, 2, 0]);
        let space = encoder.finish(&mut out, &mut []);
        assert_eq!(space.rows, 3);
    }
}
