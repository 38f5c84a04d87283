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

/// Splits an utterance into lower-case words (steps 1–2).
pub fn words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let inner_apostrophe = (c == '\'' || c == '’')
            && !cur.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            cur.push(if c == '’' { '\'' } else { c });
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl HashingTokenizer {
    /// Token ids of one utterance, padded to `max_tokens`.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = words(text)
            .iter()
            .take(self.max_tokens)
            .map(|w| 1 + (fnv1a64(w.as_bytes()) % self.buckets as u64) as i64)
            .collect();
        ids.resize(self.max_tokens, 0);
        ids
    }

    /// Appends the `max_tokens` ids of `text` to `out` (the same ids as [`Self::encode`]) and
    /// returns how many words the text has. `scratch` is reused between calls so that
    /// streaming a large file allocates nothing per row.
    pub fn encode_into(
        &self,
        text: &str,
        scratch: &mut EncodeScratch,
        out: &mut Vec<i64>,
    ) -> usize {
        let EncodeScratch { lower, word } = scratch;
        lower.clear();
        if text.is_ascii() {
            lower.push_str(text);
            lower.make_ascii_lowercase();
        } else {
            lower.push_str(&text.to_lowercase());
        }
        let start = out.len();
        let mut count = 0;
        let mut emit = |word: &str, out: &mut Vec<i64>| {
            if count < self.max_tokens {
                out.push(1 + (fnv1a64(word.as_bytes()) % self.buckets as u64) as i64);
            }
            count += 1;
        };
        word.clear();
        let mut chars = lower.chars().peekable();
        while let Some(c) = chars.next() {
            let inner_apostrophe = (c == '\'' || c == '’')
                && !word.is_empty()
                && chars.peek().is_some_and(|n| n.is_alphanumeric());
            if c.is_alphanumeric() || inner_apostrophe {
                word.push(if c == '’' { '\'' } else { c });
            } else if !word.is_empty() {
                emit(word, out);
                word.clear();
            }
        }
        if !word.is_empty() {
            emit(word, out);
        }
        out.resize(start + self.max_tokens, 0);
        count
    }
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
    fn encode_into_equals_encode() {
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
            let mut out = vec![-1];
            let n = t.encode_into(text, &mut scratch, &mut out);
            assert_eq!(out[1..], t.encode(text)[..], "{text}");
            assert_eq!(n, words(text).len(), "{text}");
        }
    }
}
