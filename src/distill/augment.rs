//! In-domain texts for the teacher to label, made from the labelled training texts (Tang et
//! al., 2019, "Distilling task-specific knowledge from BERT into simple neural networks"):
//! each copy masks some words and sometimes keeps only a window of the sentence. The teacher's
//! probabilities on these near neighbours show the student how the teacher's decision moves
//! around each training example, which an out-of-domain pool cannot.

use crate::rng::SeededRng;

/// The stream of the seeded draws (distinct from shuffling, dropout and initialisation).
const STREAM: u64 = 0xa06e;
/// What a masked word becomes: BERT's mask token, which encoder teachers read as "unknown".
pub const MASK: &str = "[MASK]";

/// `copies` perturbed copies of each text, in text order: every word is masked with
/// probability `mask`, and with probability `window` the copy keeps only a contiguous run of at
/// least half of the words. A copy equal to its text is kept (the draws decide, not the
/// outcome), so the count is always `texts.len() * copies`.
pub fn augment(texts: &[&str], copies: usize, mask: f64, window: f64, seed: u64) -> Vec<String> {
    let mut rng = SeededRng::new(seed, STREAM);
    let mut out = Vec::with_capacity(texts.len() * copies);
    for text in texts {
        let words: Vec<&str> = text.split_whitespace().collect();
        for _ in 0..copies {
            let (mut start, mut end) = (0, words.len());
            if words.len() > 1 && f64::from(rng.uniform()) < window {
                let min = words.len().div_ceil(2);
                let len = min + rng.below(words.len() - min + 1);
                start = rng.below(words.len() - len + 1);
                end = start + len;
            }
            let copy: Vec<&str> = words[start..end]
                .iter()
                .map(|w| match f64::from(rng.uniform()) < mask {
                    true => MASK,
                    false => w,
                })
                .collect();
            out.push(copy.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmenting_is_seeded_and_gives_copies_per_text_in_order() {
        let texts = [
            "the minister condemned the attack on the embassy",
            "talks resumed",
        ];
        let a = augment(&texts, 3, 0.2, 0.5, 7);
        assert_eq!(a.len(), 6);
        assert_eq!(a, augment(&texts, 3, 0.2, 0.5, 7));
        assert_ne!(a, augment(&texts, 3, 0.2, 0.5, 8));
        for copy in &a[..3] {
            let n = copy.split_whitespace().count();
            assert!((4..=8).contains(&n), "{copy}");
        }
        let none = augment(&texts, 2, 0.0, 0.0, 7);
        assert_eq!(none[0], texts[0]);
        let all = augment(&texts, 1, 1.0, 0.0, 7);
        assert!(all[1].split_whitespace().all(|w| w == MASK));
    }
}
