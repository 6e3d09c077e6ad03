//! The last part of a run: tune per-class thresholds on the dev split with the best model, as
//! saved, and store them in `model-best` (`train.thresholds`). The weights are not touched, so
//! a run's weights hash does not depend on this setting.

use super::Ctx;
use crate::checkpoint::{self, LoadedModel};
use crate::config::ThresholdTuning;
use crate::error::Result;
use crate::eval::predict::predict_features;
use crate::eval::thresholds::{decide, metrics, tune, Objective, Thresholds};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

const BATCH: usize = 256;

/// One task's tuned thresholds and what they did on dev.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TunedTask {
    pub objective: String,
    /// Label -> threshold.
    pub values: BTreeMap<String, f32>,
    pub dev_macro_f1_before: f64,
    pub dev_macro_f1_after: f64,
    /// Dev rows that still get a label (the rest abstain).
    pub dev_coverage_after: f64,
}

/// The objective `train.thresholds` asks for, if any.
pub(crate) fn objective(ctx: &Ctx) -> Option<Objective> {
    let t = &ctx.cfg.valid.raw.train;
    match t.thresholds {
        ThresholdTuning::None => None,
        ThresholdTuning::F1 => Some(Objective::F1),
        ThresholdTuning::Precision => Some(Objective::Precision(t.threshold_precision)),
    }
}

/// Tune on dev with `best` and store the result in `best_dir`; nothing without an objective or
/// a dev split.
pub(crate) fn tune_and_store(
    ctx: &Ctx,
    best: &LoadedModel,
    best_dir: &Path,
) -> Result<BTreeMap<String, TunedTask>> {
    let (Some(objective), Some((examples, feats))) = (objective(ctx), &ctx.dev) else {
        return Ok(BTreeMap::new());
    };
    let probs = predict_features(best.single()?, feats, BATCH)?;
    let mut stored = BTreeMap::new();
    let mut tuned = BTreeMap::new();
    for (t, task) in ctx.cfg.valid.tasks.iter().enumerate() {
        let (mut gold, mut rows): (Vec<u32>, Vec<&[f32]>) = (Vec::new(), Vec::new());
        for (e, p) in examples.iter().zip(&probs.probs[t]) {
            if let Some(g) = e.labels[t] {
                gold.push(g);
                rows.push(p);
            }
        }
        let values = tune(task.labels.len(), &gold, &rows, objective);
        let zeros = vec![0f32; values.len()];
        let apply =
            |th: &[f32]| -> Vec<Option<u32>> { rows.iter().map(|p| decide(p, th)).collect() };
        let before = metrics(&task.labels, &gold, &apply(&zeros));
        let after_pred = apply(&values);
        let after = metrics(&task.labels, &gold, &after_pred);
        let covered = after_pred.iter().filter(|p| p.is_some()).count();
        tuned.insert(
            task.name.clone(),
            TunedTask {
                objective: objective.describe(),
                values: task
                    .labels
                    .iter()
                    .cloned()
                    .zip(values.iter().copied())
                    .collect(),
                dev_macro_f1_before: before.macro_f1,
                dev_macro_f1_after: after.macro_f1,
                dev_coverage_after: covered as f64 / gold.len().max(1) as f64,
            },
        );
        stored.insert(
            task.name.clone(),
            Thresholds {
                objective: objective.describe(),
                values,
            },
        );
    }
    checkpoint::set_thresholds(best_dir, &stored)?;
    Ok(tuned)
}
