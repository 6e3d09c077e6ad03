//! Cross-entropy with label smoothing, class weights and rows without a label.

use candle_core::{Result, Tensor, D};

/// Mean loss over the rows of `logits` (`[B, K]`) that have a label; `None` when no row has
/// one (the task adds nothing to this batch's loss). With class weights, the mean is weighted
/// (sum of w_i * loss_i over sum of w_i), as in PyTorch. `row_weights` (one per row of
/// `labels`, e.g. a source's weight) multiply the class weights.
pub fn cross_entropy(
    logits: &Tensor,
    labels: &[Option<u32>],
    class_weights: Option<&[f32]>,
    row_weights: Option<&[f32]>,
    smoothing: f64,
) -> Result<Option<Tensor>> {
    let rows: Vec<u32> = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_some())
        .map(|(i, _)| i as u32)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let device = logits.device();
    let k = logits.dim(1)?;
    let n = rows.len();
    let idx = Tensor::from_vec(rows, n, device)?;
    let logp = candle_nn::ops::log_softmax(&logits.index_select(&idx, 0)?, D::Minus1)?;
    let eps = smoothing as f32;
    let mut target = vec![eps / k as f32; n * k];
    let mut weights = Vec::with_capacity(n);
    let labelled = labels
        .iter()
        .enumerate()
        .filter_map(|(row, l)| l.map(|y| (row, y)));
    for (i, (row, y)) in labelled.enumerate() {
        target[i * k + y as usize] += 1.0 - eps;
        let w = class_weights.map(|w| w[y as usize]).unwrap_or(1.0);
        weights.push(match row_weights {
            Some(r) => w * r[row],
            None => w,
        });
    }
    let total_w: f32 = weights.iter().sum();
    let target = Tensor::from_vec(target, (n, k), device)?;
    let per_row = (target * logp)?.sum(1)?.neg()?; // [n]
    let w = Tensor::from_vec(weights, n, device)?;
    let loss = ((per_row * w)?.sum_all()? / f64::from(total_w.max(f32::MIN_POSITIVE)))?;
    Ok(Some(loss))
}

/// Distillation loss: T² times the mean, over the rows that have a target, of
/// KL(target || softmax(logits / T)); `None` when no row has one. The T² keeps the gradient's
/// scale comparable to the gold loss's whatever the temperature (Hinton et al., 2015).
pub fn soft_cross_entropy(
    logits: &Tensor,
    targets: &[Option<&[f32]>],
    temperature: f64,
) -> Result<Option<Tensor>> {
    let rows: Vec<u32> = (0..targets.len() as u32)
        .filter(|&i| targets[i as usize].is_some())
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let device = logits.device();
    let (n, k) = (rows.len(), logits.dim(1)?);
    let idx = Tensor::from_vec(rows, n, device)?;
    let scaled = (logits.index_select(&idx, 0)? / temperature)?;
    let logp = candle_nn::ops::log_softmax(&scaled, D::Minus1)?;
    let flat: Vec<f32> = targets
        .iter()
        .flatten()
        .flat_map(|t| t.iter().copied())
        .collect();
    // Σ q ln q, a constant: with it the loss is the KL divergence, 0 when the student matches.
    let neg_entropy: f64 = flat
        .iter()
        .filter(|&&q| q > 0.0)
        .map(|&q| f64::from(q) * f64::from(q).ln())
        .sum();
    let target = Tensor::from_vec(flat, (n, k), device)?;
    let cross = (target * logp)?.sum_all()?.neg()?;
    let kl = ((cross + neg_entropy)? / n as f64)?;
    Ok(Some((kl * (temperature * temperature))?))
}

