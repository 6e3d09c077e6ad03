//! The loss of one batch: per task, the gold cross-entropy and, when distilling, the
//! teacher's soft-label term, mixed by `distill.alpha` and weighted by the task's weight.

use super::loss::{cross_entropy, soft_cross_entropy};
use super::Ctx;
use crate::error::Result;
use candle_core::Tensor;

/// The batch `idx`'s loss from the model's `logits` (one tensor per task); `None` when no row
/// has a gold label or a teacher target for any task.
pub(super) fn batch_loss(ctx: &Ctx, idx: &[usize], logits: &[Tensor]) -> Result<Option<Tensor>> {
    let v = &ctx.cfg.valid;
    // Row weights only where a source is weighted: weight 1 leaves the sums as they were.
    let rows: Vec<f32> = idx.iter().map(|&i| ctx.train[i].weight).collect();
    let row_weights = rows.iter().any(|&w| w != 1.0).then_some(rows.as_slice());
    let mut total: Option<Tensor> = None;
    let mut add = |l: Tensor, w: f64| -> Result<()> {
        let l = (l * w)?;
        total = Some(match total.take() {
            None => l,
            Some(acc) => (acc + l)?,
        });
        Ok(())
    };
    for (t, task) in v.tasks.iter().enumerate() {
        let soft = ctx.distill.as_ref().and_then(|d| {
            d.soft[t]
                .as_ref()
                .map(|s| (s, d.spec.alpha, d.spec.temperature))
        });
        let gold_share = soft.map_or(1.0, |(_, alpha, _)| 1.0 - alpha);
        let labels: Vec<Option<u32>> = idx.iter().map(|&i| ctx.train[i].labels[t]).collect();
        let gold = cross_entropy(
            &logits[t],
            &labels,
            ctx.class_weights[t].as_deref(),
            row_weights,
            v.raw.train.label_smoothing,
        )?;
        if let Some(l) = gold {
            add(l, f64::from(task.weight) * gold_share)?;
        }
        if let Some((targets, alpha, temperature)) = soft {
            let rows: Vec<Option<&[f32]>> = idx.iter().map(|&i| targets.row(i)).collect();
            if let Some(l) = soft_cross_entropy(&logits[t], &rows, temperature)? {
                add(l, f64::from(task.weight) * alpha)?;
            }
        }
    }
    Ok(total)
}
