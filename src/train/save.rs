//! Writing checkpoints from the loop, and holding the best weights in memory until then.

use super::Ctx;
use crate::checkpoint::{self, Manifest, FORMAT_VERSION};
use crate::error::Result;
use crate::eval::Metrics;
use crate::model::Classifier;
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

/// A copy of `model`'s weights now, which later steps do not change.
pub(super) fn snapshot(
    model: &dyn Classifier,
    step: usize,
    metrics: &BTreeMap<String, Metrics>,
    seconds: f64,
) -> Result<Best> {
    let weights = model
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
        distill: ctx.distill.as_ref().map(|d| d.record.clone()),
        ensemble: None,
    };
    checkpoint::save(
        dir,
        weights,
        &ctx.pipeline_file,
        &ctx.cfg.resolved_toml,
        manifest,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, ModelKind, TextConfig};
    use crate::model::{build, ModelSpec};
    use crate::optim::Optimizer;
    use crate::text::TextPipeline;

    #[test]
    fn a_snapshot_of_the_best_weights_does_not_move_with_later_steps() {
        let pipeline = TextPipeline::fit(&TextConfig::default(), ["talks resumed", "talks failed"]);
        let spec = ModelSpec {
            kind: ModelKind::Bow,
            config: &ModelConfig::default(),
            pipeline: &pipeline,
            encoder: None,
            heads: &[2],
            seed: 1,
        };
        let mut model = build(&spec, &candle_core::Device::Cpu).unwrap();
        let flat = |t: &Tensor| {
            let t = t.to_dtype(candle_core::DType::F32).unwrap();
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        let best = snapshot(model.as_ref(), 1, &BTreeMap::new(), 0.0).unwrap();
        let then: Vec<Vec<f32>> = best.weights.iter().map(|(_, t)| flat(t)).collect();
        let feats = [pipeline.features("talks resumed")];
        let refs: Vec<_> = feats.iter().collect();
        let batch = model.batch(&refs, true).unwrap();
        let loss = model.forward_t(&batch, true).unwrap()[0].sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let vars = crate::model::sorted_vars(model.varmap());
        let mut opt = Optimizer::new(crate::config::OptimizerKind::AdamW, 0.0, 0.0, vars).unwrap();
        opt.step_dense(&grads, 0.1, 1.0).unwrap();
        let g = model.sparse_grad(&batch, &grads).unwrap().unwrap();
        model.step_sparse(&batch, &g, &opt, 0.1, 1.0);
        let now = model.named_weights().unwrap();
        let mut moved = 0;
        for (((name, kept), (_, current)), then) in best.weights.iter().zip(&now).zip(&then) {
            assert_eq!(&flat(kept), then, "the snapshot of `{name}` changed");
            moved += usize::from(&flat(current) != then);
        }
        assert!(
            moved > 0,
            "the step moved no weight, so the test shows nothing"
        );
    }
}
