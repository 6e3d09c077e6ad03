//! Bag weighting for `bow`: document frequencies counted on the train split, idf, sublinear
//! term frequency, pruning of rare rows and the norm of a text's weights.
//!
//! This is what lets a neural bag of n-grams see the features a TF-IDF + linear SVM sees: on a
//! thousand training texts the plain mean of embeddings lets frequent, uninformative rows
//! dominate, and rows that no training text reached add untrained noise at prediction time.

use crate::config::{BagNorm, TextConfig};
use serde::{Deserialize, Serialize};

/// Document frequency of the bag rows that are kept, counted on the train split and saved with
/// the pipeline so that classification weighs exactly as training did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocFreq {
    /// Train texts counted.
    pub docs: u32,
    /// Kept bag rows, ascending (rows below `text.min_df` are absent: pruned).
    pub rows: Vec<u32>,
    /// Train texts containing each of `rows`.
    pub counts: Vec<u32>,
}

impl DocFreq {
    /// Count, for each of `table_rows` rows, how many of `bags` contain it; keep rows at or
    /// above `min_df` (at least 1: a row that no train text reached is never kept).
    pub fn count<I, B>(bags: I, table_rows: usize, min_df: usize) -> Self
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u32]>,
    {
        let mut counts = vec![0u32; table_rows];
        // The last text that counted each row, so a row repeated in one text counts once.
        let mut last = vec![u32::MAX; table_rows];
        let mut docs = 0u32;
        for bag in bags {
            for &r in bag.as_ref() {
                let r = r as usize;
                if r < table_rows && last[r] != docs {
                    last[r] = docs;
                    counts[r] += 1;
                }
            }
            docs += 1;
        }
        let floor = min_df.max(1) as u32;
        let (rows, counts): (Vec<u32>, Vec<u32>) = counts
            .into_iter()
            .enumerate()
            .filter(|(_, c)| *c >= floor)
            .map(|(r, c)| (r as u32, c))
            .unzip();
        DocFreq { docs, rows, counts }
    }

    /// A weight per table row: the smoothed idf of scikit-learn, ln((1 + n) / (1 + df)) + 1,
    /// or 1 without idf; 0 for a pruned row.
    pub fn row_weights(&self, table_rows: usize, idf: bool) -> Vec<f32> {
        let mut w = vec![0f32; table_rows];
        let n = f64::from(self.docs);
        for (&r, &c) in self.rows.iter().zip(&self.counts) {
            if let Some(slot) = w.get_mut(r as usize) {
                *slot = if idf {
                    (((1.0 + n) / (1.0 + f64::from(c))).ln() + 1.0) as f32
                } else {
                    1.0
                };
            }
        }
        w
    }
}

/// Whether `config` asks for anything but the plain mean over bag entries.
pub fn weighted(config: &TextConfig) -> bool {
    config.idf || config.sublinear_tf || config.norm != BagNorm::Mean || config.min_df > 0
}

/// Whether `config` needs document frequencies from the train split.
pub fn needs_doc_freq(config: &TextConfig) -> bool {
    config.idf || config.min_df > 0
}

/// Replace `bag` (one entry per occurrence) by its distinct rows, ascending, with their
/// weights: term frequency (or 1 + ln of it) times the row weight, scaled to the chosen norm.
/// Rows whose weight is 0 (pruned) are dropped. Returns an empty list when nothing is left.
pub fn weigh(bag: &mut Vec<u32>, row_weight: &[f32], config: &TextConfig) -> Vec<f32> {
    if !row_weight.is_empty() {
        bag.retain(|&r| row_weight.get(r as usize).is_some_and(|&w| w > 0.0));
    }
    bag.sort_unstable();
    let mut rows = Vec::with_capacity(bag.len());
    let mut weights = Vec::with_capacity(bag.len());
    let mut i = 0;
    while i < bag.len() {
        let r = bag[i];
        let mut j = i + 1;
        while j < bag.len() && bag[j] == r {
            j += 1;
        }
        let tf = (j - i) as f32;
        let tf = if config.sublinear_tf {
            1.0 + tf.ln()
        } else {
            tf
        };
        let w = row_weight.get(r as usize).copied().unwrap_or(1.0);
        rows.push(r);
        weights.push(tf * w);
        i = j;
    }
    // Summed in row order, so the norm does not depend on the order the text listed them.
    let total: f32 = match config.norm {
        BagNorm::Mean => weights.iter().sum(),
        BagNorm::L2 => weights.iter().map(|w| w * w).sum::<f32>().sqrt(),
    };
    if total > 0.0 {
        let inv = 1.0 / total;
        weights.iter_mut().for_each(|w| *w *= inv);
    }
    *bag = rows;
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(idf: bool, sublinear_tf: bool, norm: BagNorm, min_df: usize) -> TextConfig {
        TextConfig {
            idf,
            sublinear_tf,
            norm,
            min_df,
            ..TextConfig::default()
        }
    }

    #[test]
    fn document_frequency_counts_a_row_once_per_text_and_prunes_below_min_df() {
        let df = DocFreq::count([vec![1, 1, 2], vec![2, 3], vec![2]], 5, 2);
        assert_eq!(df.docs, 3);
        assert_eq!((df.rows, df.counts), (vec![2], vec![3]));
        let df = DocFreq::count([vec![1, 1, 2], vec![2, 3]], 5, 0);
        assert_eq!((df.rows, df.counts), (vec![1, 2, 3], vec![1, 2, 1]));
    }

    #[test]
    fn idf_matches_scikit_learns_smoothed_formula_and_pruned_rows_weigh_zero() {
        let df = DocFreq::count([vec![1, 2], vec![2]], 4, 1);
        let w = df.row_weights(4, true);
        assert_eq!(w[0], 0.0);
        assert_eq!(w[3], 0.0);
        assert!((w[1] - ((3.0f64 / 2.0).ln() + 1.0) as f32).abs() < 1e-6);
        assert!((w[2] - 1.0).abs() < 1e-6);
        assert_eq!(df.row_weights(4, false), vec![0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn weighing_merges_repeats_applies_sublinear_tf_and_the_chosen_norm() {
        let mut bag = vec![5, 3, 5, 5];
        let w = weigh(&mut bag, &[], &cfg(false, false, BagNorm::Mean, 0));
        assert_eq!(bag, vec![3, 5]);
        assert_eq!(w, vec![0.25, 0.75]);

        let mut bag = vec![5, 3, 5, 5];
        let w = weigh(&mut bag, &[], &cfg(false, true, BagNorm::L2, 0));
        let tf = 1.0 + 3f32.ln();
        let norm = (1.0 + tf * tf).sqrt();
        assert!((w[0] - 1.0 / norm).abs() < 1e-6 && (w[1] - tf / norm).abs() < 1e-6);
        assert!((w.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn weighing_drops_pruned_rows_and_can_leave_nothing() {
        let row_weight = [0.0, 2.0, 0.0];
        let mut bag = vec![0, 1, 2, 1];
        let w = weigh(&mut bag, &row_weight, &cfg(true, false, BagNorm::Mean, 1));
        assert_eq!((bag.clone(), w), (vec![1], vec![1.0]));
        let mut bag = vec![0, 2];
        assert!(weigh(&mut bag, &row_weight, &cfg(true, false, BagNorm::Mean, 1)).is_empty());
        assert!(bag.is_empty());
    }

    #[test]
    fn the_default_text_config_keeps_the_plain_mean() {
        assert!(!weighted(&TextConfig::default()));
        assert!(!needs_doc_freq(&TextConfig::default()));
    }
}
