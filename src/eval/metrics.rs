//! Classification metrics from a confusion matrix.
//!
//! Conventions, applied everywhere:
//! - Precision of a class that is never predicted is undefined; it is reported as 0.0 with
//!   `precision_defined = false` (scikit-learn's `zero_division=0`). Likewise recall of a class
//!   absent from gold.
//! - Macro averages run over the classes that occur in gold or in the predictions (the
//!   scikit-learn default); configured labels seen in neither are listed but not averaged.
//! - Micro F1 equals accuracy for single-label classification and is reported as such.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
    pub predicted: usize,
    pub precision_defined: bool,
    pub recall_defined: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n: usize,
    pub accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub micro_f1: f64,
    pub weighted_precision: f64,
    pub weighted_recall: f64,
    pub weighted_f1: f64,
    pub classes: Vec<ClassMetrics>,
    /// `confusion[gold][pred]`.
    pub confusion: Vec<Vec<usize>>,
}

impl Metrics {
    pub fn compute(labels: &[String], gold: &[u32], pred: &[u32]) -> Metrics {
        let k = labels.len();
        let mut confusion = vec![vec![0usize; k]; k];
        for (&g, &p) in gold.iter().zip(pred) {
            confusion[g as usize][p as usize] += 1;
        }
        Self::from_confusion(labels, confusion)
    }

    pub fn from_confusion(labels: &[String], confusion: Vec<Vec<usize>>) -> Metrics {
        let k = labels.len();
        let n: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let classes: Vec<ClassMetrics> = (0..k)
            .map(|i| {
                let tp = confusion[i][i];
                let support: usize = confusion[i].iter().sum();
                let predicted: usize = (0..k).map(|g| confusion[g][i]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics {
                    label: labels[i].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                    predicted,
                    precision_defined: predicted > 0,
                    recall_defined: support > 0,
                }
            })
            .collect();
        let active: Vec<&ClassMetrics> = classes
            .iter()
            .filter(|c| c.support > 0 || c.predicted > 0)
            .collect();
        let mean = |f: fn(&ClassMetrics) -> f64| {
            if active.is_empty() {
                0.0
            } else {
                active.iter().map(|c| f(c)).sum::<f64>() / active.len() as f64
            }
        };
        let weighted = |f: fn(&ClassMetrics) -> f64| {
            if n == 0 {
                0.0
            } else {
                classes.iter().map(|c| f(c) * c.support as f64).sum::<f64>() / n as f64
            }
        };
        let accuracy = ratio(correct, n);
        Metrics {
            n,
            accuracy,
            macro_precision: mean(|c| c.precision),
            macro_recall: mean(|c| c.recall),
            macro_f1: mean(|c| c.f1),
            micro_f1: accuracy,
            weighted_precision: weighted(|c| c.precision),
            weighted_recall: weighted(|c| c.recall),
            weighted_f1: weighted(|c| c.f1),
            classes,
            confusion,
        }
    }

    /// A metric by its config name (`macro_f1`, `accuracy`, `micro_f1`, `weighted_f1`).
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "macro_f1" => Some(self.macro_f1),
            "accuracy" => Some(self.accuracy),
            "micro_f1" => Some(self.micro_f1),
            "weighted_f1" => Some(self.weighted_f1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        ["a", "b", "c", "d"][..n]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn hand_computed_three_class_matrix() {
        // gold a: 3 (2 right, 1 -> b); gold b: 2 (1 right, 1 -> c); gold c: 1 (right).
        let m = Metrics::compute(&labels(3), &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        close(m.accuracy, 4.0 / 6.0);
        // a: P 2/2, R 2/3, F 0.8. b: P 1/2, R 1/2, F 0.5. c: P 1/2, R 1, F 2/3.
        close(m.classes[0].f1, 0.8);
        close(m.classes[1].f1, 0.5);
        close(m.classes[2].f1, 2.0 / 3.0);
        close(m.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0);
        close(m.macro_precision, (1.0 + 0.5 + 0.5) / 3.0);
        close(m.weighted_f1, (0.8 * 3.0 + 0.5 * 2.0 + 2.0 / 3.0) / 6.0);
        close(m.micro_f1, m.accuracy);
        assert_eq!(
            m.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
    }

    #[test]
    fn never_predicted_class_has_undefined_precision_reported_as_zero() {
        let m = Metrics::compute(&labels(2), &[0, 1, 1], &[0, 0, 0]);
        let b = &m.classes[1];
        assert!(!b.precision_defined);
        assert_eq!((b.precision, b.recall, b.f1), (0.0, 0.0, 0.0));
        // a: P 1/3, R 1, F 0.5; b counts in the macro average because it has support.
        close(m.macro_f1, 0.25);
    }

    #[test]
    fn class_absent_from_gold_and_predictions_is_not_averaged() {
        let m = Metrics::compute(&labels(3), &[0, 1], &[0, 1]);
        close(m.macro_f1, 1.0);
        assert!(!m.classes[2].recall_defined && !m.classes[2].precision_defined);
    }

    #[test]
    fn class_absent_from_gold_but_predicted_counts_against_macro() {
        let m = Metrics::compute(&labels(3), &[0, 0], &[0, 2]);
        // a: P 1, R 1/2, F 2/3; c: predicted once, never gold: P 0, R undefined, F 0.
        close(m.macro_f1, (2.0 / 3.0) / 2.0);
        assert!(!m.classes[2].recall_defined);
    }

    #[test]
    fn single_class_is_perfect_when_all_correct() {
        let m = Metrics::compute(&labels(1), &[0, 0, 0], &[0, 0, 0]);
        close(m.accuracy, 1.0);
        close(m.macro_f1, 1.0);
        close(m.weighted_f1, 1.0);
    }

    #[test]
    fn empty_input_gives_zeros_not_nan() {
        let m = Metrics::compute(&labels(2), &[], &[]);
        assert_eq!(m.n, 0);
        assert_eq!((m.accuracy, m.macro_f1, m.weighted_f1), (0.0, 0.0, 0.0));
    }
}
