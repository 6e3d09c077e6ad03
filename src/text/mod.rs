//! Text handling: normalisation, tokenising and n-gram hashing.
//!
//! Everything here is deterministic and versioned with the checkpoint, because a model is only
//! reproducible if the exact same tokens reach it at training and at classification time.

mod encoder;
mod pipeline;
pub mod weighting;

pub use encoder::EncoderTokenizer;
pub use pipeline::{Features, TextPipeline, PAD_ID, UNK_ID};

use unicode_normalization::UnicodeNormalization;

/// The key under which two texts count as "the same statement" for duplicate and leakage
/// checks: NFKC, lower case, punctuation dropped, whitespace collapsed.
pub fn dedup_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if (c.is_whitespace() || c.is_ascii_punctuation() || !c.is_alphanumeric())
            && !out.ends_with(' ')
        {
            out.push(' ');
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_key_ignores_case_space_and_punctuation() {
        assert_eq!(
            dedup_key("The U.S.  said: \"No!\""),
            dedup_key("the u s said no")
        );
        assert_ne!(dedup_key("talks resumed"), dedup_key("talks collapsed"));
        assert_eq!(dedup_key("Ｆｕｌｌ width"), "full width");
    }
}
