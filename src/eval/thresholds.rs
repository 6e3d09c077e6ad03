//! Per-class decision thresholds: the rule that applies them, the search that tunes them on dev,
//! and the metrics of thresholded predictions (abstentions count against recall).
//!
//! The rule: a label is eligible when its probability reaches its threshold; the most probable
//! eligible label wins (ties: the lowest index, as argmax); with none eligible the row abstains.
//! All thresholds at 0 give argmax exactly. Event-data coders store such thresholds with their
//! models so a class is only asserted when the model is sure enough of that class.

use super::Metrics;
use serde::{Deserialize, Serialize};

/// The label written for a row the rules leave unlabelled (thresholds, `--abstain-below`).
pub const ABSTAIN: &str = "abstain";

/// What the per-class search maximises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Each class's own F1.
    F1,
    /// The lowest threshold whose precision reaches the target (the most precise one when no
    /// threshold does).
    Precision(f64),
}

impl Objective {
    /// How the objective is written in `pipeline.json` and reports.
    pub fn describe(&self) -> String {
        match self {
            Objective::F1 => "f1".into(),
            Objective::Precision(p) => format!("precision>={p}"),
        }
    }
}

/// Thresholds stored with a task in the checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Thresholds {
    /// How they were chosen (`f1`, `precision>=0.9`).
    pub objective: String,
    /// One per label, in label order.
    pub values: Vec<f32>,
}

/// The label the rule picks, or `None` to abstain.
pub fn decide(p: &[f32], t: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, (&v, &th)) in p.iter().zip(t).enumerate() {
        if v >= th && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i as u32)
}

/// Metrics of thresholded predictions. Abstentions are a column of their own in the confusion
/// matrix (`confusion[gold][k]`): they count in each class's support, so they lower recall,
/// and in no class's predictions. `accuracy` is over all rows, abstentions wrong.
pub fn metrics(labels: &[String], gold: &[u32], pred: &[Option<u32>]) -> Metrics {
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k + 1]; k];
    for (&g, p) in gold.iter().zip(pred) {
        confusion[g as usize][p.map_or(k, |p| p as usize)] += 1;
    }
    Metrics::from_confusion(labels, confusion)
}

/// Candidate thresholds: 0.00, 0.01, ..., 0.99 (exact decimal grid, so results do not depend on
/// the order of the rows).
fn grid() -> impl Iterator<Item = f32> {
    (0..100).map(|i| i as f32 / 100.0)
}

/// Precision and F1 of class `c` under thresholds `t`.
fn class_figures(gold: &[u32], probs: &[&[f32]], t: &[f32], c: u32) -> (f64, f64, usize) {
    let (mut tp, mut predicted, mut support) = (0usize, 0usize, 0usize);
    for (&g, p) in gold.iter().zip(probs) {
        let hit = decide(p, t) == Some(c);
        predicted += usize::from(hit);
        support += usize::from(g == c);
        tp += usize::from(hit && g == c);
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
    let sum = precision + recall;
    let f1 = if sum == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / sum
    };
    (precision, f1, predicted)
}

/// Tune one threshold per label on (`gold`, `probs`): coordinate search over the grid, label by
/// label, two passes (a label's best threshold depends on the others'). Deterministic; ties go
/// to the lower threshold, so a label keeps 0 unless a higher one strictly helps.
pub fn tune(n_labels: usize, gold: &[u32], probs: &[&[f32]], objective: Objective) -> Vec<f32> {
    let mut t = vec![0f32; n_labels];
    for _pass in 0..2 {
        for c in 0..n_labels {
            let mut best: Option<(f32, f64, bool)> = None; // threshold, score, target reached
            for cand in grid() {
                t[c] = cand;
                let (precision, f1, predicted) = class_figures(gold, probs, &t, c as u32);
                let (score, reached) = match objective {
                    Objective::F1 => (f1, true),
                    Objective::Precision(p) => (precision, predicted > 0 && precision >= p),
                };
                let better = match best {
                    None => true,
                    // The first threshold that reaches the precision target wins.
                    Some((_, _, true)) if matches!(objective, Objective::Precision(_)) => false,
                    Some((_, _, false)) if reached => true,
                    Some((_, s, _)) => score > s,
                };
                if better {
                    best = Some((cand, score, reached));
                }
            }
            t[c] = best.map_or(0.0, |b| b.0);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_thresholds_give_argmax_and_unreached_ones_abstain() {
        let p = [0.2, 0.5, 0.3];
        assert_eq!(decide(&p, &[0.0; 3]), Some(1));
        assert_eq!(decide(&p, &[0.0, 0.6, 0.0]), Some(2));
        assert_eq!(decide(&p, &[0.3, 0.6, 0.4]), None);
        assert_eq!(decide(&[0.5, 0.5], &[0.0, 0.0]), Some(0));
    }

    #[test]
    fn abstentions_lower_recall_but_not_precision() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let m = metrics(&labels, &[0, 0, 1, 1], &[Some(0), None, Some(1), Some(0)]);
        assert_eq!(m.n, 4);
        assert_eq!(m.classes[0].support, 2);
        assert!((m.classes[0].recall - 0.5).abs() < 1e-12);
        assert!((m.classes[0].precision - 0.5).abs() < 1e-12);
        assert!((m.classes[1].precision - 1.0).abs() < 1e-12);
        assert!((m.accuracy - 0.5).abs() < 1e-12);
    }

    /// Class 1 is over-predicted at low confidence: a threshold on it must raise its F1 and
    /// the precision objective must reach its target.
    fn noisy() -> (Vec<u32>, Vec<Vec<f32>>) {
        let mut gold = Vec::new();
        let mut probs = Vec::new();
        for i in 0..100 {
            let sure = i % 2 == 0;
            gold.push(if sure { 1 } else { 0 });
            probs.push(if sure {
                vec![0.1, 0.9]
            } else {
                vec![0.45, 0.55]
            });
        }
        (gold, probs)
    }

    #[test]
    fn tuning_for_f1_raises_the_threshold_of_an_over_predicted_class() {
        let (gold, probs) = noisy();
        let refs: Vec<&[f32]> = probs.iter().map(Vec::as_slice).collect();
        let t = tune(2, &gold, &refs, Objective::F1);
        assert!(t[1] > 0.55 && t[1] <= 0.9, "{t:?}");
        let before: Vec<Option<u32>> = refs.iter().map(|p| decide(p, &[0.0, 0.0])).collect();
        let after: Vec<Option<u32>> = refs.iter().map(|p| decide(p, &t)).collect();
        let labels = vec!["a".to_string(), "b".to_string()];
        assert!(
            metrics(&labels, &gold, &after).macro_f1 > metrics(&labels, &gold, &before).macro_f1
        );
    }

    #[test]
    fn tuning_for_precision_picks_the_lowest_threshold_that_reaches_it() {
        let (gold, probs) = noisy();
        let refs: Vec<&[f32]> = probs.iter().map(Vec::as_slice).collect();
        let t = tune(2, &gold, &refs, Objective::Precision(0.95));
        assert!((t[1] - 0.56).abs() < 1e-6, "{t:?}");
    }
}
