//! Sub-word tokens for pretrained encoders, from the encoder's own tokenizer files.
//!
//! A pretrained encoder only understands the ids its tokenizer produces, so this replaces the
//! hashing pipeline for `kind = "pretrained"`. It is loaded from the encoder folder (never
//! saved in `pipeline.json`), and the checkpoint records the file's sha256 instead.

use super::Features;
use crate::error::{Error, Result};
use std::path::Path;
use std::sync::Arc;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{Tokenizer, TruncationParams};

/// A Hugging Face tokenizer that truncates to `max_len` tokens ([CLS] and [SEP] included).
#[derive(Clone)]
pub struct EncoderTokenizer {
    inner: Arc<Tokenizer>,
    max_len: usize,
    /// Used when the tokenizer fails on a text, so the row still gets a (neutral) input.
    fallback: Vec<u32>,
}

impl std::fmt::Debug for EncoderTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncoderTokenizer(max_len {})", self.max_len)
    }
}

impl PartialEq for EncoderTokenizer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) && self.max_len == other.max_len
    }
}

impl EncoderTokenizer {
    /// Load `tokenizer.json`, or build a BERT WordPiece tokenizer from `vocab.txt`.
    pub fn load(file: &Path, max_len: usize) -> Result<Self> {
        let bad = |message: String| Error::Encoder {
            path: file.to_path_buf(),
            message,
        };
        let mut tok = if file.extension().is_some_and(|e| e == "json") {
            Tokenizer::from_file(file).map_err(|e| bad(format!("cannot read tokenizer: {e}")))?
        } else {
            let vocab = file.to_string_lossy();
            let wp = WordPiece::from_file(&vocab)
                .unk_token("[UNK]".into())
                .build()
                .map_err(|e| bad(format!("cannot read WordPiece vocabulary: {e}")))?;
            let mut tok = Tokenizer::new(wp);
            let id = |t: &str| {
                tok.token_to_id(t)
                    .ok_or_else(|| bad(format!("vocabulary lacks the special token {t}")))
            };
            let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
            tok.with_normalizer(Some(BertNormalizer::default()))
                .map_err(|e| bad(e.to_string()))?;
            tok.with_pre_tokenizer(Some(BertPreTokenizer));
            tok.with_post_processor(Some(BertProcessing::new(
                ("[SEP]".into(), sep),
                ("[CLS]".into(), cls),
            )));
            tok
        };
        tok.with_padding(None);
        tok.with_truncation(Some(TruncationParams {
            max_length: max_len,
            ..Default::default()
        }))
        .map_err(|e| bad(format!("cannot truncate to {max_len} tokens: {e}")))?;
        let fallback = tok
            .encode("", true)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default();
        Ok(EncoderTokenizer {
            inner: Arc::new(tok),
            max_len,
            fallback,
        })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids with the special tokens the encoder was trained with.
    pub fn features(&self, text: &str) -> Features {
        let (word_ids, truncated) = match self.inner.encode(text, true) {
            Ok(enc) => (enc.get_ids().to_vec(), !enc.get_overflowing().is_empty()),
            Err(_) => (self.fallback.clone(), false),
        };
        Features {
            word_ids,
            bag: Vec::new(),
            bag_weights: Vec::new(),
            truncated,
            pooled: None,
        }
    }
}
