//! Bootstrap confidence intervals: how much a figure would move on another sample of the same
//! size. Rows are resampled with replacement from a seeded stream, metrics recomputed from each
//! resample's confusion matrix, and the 2.5th and 97.5th percentiles kept (percentile method).

use super::{Interval, Intervals};
use crate::eval::Metrics;
use crate::rng::SeededRng;

/// Keeps bootstrap draws apart from every other use of the same seed.
const BOOTSTRAP_STREAM: u64 = 0xb007;

/// Percentile `q` (0..=1) of sorted values, interpolating linearly between order statistics.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn interval(mut values: Vec<f64>, confidence: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Interval {
        low: percentile(&values, tail),
        high: percentile(&values, 1.0 - tail),
    }
}

/// Intervals for accuracy, macro-F1, weighted-F1 and each class's F1. With no rows or no
/// resamples every interval collapses to the point estimate.
pub fn intervals(
    labels: &[String],
    gold: &[u32],
    pred: &[u32],
    resamples: usize,
    seed: u64,
    confidence: f64,
) -> Intervals {
    let n = gold.len();
    let k = labels.len();
    if n == 0 || resamples == 0 {
        let m = Metrics::compute(labels, gold, pred);
        let point = |v: f64| Interval { low: v, high: v };
        return Intervals {
            accuracy: point(m.accuracy),
            macro_f1: point(m.macro_f1),
            weighted_f1: point(m.weighted_f1),
            class_f1: m.classes.iter().map(|c| point(c.f1)).collect(),
        };
    }
    let mut rng = SeededRng::new(seed, BOOTSTRAP_STREAM);
    let mut acc = Vec::with_capacity(resamples);
    let mut macro_f1 = Vec::with_capacity(resamples);
    let mut weighted = Vec::with_capacity(resamples);
    let mut class: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); k];
    for _ in 0..resamples {
        let mut confusion = vec![vec![0usize; k]; k];
        for _ in 0..n {
            let i = rng.below(n);
            confusion[gold[i] as usize][pred[i] as usize] += 1;
        }
        let m = Metrics::from_confusion(labels, confusion);
        acc.push(m.accuracy);
        macro_f1.push(m.macro_f1);
        weighted.push(m.weighted_f1);
        for (c, cm) in class.iter_mut().zip(&m.classes) {
            c.push(cm.f1);
        }
    }
    Intervals {
        accuracy: interval(acc, confidence),
        macro_f1: interval(macro_f1, confidence),
        weighted_f1: interval(weighted, confidence),
        class_f1: class.into_iter().map(|v| interval(v, confidence)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    /// 60 rows, 45 right: a realistic sample with spread in every metric.
    fn sample() -> (Vec<u32>, Vec<u32>) {
        let gold: Vec<u32> = (0..60).map(|i| (i % 3) as u32).collect();
        let pred: Vec<u32> = gold
            .iter()
            .enumerate()
            .map(|(i, &g)| if i % 4 == 0 { (g + 1) % 3 } else { g })
            .collect();
        (gold, pred)
    }

    #[test]
    fn percentile_interpolates_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 5.0);
        assert_eq!(percentile(&v, 0.5), 3.0);
        // h = 4 * 0.1 = 0.4: 1 + 0.4 * (2 - 1).
        assert!((percentile(&v, 0.1) - 1.4).abs() < 1e-12);
    }

    #[test]
    fn same_seed_gives_the_same_intervals_and_another_seed_differs() {
        let (g, p) = sample();
        let a = intervals(&labels(), &g, &p, 200, 7, 0.95);
        let b = intervals(&labels(), &g, &p, 200, 7, 0.95);
        let c = intervals(&labels(), &g, &p, 200, 8, 0.95);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn intervals_contain_the_point_estimate() {
        let (g, p) = sample();
        let m = Metrics::compute(&labels(), &g, &p);
        let ci = intervals(&labels(), &g, &p, 1000, 0, 0.95);
        for (name, iv, v) in [
            ("accuracy", ci.accuracy, m.accuracy),
            ("macro_f1", ci.macro_f1, m.macro_f1),
            ("weighted_f1", ci.weighted_f1, m.weighted_f1),
            ("f1 of a", ci.class_f1[0], m.classes[0].f1),
        ] {
            assert!(iv.low <= v && v <= iv.high, "{name}: {v} outside {iv:?}");
            assert!(
                iv.high > iv.low,
                "{name}: a noisy sample gives a real interval"
            );
        }
    }

    #[test]
    fn all_correct_gives_zero_width_intervals() {
        let g: Vec<u32> = (0..30).map(|i| (i % 3) as u32).collect();
        let ci = intervals(&labels(), &g, &g, 300, 1, 0.95);
        for iv in [ci.accuracy, ci.macro_f1, ci.weighted_f1] {
            assert_eq!((iv.low, iv.high), (1.0, 1.0));
        }
    }

    #[test]
    fn a_class_never_predicted_keeps_a_zero_f1_interval() {
        // c is gold on 10 rows but never predicted: its F1 is 0 in every resample.
        let gold: Vec<u32> = (0..30).map(|i| (i % 3) as u32).collect();
        let pred: Vec<u32> = gold.iter().map(|&g| if g == 2 { 0 } else { g }).collect();
        let ci = intervals(&labels(), &gold, &pred, 300, 2, 0.95);
        assert_eq!((ci.class_f1[2].low, ci.class_f1[2].high), (0.0, 0.0));
        assert!(ci.accuracy.high <= 1.0 && ci.accuracy.low >= 0.0);
    }

    #[test]
    fn a_single_class_task_has_a_degenerate_interval() {
        let one = vec!["only".to_string()];
        let ci = intervals(&one, &[0, 0, 0, 0], &[0, 0, 0, 0], 100, 3, 0.95);
        assert_eq!((ci.macro_f1.low, ci.macro_f1.high), (1.0, 1.0));
        assert_eq!(ci.class_f1.len(), 1);
    }

    #[test]
    fn no_rows_collapse_to_the_point() {
        let ci = intervals(&labels(), &[], &[], 100, 1, 0.95);
        assert_eq!((ci.accuracy.low, ci.accuracy.high), (0.0, 0.0));
        assert_eq!(ci.class_f1.len(), 3);
    }
}
