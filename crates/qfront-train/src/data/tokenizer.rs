//! The hashing tokenizer of the NLU model.
//!
//! 1. Lower-case the utterance (Unicode lower-casing).
//! 2. Split into words: maximal runs of alphanumeric characters; an apostrophe between two
//!    alphanumerics stays inside the word (`what's`); everything else separates words.
//! 3. Map each word to `1 + FNV-1a-64(word) mod buckets`; id 0 is padding.
//! 4. Keep the first `max_tokens` words; pad with 0.
//!
//! No vocabulary is stored, so the runtime needs only this function and the bucket count.

/// Reusable buffers of [`HashingTokenizer::encode_into`].
#[derive(Debug, Default)]
pub struct EncodeScratch {
    lower: String,
    word: String,
}

/// The tokenizer's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashingTokenizer {
    /// Hash buckets (the embedding has `buckets + 1` rows).
    pub buckets: usize,
    /// Words kept per utterance.
    pub max_tokens: usize,
}

impl Default for HashingTokenizer {
    fn default() -> Self {
        Self {
            buckets: 4096,
            max_tokens: 32,
        }
    }
}

/// FNV-1a, 64 bit.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Lower-cases `text` into `lower` (step 1), with an allocation-free path for ASCII.
fn lower_case_into(text: &str, lower: &mut String) {
    lower.clear();
    if text.is_ascii() {
        lower.push_str(text);
        lower.make_ascii_lowercase();
    } else {
        lower.push_str(&text.to_lowercase());
    }
}

/// Calls `emit` with each word of the lower-cased `lower` (step 2), built in `word`.
fn for_each_word(lower: &str, word: &mut String, mut emit: impl FnMut(&str)) {
    word.clear();
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        let inner_apostrophe = (c == '\'' || c == '’')
            && !word.is_empty()
            && chars.peek().is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            word.push(if c == '’' { '\'' } else { c });
        } else if !word.is_empty() {
            emit(word);
            word.clear();
        }
    }
    if !word.is_empty() {
        emit(word);
    }
}

/// Splits an utterance into lower-case words (steps 1–2).
pub fn words(text: &str) -> Vec<String> {
    let (mut lower, mut word) = (String::new(), String::new());
    lower_case_into(text, &mut lower);
    let mut out = Vec::new();
    for_each_word(&lower, &mut word, |w| out.push(w.to_string()));
    out
}

impl HashingTokenizer {
    /// Token ids of one utterance, padded to `max_tokens`.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let mut ids = Vec::with_capacity(self.max_tokens);
        self.encode_into(text, &mut EncodeScratch::default(), &mut ids);
        ids
    }

    /// Appends the `max_tokens` ids of `text` to `out` (steps 1–4) and returns how many words
    /// the text has. `scratch` is reused between calls so that streaming a large file
    /// allocates nothing per row.
    pub fn encode_into(
        &self,
        text: &str,
        scratch: &mut EncodeScratch,
        out: &mut Vec<i64>,
    ) -> usize {
        let buckets = self.buckets as u64;
        encode_words(text, self.max_tokens, scratch, out, |w| {
            1 + (fnv1a64(w.as_bytes()) % buckets) as i64
        })
    }
}

/// Steps 1, 2 and 4 with any word → id map (step 3): appends the ids of the first
/// `max_tokens` words of `text` to `out`, padded with 0, and returns how many words the text
/// has. The hashing tokenizer and the vocabulary encoder share it.
pub(crate) fn encode_words(
    text: &str,
    max_tokens: usize,
    scratch: &mut EncodeScratch,
    out: &mut Vec<i64>,
    mut id: impl FnMut(&str) -> i64,
) -> usize {
    let EncodeScratch { lower, word } = scratch;
    lower_case_into(text, lower);
    let start = out.len();
    let mut count = 0;
    for_each_word(lower, word, |w| {
        if count < max_tokens {
            out.push(id(w));
        }
        count += 1;
    });
    out.resize(start + max_tokens, 0);
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(
            words("What's the weather in São Paulo, tomorrow?"),
            vec!["what's", "the", "weather", "in", "são", "paulo", "tomorrow"]
        );
        assert_eq!(
            words("  'quoted'  rock'n'roll "),
            vec!["quoted", "rock'n'roll"]
        );
        assert!(words("...").is_empty());
    }

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn encodes_and_pads() {
        let t = HashingTokenizer {
            buckets: 100,
            max_tokens: 4,
        };
        let ids = t.encode("play some jazz music now please");
        assert_eq!(ids.len(), 4);
        assert!(ids.iter().all(|&i| (1..=100).contains(&i)));
        assert_eq!(t.encode("hi")[1..], [0, 0, 0]);
        assert_eq!(t.encode("Play"), t.encode("play"));
    }

    #[test]
    fn encode_into_hashes_the_first_words_and_counts_them_all() {
        let t = HashingTokenizer {
            buckets: 97,
            max_tokens: 5,
        };
        let mut scratch = EncodeScratch::default();
        for text in [
            "What's the weather in São Paulo, tomorrow?",
            "  'quoted'  rock'n'roll ",
            "ΟΔΟΣ Σ final sigma",
            "...",
            "one two three four five six seven",
            "l’été",
        ] {
            let all = words(text);
            let mut expected: Vec<i64> = all
                .iter()
                .take(5)
                .map(|w| 1 + (fnv1a64(w.as_bytes()) % 97) as i64)
                .collect();
            expected.resize(5, 0);
            let mut out = vec![-1];
            let n = t.encode_into(text, &mut scratch, &mut out);
            assert_eq!(out[1..], expected[..], "{text}");
            assert_eq!(n, all.len(), "{text}");
            assert_eq!(t.encode(text), expected, "{text}");
        }
    }
}
