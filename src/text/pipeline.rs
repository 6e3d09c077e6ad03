//! The text pipeline: normalise, tokenise, look up the vocabulary, hash n-grams.
//!
//! Its whole state (settings and vocabulary) is saved in the checkpoint as JSON, so that
//! classification sees exactly the features the model was trained on.

use crate::config::TextConfig;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Index of padding in sequence models.
pub const PAD_ID: u32 = 0;
/// Index of out-of-vocabulary words.
pub const UNK_ID: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextPipeline {
    pub config: TextConfig,
    /// Words in id order, starting at id 2 (0 = padding, 1 = unknown).
    pub words: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
    /// For pretrained encoders: their own tokenizer replaces words and n-grams.
    #[serde(skip)]
    pub encoder: Option<super::EncoderTokenizer>,
    /// `bow` with `text.idf` or `text.min_df`: the train split's document frequencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_freq: Option<super::weighting::DocFreq>,
    /// Per bag row, its idf (or 1) and 0 when pruned; empty without `doc_freq`.
    #[serde(skip)]
    row_weight: Vec<f32>,
}

/// One text turned into model input.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Word ids in order (for sequence models), truncated to `max_tokens`.
    pub word_ids: Vec<u32>,
    /// Bag-of-features row ids (for `bow`): known words, then hashed n-grams offset by the
    /// vocabulary size. When the bag is weighted (`bag_weights` not empty): distinct rows,
    /// ascending.
    pub bag: Vec<u32>,
    /// Each bag entry's weight in the pooled vector; empty = the plain mean (1 / len each).
    pub bag_weights: Vec<f32>,
    /// Whether `max_tokens` cut the text.
    pub truncated: bool,
    /// A frozen encoder's pooled embedding, when computed ahead (and cached) for training.
    pub pooled: Option<std::sync::Arc<[f32]>>,
}