/// Class weights "balanced" (scikit-learn's definition), 1.0 for classes absent from training.
pub fn balanced_weights(labels: &[Option<u32>], k: usize) -> Vec<f32> {
    let mut counts = vec![0usize; k];
    for l in labels.iter().flatten() {
        counts[*l as usize] += 1;
    }
    let n: usize = counts.iter().sum();
    // As scikit-learn: n / (classes present * count), so absent classes don't dilute the rest.
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                1.0
            } else {
                n as f32 / (present as f32 * c as f32)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn logits() -> Tensor {
        Tensor::new(&[[2.0f32, 0.0, 0.0], [0.0, 1.0, 0.0]], &Device::Cpu).unwrap()
    }

    fn value(t: Option<Tensor>) -> f32 {
        t.unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn plain_cross_entropy_matches_hand_computation() {
        let l0 = -(2f32.exp() / (2f32.exp() + 2.0)).ln();
        let l1 = -(1f32.exp() / (1f32.exp() + 2.0)).ln();
        let got = value(cross_entropy(&logits(), &[Some(0), Some(1)], None, None, 0.0).unwrap());
        assert!((got - (l0 + l1) / 2.0).abs() < 1e-6);
    }

    #[test]
    fn rows_without_label_add_no_loss() {
        let l0 = -(2f32.exp() / (2f32.exp() + 2.0)).ln();
        let got = value(cross_entropy(&logits(), &[Some(0), None], None, None, 0.0).unwrap());
        assert!((got - l0).abs() < 1e-6);
        assert!(cross_entropy(&logits(), &[None, None], None, None, 0.0)
            .unwrap()
            .is_none());
    }

    #[test]
    fn class_weights_give_a_weighted_mean() {
        let l0 = -(2f32.exp() / (2f32.exp() + 2.0)).ln();
        let l1 = -(1f32.exp() / (1f32.exp() + 2.0)).ln();
        let got = value(
            cross_entropy(
                &logits(),
                &[Some(0), Some(1)],
                Some(&[1.0, 3.0, 1.0]),
                None,
                0.0,
            )
            .unwrap(),
        );
        assert!((got - (l0 + 3.0 * l1) / 4.0).abs() < 1e-6);
    }

    #[test]
    fn row_weights_multiply_class_weights_and_skip_unlabelled_rows() {
        let l0 = -(2f32.exp() / (2f32.exp() + 2.0)).ln();
        let l1 = -(1f32.exp() / (1f32.exp() + 2.0)).ln();
        let got = value(
            cross_entropy(
                &logits(),
                &[Some(0), Some(1)],
                Some(&[1.0, 3.0, 1.0]),
                Some(&[2.0, 0.5]),
                0.0,
            )
            .unwrap(),
        );
        assert!((got - (2.0 * l0 + 1.5 * l1) / 3.5).abs() < 1e-6);
        let one = value(
            cross_entropy(&logits(), &[None, Some(1)], None, Some(&[9.0, 2.0]), 0.0).unwrap(),
        );
        assert!((one - l1).abs() < 1e-6);
    }

    #[test]
    fn label_smoothing_raises_the_loss_of_a_confident_correct_prediction() {
        let sharp = Tensor::new(&[[10.0f32, 0.0, 0.0]], &Device::Cpu).unwrap();
        let plain = value(cross_entropy(&sharp, &[Some(0)], None, None, 0.0).unwrap());
        let smooth = value(cross_entropy(&sharp, &[Some(0)], None, None, 0.1).unwrap());
        assert!(smooth > plain);
    }

    #[test]
    fn the_soft_loss_is_zero_when_the_student_matches_its_teacher_and_skips_rows_without_a_target()
    {
        let l = logits();
        let p0 = candle_nn::ops::softmax_last_dim(&(&l / 2.0).unwrap()).unwrap();
        let p0: Vec<Vec<f32>> = p0.to_vec2().unwrap();
        let same = value(soft_cross_entropy(&l, &[Some(&p0[0]), None], 2.0).unwrap());
        assert!(same.abs() < 1e-5, "{same}");
        let uniform = [1.0f32 / 3.0; 3];
        let off = value(soft_cross_entropy(&l, &[Some(&uniform), None], 2.0).unwrap());
        assert!(off > 1e-3);
        assert!(soft_cross_entropy(&l, &[None, None], 2.0)
            .unwrap()
            .is_none());
    }

    #[test]
    fn balanced_weights_are_inverse_frequency() {
        let w = balanced_weights(&[Some(0), Some(0), Some(0), Some(1), None], 3);
        assert_eq!(w, vec![4.0 / 6.0, 2.0, 1.0]);
    }
}
