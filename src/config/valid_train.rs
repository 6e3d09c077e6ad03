//! Validation of `[train]`: the optimiser, schedule, device, early-stopping metric and class
//! weights, checked once into typed choices.

use super::types::*;
use super::{ClassWeights, TrainConfig};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

type Checked = (OptimizerKind, Schedule, Device, ClassWeightSpec);

/// Check `[train]` against the tasks; `err(key, message)` builds the error.
pub(super) fn validate_train(
    t: &TrainConfig,
    tasks: &[TaskSpec],
    err: &dyn Fn(&str, String) -> Error,
) -> Result<Checked> {
    if t.epochs == 0 && t.max_steps == 0 {
        return Err(err(
            "train.epochs",
            "set train.epochs or train.max_steps (both are 0)".into(),
        ));
    }
    if t.batch_size == 0 {
        return Err(err("train.batch_size", "expected a batch size >= 1".into()));
    }
    if !(t.lr.is_finite() && t.lr > 0.0) {
        return Err(err(
            "train.lr",
            format!("expected a learning rate > 0, got {}", t.lr),
        ));
    }
    if !(0.0..1.0).contains(&t.momentum) || t.weight_decay < 0.0 || t.grad_clip < 0.0 {
        return Err(err(
            "train.momentum",
            "expected 0 <= momentum < 1, weight_decay >= 0 and grad_clip >= 0".into(),
        ));
    }
    if t.sampling == Sampling::Balanced && t.class_weights != ClassWeights::default() {
        return Err(err(
            "train.sampling",
            "balanced sampling and class weights both correct for class imbalance; use one \
             (class_weights = \"none\" with sampling = \"balanced\")"
                .into(),
        ));
    }
    if !(t.layer_lr_decay > 0.0 && t.layer_lr_decay <= 1.0) {
        return Err(err(
            "train.layer_lr_decay",
            format!("expected a factor in (0, 1], got {}", t.layer_lr_decay),
        ));
    }
    if t.lr * t.weight_decay >= 1.0 {
        // Each step multiplies the weights by 1 - lr * weight_decay.
        return Err(err(
            "train.weight_decay",
            format!(
                "expected lr * weight_decay < 1, got {} * {}",
                t.lr, t.weight_decay
            ),
        ));
    }
    if !(0.0..1.0).contains(&t.label_smoothing) {
        return Err(err(
            "train.label_smoothing",
            format!("expected a value in [0, 1), got {}", t.label_smoothing),
        ));
    }
    if !(t.threshold_precision > 0.0 && t.threshold_precision <= 1.0) {
        return Err(err(
            "train.threshold_precision",
            format!(
                "expected a precision in (0, 1], got {}",
                t.threshold_precision
            ),
        ));
    }
    if !(t.fraction > 0.0 && t.fraction <= 1.0) {
        return Err(err(
            "train.fraction",
            format!("expected a fraction in (0, 1], got {}", t.fraction),
        ));
    }
    let (optimizer, schedule, device) = (t.optimizer, t.schedule, t.device);
    if !t.early_stopping_metric.is_empty() {
        let ok = t
            .early_stopping_metric
            .split_once('.')
            .is_some_and(|(task, metric)| {
                tasks.iter().any(|x| x.name == task)
                    && ["macro_f1", "accuracy", "micro_f1", "weighted_f1", "loss"].contains(&metric)
            })
            || t.early_stopping_metric == "loss";
        if !ok {
            return Err(err("train.early_stopping_metric", format!("expected <task>.<metric> with metric one of macro_f1, accuracy, micro_f1, weighted_f1, loss (or `loss`), got `{}`", t.early_stopping_metric)));
        }
    }
    let class_weights = match &t.class_weights {
        ClassWeights::Mode(m) if m == "none" => ClassWeightSpec::None,
        ClassWeights::Mode(m) if m == "balanced" => ClassWeightSpec::Balanced,
        ClassWeights::Mode(m) => return Err(err("train.class_weights", format!("expected \"none\", \"balanced\" or a table {{ task = {{ label = weight }} }}, got `{m}`"))),
        ClassWeights::Explicit(map) => {
            let mut out = BTreeMap::new();
            for (task, weights) in map {
                let spec = tasks.iter().find(|x| &x.name == task).ok_or_else(|| {
                    err("train.class_weights", format!("`{task}` is not a task name"))
                })?;
                let mut v = vec![1.0f32; spec.labels.len()];
                for (label, w) in weights {
                    let i = spec.labels.iter().position(|l| l == label).ok_or_else(|| {
                        err("train.class_weights", format!("`{label}` is not a label of task `{task}`"))
                    })?;
                    if !(w.is_finite() && *w >= 0.0) {
                        return Err(err("train.class_weights", format!("weight for `{task}.{label}` must be >= 0, got {w}")));
                    }
                    v[i] = *w;
                }
                out.insert(task.clone(), v);
            }
            ClassWeightSpec::Explicit(out)
        }
    };
    Ok((optimizer, schedule, device, class_weights))
}