impl TextPipeline {
    /// Build the vocabulary (and, when asked, the bag rows' document frequencies) from
    /// training texts only. Words are ordered by count, then alphabetically, so the ids never
    /// depend on hash order.
    pub fn fit<'a, I>(config: &TextConfig, texts: I) -> Self
    where
        I: IntoIterator<Item = &'a str> + Clone,
    {
        // Counted in parallel chunks and merged: sums, so the result is the same whatever
        // order the chunks finish in.
        use rayon::prelude::*;
        let all: Vec<&str> = texts.clone().into_iter().collect();
        let counts = all
            .par_chunks(2048)
            .map(|chunk| {
                let mut counts: HashMap<String, usize> = HashMap::new();
                for t in chunk {
                    for w in tokenize(config, t) {
                        *counts.entry(w).or_default() += 1;
                    }
                }
                counts
            })
            .reduce(HashMap::new, |mut a, b| {
                for (w, c) in b {
                    *a.entry(w).or_default() += c;
                }
                a
            });
        let mut words: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= config.min_count)
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let pipeline =
            Self::from_words(config.clone(), words.into_iter().map(|(w, _)| w).collect());
        if !super::weighting::needs_doc_freq(config) {
            return pipeline;
        }
        let bags = texts.into_iter().map(|t| pipeline.raw_bag(t).1);
        let df = super::weighting::DocFreq::count(bags, pipeline.bag_rows(), config.min_df);
        TextPipeline {
            doc_freq: Some(df),
            ..pipeline
        }
        .reindex()
    }

    pub fn from_words(config: TextConfig, words: Vec<String>) -> Self {
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32 + 2))
            .collect();
        TextPipeline {
            config,
            words,
            index,
            encoder: None,
            doc_freq: None,
            row_weight: Vec::new(),
        }
    }

    /// A pipeline that hands texts to a pretrained encoder's tokenizer.
    pub fn for_encoder(config: TextConfig, tokenizer: super::EncoderTokenizer) -> Self {
        TextPipeline {
            encoder: Some(tokenizer),
            ..Self::from_words(config, Vec::new())
        }
    }

    /// Restore the lookup tables after deserialising.
    pub fn reindex(self) -> Self {
        let row_weight = match &self.doc_freq {
            Some(df) => df.row_weights(self.bag_rows(), self.config.idf),
            None => Vec::new(),
        };
        TextPipeline {
            doc_freq: self.doc_freq,
            row_weight,
            ..Self::from_words(self.config, self.words)
        }
    }

    /// Rows of the word table: padding, unknown, and the vocabulary.
    pub fn vocab_rows(&self) -> usize {
        self.words.len() + 2
    }

    /// Rows of the `bow` table: word rows plus hash buckets (when n-grams are on).
    pub fn bag_rows(&self) -> usize {
        self.vocab_rows() + self.n_buckets()
    }

    fn n_buckets(&self) -> usize {
        let c = &self.config;
        if c.word_ngrams > 1 || c.char_ngrams_max > 0 {
            c.buckets
        } else {
            0
        }
    }

    pub fn features(&self, text: &str) -> Features {
        if let Some(tok) = &self.encoder {
            return tok.features(text);
        }
        let (word_ids, mut bag, truncated) = self.raw_bag(text);
        let weighted = super::weighting::weighted(&self.config);
        let mut bag_weights = match weighted {
            true => super::weighting::weigh(&mut bag, &self.row_weight, &self.config),
            false => Vec::new(),
        };
        if bag.is_empty() {
            // An all-unknown text still needs one row to average; the unknown row learns a prior.
            bag.push(UNK_ID);
            if weighted {
                bag_weights = vec![1.0];
            }
        }
        Features {
            word_ids,
            bag,
            bag_weights,
            truncated,
            pooled: None,
        }
    }

    /// Word ids, the bag with one entry per occurrence (possibly empty), and truncation.
    fn raw_bag(&self, text: &str) -> (Vec<u32>, Vec<u32>, bool) {
        let c = &self.config;
        let mut tokens = tokenize(c, text);
        let truncated = tokens.len() > c.max_tokens;
        tokens.truncate(c.max_tokens);
        let word_ids: Vec<u32> = tokens
            .iter()
            .map(|w| self.index.get(w).copied().unwrap_or(UNK_ID))
            .collect();
        let mut bag: Vec<u32> = word_ids.iter().copied().filter(|&i| i != UNK_ID).collect();
        let buckets = self.n_buckets() as u64;
        if buckets > 0 {
            let base = self.vocab_rows() as u64;
            let hashes: Vec<u64> = tokens.iter().map(|t| fnv1a(t.as_bytes())).collect();
            for n in 2..=c.word_ngrams {
                for win in hashes.windows(n) {
                    // fastText's n-gram hash: h = h * 116049371 + next.
                    let h = win
                        .iter()
                        .skip(1)
                        .fold(win[0], |h, x| h.wrapping_mul(116_049_371).wrapping_add(*x));
                    bag.push((base + h % buckets) as u32);
                }
            }
            if c.char_ngrams_max > 0 {
                // Hash byte slices of "<word>" at char boundaries: the same values as hashing
                // each n-gram as a string, without allocating one per n-gram.
                let mut word = String::new();
                let mut starts: Vec<usize> = Vec::new();
                for t in &tokens {
                    word.clear();
                    word.push('<');
                    word.push_str(t);
                    word.push('>');
                    starts.clear();
                    starts.extend(word.char_indices().map(|(i, _)| i));
                    starts.push(word.len());
                    let chars = starts.len() - 1;
                    for n in c.char_ngrams_min..=c.char_ngrams_max.min(chars) {
                        for i in 0..=chars - n {
                            let gram = &word.as_bytes()[starts[i]..starts[i + n]];
                            bag.push((base + fnv1a(gram) % buckets) as u32);
                        }
                    }
                }
            }
        }
        (word_ids, bag, truncated)
    }
}

/// Normalise and split into word tokens (Unicode word boundaries, UAX #29).
pub fn tokenize(config: &TextConfig, text: &str) -> Vec<String> {
    // NFKC leaves ASCII unchanged, and ASCII lower-casing is the Unicode one restricted to
    // ASCII, so the common case skips both passes with identical results.
    let ascii = text.is_ascii();
    let normalised: String = if config.normalize == crate::config::Normalize::Nfkc && !ascii {
        text.nfkc().collect()
    } else {
        text.to_string()
    };
    let cased = match (config.lowercase, ascii) {
        (true, true) => normalised.to_ascii_lowercase(),
        (true, false) => normalised.to_lowercase(),
        (false, _) => normalised,
    };
    cased.unicode_words().map(str::to_string).collect()
}

