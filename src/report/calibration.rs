//! Calibration: does a confidence of 0.8 mean right 80% of the time? Expected calibration
//! error, the multi-class Brier score and the reliability bins behind the diagram.

use super::{Calibration, ReliabilityBin};

pub const BINS: usize = 15;

/// `probs[row][label]`, `gold[row]`, and the predicted label of each row (argmax).
pub fn calibration(probs: &[&[f32]], gold: &[u32], pred: &[u32]) -> Calibration {
    let n = gold.len();
    let mut count = [0usize; BINS];
    let mut conf_sum = [0f64; BINS];
    let mut correct = [0usize; BINS];
    let mut brier = 0f64;
    for ((p, &g), &y) in probs.iter().zip(gold).zip(pred) {
        let conf = p.get(y as usize).copied().map(f64::from).unwrap_or(0.0);
        // Confidence 1.0 belongs to the last bin, which is closed on the right.
        let b = ((conf * BINS as f64) as usize).min(BINS - 1);
        count[b] += 1;
        conf_sum[b] += conf;
        correct[b] += usize::from(g == y);
        brier += p
            .iter()
            .enumerate()
            .map(|(k, &pk)| {
                let target = if k == g as usize { 1.0 } else { 0.0 };
                (f64::from(pk) - target).powi(2)
            })
            .sum::<f64>();
    }
    let bins: Vec<ReliabilityBin> = (0..BINS)
        .map(|b| {
            let c = count[b];
            let mean = |x: f64| if c == 0 { 0.0 } else { x / c as f64 };
            ReliabilityBin {
                lower: b as f64 / BINS as f64,
                upper: (b + 1) as f64 / BINS as f64,
                count: c,
                confidence: mean(conf_sum[b]),
                accuracy: mean(correct[b] as f64),
            }
        })
        .collect();
    let ece = if n == 0 {
        0.0
    } else {
        bins.iter()
            .map(|b| b.count as f64 / n as f64 * (b.accuracy - b.confidence).abs())
            .sum()
    };
    Calibration {
        ece,
        brier: if n == 0 { 0.0 } else { brier / n as f64 },
        bins,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} != {b}");
    }

    #[test]
    fn hand_computed_ece_brier_and_bins() {
        // Row 1: p = (0.9, 0.1), gold 0, right, confidence 0.9 -> bin 13 ([0.8667, 0.9333)).
        // Row 2: p = (0.6, 0.4), gold 1, wrong, confidence 0.6 -> bin 9 ([0.6, 0.6667)).
        // Row 3: p = (0.3, 0.7), gold 1, right, confidence 0.7 -> bin 10 ([0.6667, 0.7333)).
        let rows: [&[f32]; 3] = [&[0.9, 0.1], &[0.6, 0.4], &[0.3, 0.7]];
        let c = calibration(&rows, &[0, 1, 1], &[0, 0, 1]);
        assert_eq!(c.bins.len(), 15);
        assert_eq!(c.bins[13].count, 1);
        assert_eq!(c.bins[9].count, 1);
        assert_eq!(c.bins[10].count, 1);
        close(c.bins[9].confidence, 0.6);
        close(c.bins[9].accuracy, 0.0);
        // ECE = (|1 - 0.9| + |0 - 0.6| + |1 - 0.7|) / 3 = 1.0 / 3.
        close(c.ece, 1.0 / 3.0);
        // Brier: (0.01 + 0.01) + (0.36 + 0.36) + (0.09 + 0.09) = 0.92, / 3.
        close(c.brier, 0.92 / 3.0);
    }

    #[test]
    fn rows_in_one_bin_average_before_the_gap_is_taken() {
        // Both rows have confidence 0.8 (bin 12); one is right: |0.5 - 0.8| = 0.3.
        let rows: [&[f32]; 2] = [&[0.8, 0.2], &[0.8, 0.2]];
        let c = calibration(&rows, &[0, 1], &[0, 0]);
        assert_eq!(c.bins[12].count, 2);
        close(c.ece, 0.3);
    }

    #[test]
    fn certain_and_right_is_perfectly_calibrated() {
        let rows: [&[f32]; 2] = [&[1.0, 0.0, 0.0], &[0.0, 0.0, 1.0]];
        let c = calibration(&rows, &[0, 2], &[0, 2]);
        assert_eq!(c.bins[14].count, 2, "confidence 1.0 falls in the last bin");
        close(c.ece, 0.0);
        close(c.brier, 0.0);
    }

    #[test]
    fn certain_and_wrong_gives_the_worst_brier() {
        let rows: [&[f32]; 1] = [&[1.0, 0.0]];
        let c = calibration(&rows, &[1], &[0]);
        close(c.brier, 2.0);
        close(c.ece, 1.0);
    }

    #[test]
    fn a_single_label_task_is_certain_and_calibrated() {
        let rows: [&[f32]; 2] = [&[1.0], &[1.0]];
        let c = calibration(&rows, &[0, 0], &[0, 0]);
        close(c.ece, 0.0);
        close(c.brier, 0.0);
    }

    #[test]
    fn no_rows_gives_zeros_not_nan() {
        let c = calibration(&[], &[], &[]);
        assert_eq!((c.ece, c.brier), (0.0, 0.0));
        assert!(c.bins.iter().all(|b| b.count == 0));
    }
}
