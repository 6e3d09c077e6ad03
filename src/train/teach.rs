//! The student's side of distillation in the trainer: train the teacher when only its config
//! exists, add the pool to the training rows, attach the teacher's targets, and measure the
//! student's agreement with its teacher at the end.

use super::{train, Ctx, TrainOptions};
use crate::checkpoint::{LoadedModel, MANIFEST};
use crate::config::{load_config, DistillSpec, ValidConfig};
use crate::data::Example;
use crate::distill::{self, targets::teacher_probs, Agreement, Distill, DistillRecord};
use crate::error::{Error, Result};
use crate::eval::predict::predict_features;
use crate::eval::Predictions;
use crate::progress::Progress;
use std::collections::BTreeMap;

/// Train the teacher first when its checkpoint is missing and its config is named, so one
/// command runs the whole pipeline.
pub(super) fn ensure_teacher(v: &ValidConfig, opts: &TrainOptions) -> Result<()> {
    let Some(d) = &v.distill else { return Ok(()) };
    let err = |message: String| Error::ConfigValue {
        path: v.config_path.clone(),
        key: "distill.teacher".into(),
        message,
    };
    if d.teacher.starts_with(v.run_dir()) {
        let m = format!(
            "the teacher {} lies in this run's own folder, which training replaces",
            d.teacher.display()
        );
        return Err(err(m));
    }
    let (false, Some(config)) = (d.teacher.join(MANIFEST).is_file(), &d.teacher_config) else {
        return Ok(());
    };
    Progress::new(opts.quiet).line(&format!(
        "no teacher at {}: training it first with {}",
        d.teacher.display(),
        config.display()
    ));
    let cfg = load_config(config, &[])?;
    let teacher_run = cfg.valid.run_dir();
    let teacher_opts = TrainOptions {
        stop_after_steps: None,
        ..opts.clone()
    };
    train(cfg, &teacher_opts)?;
    if !d.teacher.join(MANIFEST).is_file() {
        return Err(err(format!(
            "{} trained into {}, not into the teacher folder {}",
            config.display(),
            teacher_run.display(),
            d.teacher.display()
        )));
    }
    Ok(())
}

/// The loaded teacher, its task map and the record of the pool it will teach on.
pub(super) struct Teaching {
    teacher: LoadedModel,
    maps: Vec<distill::TaskMap>,
    record: DistillRecord,
}

/// Add the pool's texts, then the perturbed copies of the labelled texts (`augment`), to
/// `train` as unlabelled rows, after the labelled ones.
pub(super) fn add_pool(
    v: &ValidConfig,
    spec: &DistillSpec,
    train: &mut Vec<Example>,
    device: &candle_core::Device,
) -> Result<Teaching> {
    let (teacher, maps) = distill::load_teacher(spec, &v.tasks, &v.config_path, device)?;
    let (mut texts, files) = distill::read_pools(spec)?;
    let pool_texts = texts.len();
    let labelled: Vec<&str> = train.iter().map(|e| e.text.as_str()).collect();
    texts.extend(distill::augment::augment(
        &labelled,
        spec.augment,
        spec.augment_mask,
        spec.augment_window,
        v.raw.run.seed,
    ));
    let record = DistillRecord {
        teacher: spec.teacher.display().to_string(),
        teacher_weights_sha256: teacher.manifest.weights_sha256.clone(),
        teacher_pipeline_sha256: teacher.manifest.pipeline_sha256.clone(),
        pool: files,
        pool_texts,
        augmented_texts: texts.len() - pool_texts,
        temperature: spec.temperature,
        alpha: spec.alpha,
    };
    let tasks = v.tasks.len();
    train.extend(texts.into_iter().map(|text| Example {
        text,
        labels: vec![None; tasks],
        weight: 1.0,
    }));
    Ok(Teaching {
        teacher,
        maps,
        record,
    })
}

/// The teacher's targets for the training rows (all, or only the pool's when `on_train` is
/// off) and its labels for dev and test.
pub(super) fn attach(
    spec: &DistillSpec,
    teaching: Teaching,
    train: &[Example],
    dev: Option<&[Example]>,
    test: Option<&[Example]>,
    quiet: bool,
) -> Result<Distill> {
    let Teaching {
        teacher,
        maps,
        record,
    } = teaching;
    let teacher = &teacher;
    let widths: Vec<usize> = teacher.tasks.iter().map(|t| t.labels.len()).collect();
    let n = train.len();
    let labelled = n - record.pool_texts - record.augmented_texts;
    let guided = match spec.on_train {
        true => 0..n,
        false => labelled..n,
    };
    // Each block is cached on its own, so a change to one (say, more copies) reuses the others.
    let blocks = [
        (guided.start..labelled, "labelled training rows"),
        (labelled..labelled + record.pool_texts, "pool"),
        (labelled + record.pool_texts..n, "augmented copies"),
    ];
    let mut probs: distill::targets::TaskProbs = vec![Vec::new(); widths.len()];
    for (range, label) in blocks {
        let texts: Vec<&str> = train[range].iter().map(|e| e.text.as_str()).collect();
        let block = teacher_probs(teacher, &texts, &spec.cache_dir, label, quiet)?;
        for (all, part) in probs.iter_mut().zip(block) {
            all.extend(part);
        }
    }
    let soft = distill::soft_targets(&maps, &probs, &widths, n, guided, spec.temperature);
    let held_out = |rows: Option<&[Example]>, label: &str| -> Result<distill::TeacherLabels> {
        let rows = rows.unwrap_or(&[]);
        let texts: Vec<&str> = rows.iter().map(|e| e.text.as_str()).collect();
        let probs = teacher_probs(teacher, &texts, &spec.cache_dir, label, quiet)?;
        Ok(distill::teacher_labels(&maps, &probs, &widths, rows.len()))
    };
    let dev_teacher = held_out(dev, "dev")?;
    let test_teacher = held_out(test, "test")?;
    Ok(Distill {
        spec: spec.clone(),
        record,
        soft,
        dev_teacher,
        test_teacher,
    })
}

/// Per split (`dev`, `test`) and task, the agreement of `best` with the teacher; the test
/// split's predictions are the ones the run already made for its test metrics.
pub(super) fn agreements(
    ctx: &Ctx,
    best: &LoadedModel,
    test: Option<&Predictions>,
) -> Result<BTreeMap<String, BTreeMap<String, Agreement>>> {
    let Some(d) = &ctx.distill else {
        return Ok(BTreeMap::new());
    };
    let dev = match &ctx.dev {
        Some((_, feats)) if !feats.is_empty() => {
            Some(predict_features(best.single()?, feats, 256)?)
        }
        _ => None,
    };
    let splits = [
        ("dev", dev.as_ref(), &d.dev_teacher),
        ("test", test, &d.test_teacher),
    ];
    let mut out = BTreeMap::new();
    for (name, probs, teacher) in splits {
        let Some(probs) = probs else { continue };
        let mut per_task = BTreeMap::new();
        for (t, task) in ctx.cfg.valid.tasks.iter().enumerate() {
            if let Some(labels) = &teacher[t] {
                let student = probs.argmax(t);
                per_task.insert(
                    task.name.clone(),
                    distill::agreement(&task.labels, labels, &student),
                );
            }
        }
        out.insert(name.to_string(), per_task);
    }
    Ok(out)
}