/// 64-bit FNV-1a: stable across platforms and releases, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TextConfig {
        TextConfig {
            buckets: 1000,
            ..TextConfig::default()
        }
    }

    #[test]
    fn tokenizer_normalises_and_lowercases_unicode() {
        let t = tokenize(&cfg(), "The U.S. and Côte d'Ivoire ＡＧＲＥＥＤ, 3.5%!");
        assert_eq!(
            t,
            vec!["the", "u.s", "and", "côte", "d'ivoire", "agreed", "3.5"]
        );
    }

    #[test]
    fn vocabulary_is_ordered_by_count_then_word_and_respects_min_count() {
        let c = TextConfig {
            min_count: 2,
            ..cfg()
        };
        let p = TextPipeline::fit(&c, ["b a c", "a b", "a d"]);
        assert_eq!(p.words, vec!["a", "b"]);
        assert_eq!(p.features("a b zz").word_ids, vec![2, 3, UNK_ID]);
    }

    #[test]
    fn ngram_features_are_deterministic_and_within_buckets() {
        let c = TextConfig {
            word_ngrams: 3,
            char_ngrams_min: 2,
            char_ngrams_max: 3,
            ..cfg()
        };
        let p = TextPipeline::fit(&c, ["ministers agreed to talks"]);
        let f = p.features("ministers agreed to talks");
        assert_eq!(f, p.features("Ministers agreed to talks"));
        assert!(f.bag.iter().all(|&i| (i as usize) < p.bag_rows()));
        // 4 words + 3 bigrams + 2 trigrams + char n-grams.
        assert!(f.bag.len() > 9);
    }

    #[test]
    fn char_ngrams_hash_like_one_string_per_ngram() {
        let c = TextConfig {
            word_ngrams: 1,
            char_ngrams_min: 2,
            char_ngrams_max: 5,
            ..cfg()
        };
        let p = TextPipeline::fit(&c, ["x"]);
        let f = p.features("Côte d'Ivoire a ñu");
        // The straightforward version: build every n-gram as a String, then hash it.
        let base = p.vocab_rows() as u64;
        let mut expected = Vec::new();
        for t in tokenize(&c, "Côte d'Ivoire a ñu") {
            let chars: Vec<char> = format!("<{t}>").chars().collect();
            for n in 2..=5 {
                for win in chars.windows(n) {
                    let s: String = win.iter().collect();
                    expected.push((base + fnv1a(s.as_bytes()) % 1000) as u32);
                }
            }
        }
        assert_eq!(f.bag, expected);
    }

    #[test]
    fn a_weighted_pipeline_weighs_the_same_after_a_save_and_reload() {
        let c = TextConfig {
            idf: true,
            sublinear_tf: true,
            norm: crate::config::BagNorm::L2,
            min_df: 1,
            ..cfg()
        };
        let p = TextPipeline::fit(&c, ["talks resumed", "talks talks collapsed", "rain"]);
        let f = p.features("talks talks resumed never");
        // "never" and the bigrams no train text had are pruned; the rest are distinct rows.
        assert_eq!(f.bag.len(), f.bag_weights.len());
        assert!(f.bag.windows(2).all(|w| w[0] < w[1]));
        let norm: f32 = f.bag_weights.iter().map(|w| w * w).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let json = serde_json::to_string(&p).unwrap();
        let back: TextPipeline = serde_json::from_str::<TextPipeline>(&json)
            .unwrap()
            .reindex();
        assert_eq!(back.features("talks talks resumed never"), f);
        // A text with nothing seen in training falls back to the unknown row.
        let none = p.features("zzz qqq");
        assert_eq!((none.bag, none.bag_weights), (vec![UNK_ID], vec![1.0]));
    }

    #[test]
    fn max_tokens_truncates_and_says_so() {
        let c = TextConfig {
            max_tokens: 2,
            ..cfg()
        };
        let p = TextPipeline::fit(&c, ["one two three"]);
        let f = p.features("one two three");
        assert_eq!(f.word_ids.len(), 2);
        assert!(f.truncated);
    }

    #[test]
    fn pipeline_survives_a_json_round_trip() {
        let p = TextPipeline::fit(&cfg(), ["talks resumed in geneva"]);
        let json = serde_json::to_string(&p).unwrap();
        let q: TextPipeline = serde_json::from_str::<TextPipeline>(&json)
            .unwrap()
            .reindex();
        assert_eq!(p.features("talks in geneva"), q.features("talks in geneva"));
    }
}
