//! Prediction: the single path from texts to class probabilities. Training's dev evaluation,
//! `evaluate` and `classify` all call this, so they cannot drift apart.

use crate::model::Classifier;
use crate::text::{Features, TextPipeline};
use candle_core::Result;

/// Index of the largest value (ties: lowest index; NaN never wins). The one argmax every
/// prediction path uses.
pub fn argmax(p: &[f32]) -> u32 {
    p.iter()
        .enumerate()
        .fold((0usize, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0 as u32
}

/// Probabilities per task, per row, per label (in the task's label order).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub probs: Vec<Vec<Vec<f32>>>,
}

impl Predictions {
    /// Index of the most probable label of each row for `task` (ties: lowest index).
    pub fn argmax(&self, task: usize) -> Vec<u32> {
        self.probs[task].iter().map(|p| argmax(p)).collect()
    }
}

/// Featurise and predict `texts` in batches of `batch_size`, keeping input order.
pub fn predict(
    model: &dyn Classifier,
    pipeline: &TextPipeline,
    texts: &[&str],
    batch_size: usize,
) -> Result<Predictions> {
    let feats: Vec<Features> = texts.iter().map(|t| pipeline.features(t)).collect();
    predict_features(model, &feats, batch_size)
}

/// Predict featurised texts in batches of `batch_size`, keeping input order. Sequence models
/// (`sort_by_length`) sort all of `feats` by length and run batches of at most
/// `SEQUENCE_BATCH`, so padding stays small; each row's result does not depend on which rows
/// share its batch.
pub fn predict_features(
    model: &dyn Classifier,
    feats: &[Features],
    batch_size: usize,
) -> Result<Predictions> {
    let mut probs: Vec<Vec<Vec<f32>>> = Vec::new();
    in_batches(model, feats, batch_size, |chunk, batch| {
        let logits = model.forward_t(batch, false)?;
        if probs.is_empty() {
            probs = vec![vec![Vec::new(); feats.len()]; logits.len()];
        }
        for (t, l) in logits.iter().enumerate() {
            let p = candle_nn::ops::softmax_last_dim(l)?.to_device(&candle_core::Device::Cpu)?;
            for (&i, row) in chunk.iter().zip(p.to_vec2::<f32>()?) {
                probs[t][i] = row;
            }
        }
        Ok(())
    })?;
    Ok(Predictions { probs })
}

/// The model's own representation of each text (`Classifier::represent`), in input order,
/// batched as `predict_features` is.
pub fn represent_features(
    model: &dyn Classifier,
    feats: &[Features],
    batch_size: usize,
) -> Result<Vec<Vec<f32>>> {
    let mut out = vec![Vec::new(); feats.len()];
    in_batches(model, feats, batch_size, |chunk, batch| {
        let r = model
            .represent(batch)?
            .to_device(&candle_core::Device::Cpu)?;
        for (&i, row) in chunk.iter().zip(r.to_vec2::<f32>()?) {
            out[i] = row;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Run `each(rows, batch)` over `feats` in batches of `batch_size` (sequence models: sorted
/// by length, at most `SEQUENCE_BATCH` a batch, so padding stays small).
fn in_batches(
    model: &dyn Classifier,
    feats: &[Features],
    batch_size: usize,
    mut each: impl FnMut(&[usize], &crate::model::Batch) -> Result<()>,
) -> Result<()> {
    let order: Vec<usize> = if model.sort_by_length() {
        crate::model::length_order(feats)
    } else {
        (0..feats.len()).collect()
    };
    let forward_batch = if model.sort_by_length() {
        batch_size.clamp(1, crate::model::SEQUENCE_BATCH)
    } else {
        batch_size.max(1)
    };
    for chunk in order.chunks(forward_batch) {
        let refs: Vec<&Features> = chunk.iter().map(|&i| &feats[i]).collect();
        let batch = model.batch(&refs, false)?;
        each(chunk, &batch)?;
    }
    Ok(())
}
