//! Weight averaging, SWA-style (`train.average_from = E`): from epoch E on, the weights at
//! every evaluation are added up; at the end their mean is evaluated on dev, written as
//! `model-swa/`, and becomes `model-best` when it scores better than the best single
//! checkpoint (or when there is no dev split to choose on). Averages of late checkpoints
//! often generalise better than any one of them (Izmailov et al., 2018).
//!
//! The sum runs in evaluation order, so the mean is the same bits on every run; an
//! interrupted run saves the sum with its resume state and continues it.

use super::Ctx;
use crate::error::{Error, Result};
use crate::eval::Metrics;
use candle_core::Tensor;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The running sum of the weights seen since `from_epoch`.
pub(crate) struct Averager {
    from_epoch: usize,
    sum: Vec<(String, Tensor)>,
    pub count: usize,
}

/// What averaging gave, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Averaged {
    pub from_epoch: usize,
    pub checkpoints: usize,
    /// The early-stopping metric of the mean on dev (absent without a dev split).
    pub dev_value: Option<f64>,
    /// Whether the mean became `model-best`.
    pub chosen: bool,
}

impl Averager {
    /// The averager a config asks for, if any. `bow` keeps its table sparse (only the rows a
    /// run touched are stored), which a sum of snapshots cannot line up: refused.
    pub fn for_config(v: &crate::config::ValidConfig) -> Result<Option<Averager>> {
        let from_epoch = v.raw.train.average_from;
        if from_epoch == 0 {
            return Ok(None);
        }
        if v.raw.model.kind == "bow" {
            return Err(Error::ConfigValue {
                path: v.config_path.clone(),
                key: "train.average_from".into(),
                message: "weight averaging applies to cnn, transformer and pretrained models; bow's sparse table is not averaged".into(),
            });
        }
        Ok(Some(Averager {
            from_epoch,
            sum: Vec::new(),
            count: 0,
        }))
    }

    /// Add the weights now, if `epoch` (1-based) has reached the start.
    pub fn observe(&mut self, weights: Vec<(String, Tensor)>, epoch: usize) -> Result<()> {
        if epoch < self.from_epoch {
            return Ok(());
        }
        if self.sum.is_empty() {
            self.sum = weights
                .into_iter()
                .map(|(k, t)| Ok((k, t.copy()?)))
                .collect::<Result<_>>()?;
        } else {
            for ((name, s), (other, t)) in self.sum.iter_mut().zip(weights) {
                if *name != other {
                    return Err(Error::Input(format!(
                        "weight averaging: `{other}` where `{name}` was expected"
                    )));
                }
                *s = (&*s + &t)?;
            }
        }
        self.count += 1;
        Ok(())
    }

    /// The mean of the weights seen, by name; `None` before any.
    pub fn mean(&self) -> Result<Option<HashMap<String, Tensor>>> {
        if self.count == 0 {
            return Ok(None);
        }
        let k = self.count as f64;
        let mean = self
            .sum
            .iter()
            .map(|(n, s)| Ok((n.clone(), (s / k)?)))
            .collect::<Result<_>>()?;
        Ok(Some(mean))
    }

    /// The sum, for a resume state.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.sum.clone()
    }

    /// Continue from a saved sum of `count` checkpoints.
    pub fn restore(&mut self, sum: &HashMap<String, Tensor>, count: usize) -> Result<()> {
        let mut names: Vec<&String> = sum.keys().collect();
        names.sort();
        self.sum = names
            .into_iter()
            .map(|n| (n.clone(), sum[n].clone()))
            .collect();
        self.count = count;
        Ok(())
    }
}

/// When the mean became model-best: its weights' sha256 and dev metrics.
pub(super) type NewBest = Option<(String, BTreeMap<String, Metrics>)>;

/// At the end of a run: evaluate the mean on dev, write `model-swa/`, and make it
/// `model-best` when it beats `best_value` (or without dev). Returns what happened and, when
/// chosen, the new best weights' sha256 and dev metrics.
pub(super) fn finish(
    ctx: &mut Ctx,
    run_dir: &std::path::Path,
    step: usize,
    seconds: f64,
    best_value: Option<f64>,
    minimise: bool,
    metric: &str,
) -> Result<Option<(Averaged, NewBest)>> {
    let Some(avg) = &ctx.swa else {
        return Ok(None);
    };
    let from_epoch = avg.from_epoch;
    let checkpoints = avg.count;
    let Some(mean) = avg.mean()? else {
        return Ok(Some((
            Averaged {
                from_epoch,
                checkpoints,
                dev_value: None,
                chosen: false,
            },
            None,
        )));
    };
    ctx.model.load_weights(&mean)?;
    let (metrics, value) = match &ctx.dev {
        Some((ex, feats)) => {
            let (metrics, loss) = super::run::evaluate(ctx, ex, feats)?;
            let value = super::run::metric_value(metric, &metrics, loss);
            (metrics, Some(value))
        }
        None => (BTreeMap::new(), None),
    };
    let dir = run_dir.join("model-swa");
    let weights = ctx.model.named_weights()?;
    let sha = super::save::save_checkpoint(ctx, &dir, weights, step, &metrics, seconds)?;
    let chosen = match (value, best_value) {
        (None, _) | (Some(_), None) => true,
        (Some(v), Some(b)) if minimise => v < b,
        (Some(v), Some(b)) => v > b,
    };
    if chosen {
        crate::checkpoint::copy(&dir, &run_dir.join("model-best"))?;
    }
    let record = Averaged {
        from_epoch,
        checkpoints,
        dev_value: value,
        chosen,
    };
    Ok(Some((record, chosen.then_some((sha, metrics)))))
}
