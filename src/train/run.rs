//! The loop itself: steps, evaluation, early stopping, checkpoints, interruption.

use super::log::{DevFigures, Log, LogRecord};
use super::save::{flush_best, save_checkpoint, snapshot, Best};
use super::schedule::{learning_rate, EarlyStopping};
use super::state::{self, LoopState};
use super::stop::{self, EvalSchedule};
use super::{Ctx, TrainOptions, TrainSummary};
use crate::checkpoint;
use crate::data::Example;
use crate::error::{Error, Result};
use crate::eval::predict::predict_features;
use crate::eval::Metrics;
use crate::progress::Progress;
use crate::text::Features;
use std::collections::BTreeMap;
use std::time::Instant;

const EVAL_BATCH: usize = 256;

fn dropout_seed(seed: u64, step: usize) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (step as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

pub fn run(mut ctx: Ctx, mut st: LoopState, opts: &TrainOptions) -> Result<TrainSummary> {
    let v = ctx.cfg.valid.clone();
    let t = &v.raw.train;
    let seed = v.raw.run.seed;
    let run_dir = v.run_dir();
    std::fs::create_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
    let mut log = Log::open(&run_dir.join(super::LOG_FILE), st.step);
    let n = ctx.train.len();
    let bs = t.batch_size;
    let steps_per_epoch = n.div_ceil(bs);
    let total = if t.max_steps > 0 {
        t.max_steps
    } else {
        t.epochs * steps_per_epoch
    };
    let metric = if t.early_stopping_metric.is_empty() {
        format!("{}.macro_f1", v.tasks[0].name)
    } else {
        t.early_stopping_metric.clone()
    };
    let evals = EvalSchedule {
        every: t.eval_every,
        steps_per_epoch,
        total,
    };
    let mut early = st
        .early
        .clone()
        .unwrap_or_else(|| EarlyStopping::new(t.patience, metric.ends_with("loss")));
    let mut progress = Progress::new(opts.quiet);
    let started = Instant::now();
    let mut stop_early = false;
    let mut steps_here = 0usize;
    let mut best: Option<Best> = None;
    let mut best_at = usize::MAX;
    let classes = super::order::sampling_classes(&ctx);
    let lengths: Option<Vec<usize>> = t
        .group_by_length
        .then(|| ctx.train_feats.iter().map(|f| f.word_ids.len()).collect());

    while st.step < total && !stop_early {
        let mut order = super::order::epoch_order(seed, st.epoch, n, classes.as_deref());
        if let Some(lengths) = &lengths {
            order = super::order::group_by_length(order, lengths, bs, seed, st.epoch);
        }
        progress.start(&format!("epoch {}", st.epoch + 1), steps_per_epoch as u64);
        let (mut loss_sum, mut loss_n) = (0f64, 0usize);
        while st.pos < steps_per_epoch && st.step < total {
            let idx = &order[st.pos * bs..((st.pos + 1) * bs).min(n)];
            let lr = learning_rate(v.schedule, t.lr, st.step, t.warmup_steps, total);
            let loss = match train_step(&mut ctx, idx, seed, st.step, lr) {
                Ok(l) => l,
                Err(Error::NonFiniteLoss { step, value, .. }) => {
                    flush_best(&ctx, &run_dir, &mut best)?;
                    let best_dir = run_dir.join("model-best");
                    let kept = match best_dir.join(checkpoint::MANIFEST).is_file() {
                        true => format!("{} holds the last good checkpoint", best_dir.display()),
                        false => "no checkpoint was written: the loss diverged before the first evaluation".into(),
                    };
                    let hint = format!("lower train.lr, set train.grad_clip (e.g. 1.0), or add warmup_steps; {kept}");
                    return Err(Error::NonFiniteLoss { step, value, hint });
                }
                Err(e) => {
                    flush_best(&ctx, &run_dir, &mut best)?;
                    return Err(e);
                }
            };
            st.step += 1;
            st.pos += 1;
            st.examples_seen += idx.len();
            steps_here += 1;
            if let Some(l) = loss {
                loss_sum += f64::from(l);
                loss_n += 1;
            }
            let seconds = st.seconds + started.elapsed().as_secs_f64();
            let mean_loss = loss_sum / loss_n.max(1) as f64;
            progress.update(
                st.pos as u64,
                steps_per_epoch as u64,
                &format!(
                    "loss {mean_loss:.4} {:.0} ex/s",
                    st.examples_seen as f64 / seconds.max(1e-9)
                ),
            );

            if evals.due(st.step, st.pos) {
                if let Some(avg) = ctx.swa.as_mut() {
                    avg.observe(ctx.model.named_weights()?, st.epoch + 1)?;
                }
                if let Some(dev) = &ctx.dev {
                    let (metrics, dev_loss) = evaluate(&ctx, &dev.0, &dev.1)?;
                    let value = metric_value(&metric, &metrics, dev_loss);
                    let improved = early.observe(value, st.step);
                    let summary: Vec<String> = metrics
                        .iter()
                        .map(|(k, m)| {
                            format!("{k} acc {:.4} macro-F1 {:.4}", m.accuracy, m.macro_f1)
                        })
                        .collect();
                    progress.line(&format!(
                        "step {} epoch {}: train loss {mean_loss:.4}, dev loss {dev_loss:.4}, {}{}",
                        st.step,
                        st.epoch + 1,
                        summary.join(", "),
                        if improved { " (best)" } else { "" }
                    ));
                    log.write(&LogRecord {
                        step: st.step,
                        epoch: st.epoch + 1,
                        lr,
                        loss: mean_loss,
                        dev_loss: Some(dev_loss),
                        dev: Some(dev_figures(&metrics)),
                        elapsed: seconds,
                    });
                    if improved {
                        st.best_dev = metrics;
                        // At the final step the best is the last model, written below anyway.
                        best = if st.step == total {
                            None
                        } else {
                            Some(snapshot(
                                ctx.model.as_ref(),
                                st.step,
                                &st.best_dev,
                                seconds,
                            )?)
                        };
                        best_at = st.step;
                    }
                    stop_early = early.should_stop();
                } else {
                    log.write(&LogRecord {
                        step: st.step,
                        epoch: st.epoch + 1,
                        lr,
                        loss: mean_loss,
                        dev_loss: None,
                        dev: None,
                        elapsed: seconds,
                    });
                }
            }
            if stop_early {
                break;
            }
            if stop::interrupted(opts, steps_here, st.step, total) {
                progress.finish();
                flush_best(&ctx, &run_dir, &mut best)?;
                st.early = Some(early.clone());
                st.optimizer_step = ctx.optimizer.step;
                st.seconds += started.elapsed().as_secs_f64();
                state::save(&run_dir, &mut ctx, &st)?;
                return Err(Error::Interrupted);
            }
        }
        if st.pos == steps_per_epoch {
            st.epoch += 1;
            st.pos = 0;
        }
    }
    progress.finish();
    let seconds = st.seconds + started.elapsed().as_secs_f64();
    let last_dir = run_dir.join("model-last");
    let weights = ctx.model.named_weights()?;
    let last_sha = save_checkpoint(&ctx, &last_dir, weights, st.step, &st.best_dev, seconds)?;
    let best_dir = run_dir.join("model-best");
    // When the best evaluation was the last step, model-best is model-last: copy the files
    // rather than serialise (and hash) a large table twice.
    let best_is_last = best_at == st.step;
    let flushed = if best_is_last {
        checkpoint::copy(&last_dir, &best_dir)?;
        Some(last_sha.clone())
    } else {
        flush_best(&ctx, &run_dir, &mut best)?
    };
    let weights_sha256 = match (ctx.dev.is_none(), flushed) {
        // Without dev data there is nothing to select on: the last model is the best one.
        (true, _) => {
            checkpoint::copy(&last_dir, &best_dir)?;
            last_sha
        }
        (false, Some(sha)) => sha,
        // A resumed run that did not improve keeps the best written before the interruption.
        (false, None) => checkpoint::read_manifest(&best_dir)
            .map(|m| m.weights_sha256)
            .unwrap_or(last_sha),
    };
    let (weights_sha256, averaged) = match super::swa::finish(
        &mut ctx,
        &run_dir,
        st.step,
        seconds,
        early.best,
        early.minimise,
        &metric,
    )? {
        Some((record, Some((sha, dev)))) => {
            st.best_dev = dev;
            (sha, Some(record))
        }
        Some((record, None)) => (weights_sha256, Some(record)),
        None => (weights_sha256, None),
    };
    if opts.bundle && ctx.encoder.is_some() {
        for d in [&best_dir, &last_dir] {
            let to = checkpoint::bundle_encoder(d)?;
            progress.line(&format!("bundled the encoder into {}", to.display()));
        }
    }
    // Test metrics come from the best model as saved (its hash checked on loading). Reports
    // on the dev and test splits are the caller's to write (`report::write_run_reports`).
    let needs_best =
        ctx.test.is_some() || ctx.distill.is_some() || super::thresholds::objective(&ctx).is_some();
    let best = match needs_best {
        true => Some(checkpoint::load(&best_dir, ctx.model.device())?),
        false => None,
    };
    let test_probs = match (&ctx.test, &best) {
        (Some((_, feats)), Some(best)) => {
            Some(predict_features(best.single()?, feats, EVAL_BATCH)?)
        }
        _ => None,
    };
    let test = match (&ctx.test, &test_probs) {
        (Some((ex, _)), Some(probs)) => task_metrics(&ctx, ex, &probs.probs).0,
        _ => BTreeMap::new(),
    };
    let teacher_agreement = match &best {
        Some(best) => super::teach::agreements(&ctx, best, test_probs.as_ref())?,
        None => BTreeMap::new(),
    };
    let thresholds = match &best {
        Some(best) => super::thresholds::tune_and_store(&ctx, best, &best_dir)?,
        None => BTreeMap::new(),
    };
    let _ = std::fs::remove_dir_all(run_dir.join(super::RESUME_DIR));
    Ok(TrainSummary {
        averaged,
        thresholds,
        teacher_agreement,
        reports: Vec::new(),
        config: Some(v.clone()),
        run_dir,
        steps: st.step,
        epochs: st.epoch + usize::from(st.pos > 0),
        train_examples: n,
        dropped: ctx.dropped.clone(),
        early_stopping_metric: metric,
        best_value: early.best,
        best_step: early.best_step,
        dev: st.best_dev,
        test,
        train_seconds: seconds,
        examples_per_second: st.examples_seen as f64 / seconds.max(1e-9),
        weights_sha256,
        threads: ctx.threads,
    })
}

/// One optimisation step on the examples `idx`; returns the loss (None if no row had a label).
fn train_step(
    ctx: &mut Ctx,
    idx: &[usize],
    seed: u64,
    step: usize,
    lr: f64,
) -> Result<Option<f32>> {
    let v = &ctx.cfg.valid;
    let feats: Vec<&Features> = idx.iter().map(|&i| &ctx.train_feats[i]).collect();
    let mut batch = ctx.model.batch(&feats, true)?;
    batch.dropout_seed = Some(dropout_seed(seed, step));
    let logits = ctx.model.forward_t(&batch, true)?;
    let Some(loss) = super::objective::batch_loss(ctx, idx, &logits)? else {
        return Ok(None);
    };
    let value = loss.to_scalar::<f32>()?;
    if !value.is_finite() {
        return Err(Error::NonFiniteLoss {
            step: step + 1,
            value,
            hint: String::new(),
        });
    }
    let grads = loss.backward()?;
    let clip = v.raw.train.grad_clip;
    let mut sq = if clip > 0.0 {
        ctx.optimizer.grad_sq_norm(&grads)?
    } else {
        0.0
    };
    let sparse_grad = ctx.model.sparse_grad(&batch, &grads)?;
    if let (Some(g), true) = (&sparse_grad, clip > 0.0) {
        sq += g.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>();
    }
    let norm = sq.sqrt();
    let scale = if clip > 0.0 && norm > clip {
        clip / norm
    } else {
        1.0
    };
    ctx.optimizer.step_dense(&grads, lr, scale)?;
    if let Some(g) = sparse_grad {
        ctx.model.step_sparse(&batch, &g, &ctx.optimizer, lr, scale);
    }
    Ok(Some(value))
}

/// Dev metrics per task, and the mean dev loss (negative log-probability of gold, all tasks).
pub(super) fn evaluate(
    ctx: &Ctx,
    examples: &[Example],
    feats: &[Features],
) -> Result<(BTreeMap<String, Metrics>, f64)> {
    let probs = predict_features(ctx.model.as_ref(), feats, EVAL_BATCH)?;
    Ok(task_metrics(ctx, examples, &probs.probs))
}

fn task_metrics(
    ctx: &Ctx,
    examples: &[Example],
    probs: &[Vec<Vec<f32>>],
) -> (BTreeMap<String, Metrics>, f64) {
    let mut out = BTreeMap::new();
    let (mut nll, mut count) = (0f64, 0usize);
    for (t, task) in ctx.cfg.valid.tasks.iter().enumerate() {
        let mut gold = Vec::new();
        let mut pred = Vec::new();
        for (e, p) in examples.iter().zip(&probs[t]) {
            if let Some(g) = e.labels[t] {
                gold.push(g);
                pred.push(crate::eval::predict::argmax(p));
                nll -= f64::from(p[g as usize].max(1e-12)).ln();
                count += 1;
            }
        }
        out.insert(
            task.name.clone(),
            Metrics::compute(&task.labels, &gold, &pred),
        );
    }
    (out, nll / count.max(1) as f64)
}

pub(super) fn metric_value(
    metric: &str,
    metrics: &BTreeMap<String, Metrics>,
    dev_loss: f64,
) -> f64 {
    if metric == "loss" {
        return dev_loss;
    }
    let (task, name) = metric.split_once('.').unwrap_or((metric, "macro_f1"));
    if name == "loss" {
        return dev_loss;
    }
    metrics.get(task).and_then(|m| m.get(name)).unwrap_or(0.0)
}

fn dev_figures(metrics: &BTreeMap<String, Metrics>) -> BTreeMap<String, DevFigures> {
    metrics
        .iter()
        .map(|(k, m)| {
            let f = DevFigures {
                accuracy: m.accuracy,
                macro_f1: m.macro_f1,
                weighted_f1: m.weighted_f1,
            };
            (k.clone(), f)
        })
        .collect()
}
