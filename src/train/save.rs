//! Writing checkpoints from the loop, and holding the best weights in memory until then.

use super::Ctx;
use crate::checkpoint::{self, Manifest, FORMAT_VERSION};
use crate::error::Result;
use crate::eval::Metrics;
use candle_core::Tensor;
use std::collections::BTreeMap;

/// The best weights so far, held in memory: writing a large `bow` table at every improvement
/// would cost more than the training. It goes to disk at the end, on interruption, and before
/// a diverging run reports its error.
pub(super) struct Best {
    weights: Vec<(String, Tensor)>,
    step: usize,
    metrics: BTreeMap<String, Metrics>,
    seconds: f64,
}

pub(super) fn snapshot(
    ctx: &Ctx,
    step: usize,
    metrics: &BTreeMap<String, Metrics>,
    seconds: f64,
) -> Result<Best> {
    let weights = ctx
        .model
        .named_weights()?
        .into_iter()
        .map(|(k, t)| Ok((k, t.copy()?)))
        .collect::<Result<_>>()?;
    Ok(Best {
        weights,
        step,
        metrics: metrics.clone(),
        seconds,
    })
}

/// Write the held best weights to `model-best/`; returns their sha256 if anything was written.
pub(super) fn flush_best(
    ctx: &Ctx,
    run_dir: &std::path::Path,
    best: &mut Option<Best>,
) -> Result<Option<String>> {
    match best.take() {
        Some(b) => Ok(Some(save_checkpoint(
            ctx,
            &run_dir.join("model-best"),
            b.weights,
            b.step,
            &b.metrics,
            b.seconds,
        )?)),
        None => Ok(None),
    }
}

pub(super) fn save_checkpoint(
    ctx: &Ctx,
    dir: &std::path::Path,
    weights: Vec<(String, Tensor)>,
    step: usize,
    dev: &BTreeMap<String, Metrics>,
    seconds: f64,
) -> Result<String> {
    let v = &ctx.cfg.valid;
    let metrics = dev
        .iter()
        .map(|(k, m)| {
            let vals: BTreeMap<String, f64> = [
                ("accuracy", m.accuracy),
                ("macro_f1", m.macro_f1),
                ("weighted_f1", m.weighted_f1),
            ]
            .into_iter()
            .map(|(a, b)| (format!("dev.{a}"), b))
            .collect();
            (k.clone(), vals)
        })
        .collect();
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        model_kind: v.raw.model.kind.clone(),
        seed: v.raw.run.seed,
        threads: ctx.threads,
        device: ctx.device_name.clone(),
        step,
        data: ctx.data_files.clone(),
        config_sha256: String::new(),
        weights_sha256: String::new(),
        pipeline_sha256: None,
        metrics,
        train_seconds: seconds,
        encoder: ctx.encoder.clone(),
    };
    checkpoint::save(
        dir,
        weights,
        &ctx.pipeline_file,
        &ctx.cfg.resolved_toml,
        manifest,
    )
}
