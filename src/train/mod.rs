//! Training: one loop for every architecture.
//!
//! Reproducibility is by construction: weights come from our seeded RNG, each epoch's order is
//! a shuffle seeded by (seed, epoch), each step's dropout masks by (seed, step), and sums run
//! in a fixed order. The loop's whole state is therefore (weights, optimiser moments, step,
//! epoch, position in the epoch, early-stopping record), which is what an interrupted run
//! saves and `--resume` restores, giving the same bits as a straight run.

pub mod learning;
pub mod log;
pub mod loss;
pub mod members;
mod objective;
mod order;
mod run;
mod save;
pub mod schedule;
mod state;
mod stop;
mod summary;
mod swa;
mod teach;
pub mod thresholds;

use crate::checkpoint::{sha256_file, DataFile, PipelineFile, TaskLabels, FORMAT_VERSION};
use crate::config::EncoderMode;
use crate::config::{ClassWeightSpec, LoadedConfig};
use crate::data::{encode, load_corpus, EncodeReport, Example, Part};
use crate::error::{Error, Result};
use crate::eval::Metrics;
use crate::model::pretrained::{cache, EncoderRecord, TUNED_PREFIX};
use crate::model::{self, Classifier, LoadedEncoder, ModelSpec};
use crate::optim::Optimizer;
use crate::text::{Features, TextPipeline};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use log::LOG_FILE;
pub use state::RESUME_DIR;

/// How a run is driven (not part of the config: it does not change the result).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    pub quiet: bool,
    /// Set by a Ctrl-C handler: finish the step, save a resumable state, stop.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Behave as if interrupted after this many steps (for testing resume).
    pub stop_after_steps: Option<usize>,
    /// `pretrained`: copy the encoder into the checkpoints, so they are self-contained.
    pub bundle: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub run_dir: PathBuf,
    pub steps: usize,
    pub epochs: usize,
    pub train_examples: usize,
    pub dropped: EncodeReport,
    pub early_stopping_metric: String,
    pub best_value: Option<f64>,
    pub best_step: usize,
    /// Dev metrics per task of the best checkpoint.
    pub dev: BTreeMap<String, Metrics>,
    /// Test metrics per task of the best checkpoint, when a test split exists.
    pub test: BTreeMap<String, Metrics>,
    pub train_seconds: f64,
    pub examples_per_second: f64,
    pub weights_sha256: String,
    pub threads: usize,
    /// Per task, the thresholds tuned on dev and stored in model-best (`train.thresholds`).
    pub thresholds: BTreeMap<String, thresholds::TunedTask>,
    /// Report folders written for the dev and test splits (`report-dev/`, `report-test/`),
    /// filled in by `report::write_run_reports`.
    pub reports: Vec<PathBuf>,
    /// `[distill]`: per split (`dev`, `test`) and task, how often the student's label is the
    /// teacher's, overall and per teacher label.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub teacher_agreement: BTreeMap<String, BTreeMap<String, crate::distill::Agreement>>,
    /// `train.average_from`: how many checkpoints were averaged, the mean's dev score, and
    /// whether it became model-best.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub averaged: Option<swa::Averaged>,
    /// The config the run trained with, for writing those reports.
    #[serde(skip)]
    pub config: Option<crate::config::ValidConfig>,
}

/// Everything the loop needs, rebuilt identically from the config for a resume.
pub(crate) struct Ctx {
    pub cfg: LoadedConfig,
    pub pipeline_file: PipelineFile,
    pub train: Vec<Example>,
    pub train_feats: Vec<Features>,
    pub dev: Option<(Vec<Example>, Vec<Features>)>,
    pub test: Option<(Vec<Example>, Vec<Features>)>,
    pub dropped: EncodeReport,
    pub data_files: Vec<DataFile>,
    pub class_weights: Vec<Option<Vec<f32>>>,
    pub model: Box<dyn Classifier>,
    pub optimizer: Optimizer,
    pub threads: usize,
    pub device_name: String,
    /// `pretrained`: the encoder's files and hashes, for the manifest and `--bundle`.
    pub encoder: Option<EncoderRecord>,
    /// `[distill]`: the teacher's targets and labels.
    pub distill: Option<crate::distill::Distill>,
    /// `train.average_from`: the running sum of the weights to average.
    pub swa: Option<swa::Averager>,
}

/// Train from a config file.
pub fn train(cfg: LoadedConfig, opts: &TrainOptions) -> Result<TrainSummary> {
    refuse_data_in_run_dir(&cfg.valid)?;
    teach::ensure_teacher(&cfg.valid, opts)?;
    on_threads(cfg, |cfg| {
        let ctx = build_ctx(cfg, opts.quiet, Start::Fresh)?;
        let run_dir = ctx.cfg.valid.run_dir();
        // A fresh run starts from a clean slate: no stale resume state, log or temporary files
        // from an older run (the log is restarted when it opens).
        let _ = std::fs::remove_dir_all(run_dir.join(RESUME_DIR));
        state::sweep_temps(&run_dir, true);
        run::run(ctx, state::LoopState::new(), opts)
    })
}

/// Run a training job on the pool of `train.threads` threads (a count above the machine's
/// cores is refused by `build_ctx`, with the key named).
fn on_threads<F>(cfg: LoadedConfig, job: F) -> Result<TrainSummary>
where
    F: FnOnce(LoadedConfig) -> Result<TrainSummary> + Send,
{
    let threads = cfg.valid.raw.train.threads.min(crate::runtime::cores());
    crate::runtime::with_threads(threads, move |_| job(cfg))?
}

/// A run replaces the files in its folder: refuse one whose folder holds its own data.
fn refuse_data_in_run_dir(v: &crate::config::ValidConfig) -> Result<()> {
    let run_dir = v.run_dir();
    let guard = crate::guard::Protected::new().dir(&run_dir);
    for f in v.data_files() {
        if guard.check("run folder", &f).is_err() {
            return Err(Error::ConfigValue {
                path: v.config_path.clone(),
                key: "run.name".into(),
                message: format!(
                    "the run folder {} holds the data file {}, and training replaces files there; choose another run.name or run.output_dir",
                    run_dir.display(),
                    f.display()
                ),
            });
        }
    }
    Ok(())
}

/// Continue an interrupted run from `run_dir/resume/`, writing to `run_dir` wherever it is now
/// (the folder may have been moved or copied since the state was saved).
pub fn resume(run_dir: &Path, opts: &TrainOptions) -> Result<TrainSummary> {
    let dir = run_dir.join(RESUME_DIR);
    if !dir.is_dir() {
        let old = run_dir.join(format!(".stancekit-old-{RESUME_DIR}"));
        let message = if old.is_dir() {
            format!("no {RESUME_DIR}/ folder, but a save was cut short while replacing it and left the previous state in {0}: `mv {0} {1}` and resume again", old.display(), dir.display())
        } else {
            format!("no {RESUME_DIR}/ folder: nothing to resume (the run finished, or was never interrupted)")
        };
        return Err(Error::Checkpoint {
            path: run_dir.to_path_buf(),
            message,
        });
    }
    state::read_state(&dir)?;
    let saved = dir.join(crate::checkpoint::CONFIG);
    let text = std::fs::read_to_string(&saved).map_err(|e| Error::io(&saved, e))?;
    let mut cfg = crate::config::parse_saved_config(&text, &saved)?;
    let here = std::fs::canonicalize(run_dir).map_err(|e| Error::io(run_dir, e))?;
    cfg.relocate(&here)?;
    state::sweep_temps(&here, false);
    on_threads(cfg, |cfg| {
        let mut ctx = build_ctx(cfg, opts.quiet, Start::Resumed)?;
        let st = state::load(&here.join(RESUME_DIR), &mut ctx)?;
        run::run(ctx, st, opts)
    })
}

/// Stream of the seeded order `train.fraction` takes its rows from.
const FRACTION_STREAM: u64 = 0xf4ac;

/// The first `fraction` of the training rows in one seeded order, kept in their file order:
/// the same seed gives nested subsets, so a learning curve adds rows and never swaps them.
pub fn nested_subset<T>(rows: Vec<T>, fraction: f64, seed: u64) -> Vec<T> {
    if fraction >= 1.0 {
        return rows;
    }
    let n = rows.len();
    let take = ((n as f64 * fraction).round() as usize).clamp(1.min(n), n);
    let mut order: Vec<usize> = (0..n).collect();
    crate::rng::SeededRng::new(seed, FRACTION_STREAM).shuffle(&mut order);
    let mut keep = vec![false; n];
    for &i in &order[..take] {
        keep[i] = true;
    }
    rows.into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

/// Whether a run starts from its seeded weights or continues from a saved state, which
/// replaces every weight right after the context is built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    Fresh,
    Resumed,
}

fn build_ctx(cfg: LoadedConfig, quiet: bool, start: Start) -> Result<Ctx> {
    let v = &cfg.valid;
    let swa = swa::Averager::for_config(v)?;
    if v.raw.train.threads > crate::runtime::cores() {
        return Err(Error::ConfigValue {
            path: v.config_path.clone(),
            key: "train.threads".into(),
            message: format!(
                "{} threads, but this machine has {} cores; use at most that (0 = all)",
                v.raw.train.threads,
                crate::runtime::cores()
            ),
        });
    }
    // The pool `train`/`resume` installed (runtime::with_threads).
    let threads = rayon::current_num_threads();
    let device = crate::runtime::select_device(v.device)?;
    let corpus = load_corpus(v)?;
    let train_split = corpus
        .split(Part::Train)
        .ok_or_else(|| Error::Input("no training split".into()))?;
    let (train, mut dropped) = encode(v, &corpus, train_split)?;
    let mut train = nested_subset(train, v.raw.train.fraction, v.raw.run.seed);
    if train.is_empty() {
        return Err(Error::Input(format!(
            "{}: no training rows left after dropping empty texts and unknown labels",
            corpus.files[0].display()
        )));
    }
    // The pool joins the training rows before the pipeline is fitted: its words are the
    // student's to learn, from the teacher's labels.
    let teaching = match &v.distill {
        Some(spec) => Some((spec, teach::add_pool(v, spec, &mut train, &device)?)),
        None => None,
    };
    let encoder = match &v.pretrained {
        Some(spec) => Some(LoadedEncoder::load(&spec.path, spec, &device)?),
        None => None,
    };
    let pipeline = match &encoder {
        Some(enc) => TextPipeline::for_encoder(v.raw.text.clone(), enc.tokenizer.clone()),
        None => TextPipeline::fit(&v.raw.text, train.iter().map(|e| e.text.as_str())),
    };
    // Each text is featurised once, on the run's threads; `collect` keeps the rows' order.
    let featurise = |ex: &[Example]| {
        use rayon::prelude::*;
        ex.par_iter()
            .map(|e| pipeline.features(&e.text))
            .collect::<Vec<_>>()
    };
    let mut train_feats = featurise(&train);
    let mut held_out = |part: Part| -> Result<Option<(Vec<Example>, Vec<Features>)>> {
        match corpus.split(part) {
            Some(s) if !s.records.is_empty() => {
                let (ex, rep) = encode(v, &corpus, s)?;
                dropped.dropped_unknown += rep.dropped_unknown;
                dropped.dropped_empty_text += rep.dropped_empty_text;
                let f = featurise(&ex);
                Ok(Some((ex, f)))
            }
            _ => Ok(None),
        }
    };
    let mut dev = held_out(Part::Dev)?;
    let mut test = held_out(Part::Test)?;
    let distill = match teaching {
        Some((spec, teaching)) => Some(teach::attach(
            spec,
            teaching,
            &train,
            dev.as_ref().map(|d| d.0.as_slice()),
            test.as_ref().map(|d| d.0.as_slice()),
            quiet,
        )?),
        None => None,
    };
    let data_files = corpus
        .files
        .iter()
        .map(|p| {
            Ok(DataFile {
                path: p.display().to_string(),
                sha256: sha256_file(p)?,
            })
        })
        .collect::<Result<_>>()?;
    let class_weights = v
        .tasks
        .iter()
        .enumerate()
        .map(|(t, task)| match &v.class_weights {
            ClassWeightSpec::None => None,
            ClassWeightSpec::Balanced => {
                let labels: Vec<Option<u32>> = train.iter().map(|e| e.labels[t]).collect();
                Some(loss::balanced_weights(&labels, task.labels.len()))
            }
            ClassWeightSpec::Explicit(map) => map.get(&task.name).cloned(),
        })
        .collect();
    let heads: Vec<usize> = v.tasks.iter().map(|t| t.labels.len()).collect();
    let mut model = model::build(
        &ModelSpec {
            kind: v.model,
            config: &v.raw.model,
            pipeline: &pipeline,
            encoder: v.pretrained.as_ref().zip(encoder.as_ref()),
            heads: &heads,
            seed: v.raw.run.seed,
        },
        &device,
    )?;
    // Only a fresh run reads the vectors: a resumed one would overwrite them with its saved
    // weights, so it neither spends the encoder's time nor needs its files any more.
    if start == Start::Fresh && !v.raw.model.vectors.is_empty() {
        model::vectors::apply(
            model.as_mut(),
            &pipeline,
            Path::new(&v.raw.model.vectors),
            v.raw.model.dim,
            &v.config_path,
            &device,
            quiet,
        )?;
    }
    if let (Some(spec), Some(enc)) = (&v.pretrained, &encoder) {
        if let Some(p) = model
            .sentence_encoder()
            .filter(|_| spec.mode == EncoderMode::Frozen)
        {
            cache::attach(p, &enc.record, spec, &mut train_feats, "train", quiet)?;
            for (name, split) in [("dev", &mut dev), ("test", &mut test)] {
                if let Some((_, feats)) = split {
                    cache::attach(p, &enc.record, spec, feats, name, quiet)?;
                }
            }
        }
    }
    let mut optimizer = Optimizer::new(
        v.optimizer,
        v.raw.train.weight_decay,
        v.raw.train.momentum,
        model::sorted_vars(model.varmap()),
    )?;
    // Fine-tuned encoder layers take their own (smaller) learning rate, on the same schedule.
    optimizer.scale_lr(TUNED_PREFIX, v.raw.train.encoder_lr / v.raw.train.lr);
    if v.raw.train.layer_lr_decay != 1.0 {
        optimizer.decay_layers(&format!("{TUNED_PREFIX}layer."), v.raw.train.layer_lr_decay);
    }
    if !v.raw.train.decay_biases_and_norms {
        optimizer.exempt_biases_and_norms();
    }
    if v.raw.model.linear {
        // A linear bow's biases see every example's gradient at every step, its rows only
        // their texts' share: at the rows' rate the biases would jitter.
        optimizer.scale_lr("head_", f64::from(v.raw.model.bias_lr));
    }
    let pipeline_file = PipelineFile {
        format_version: FORMAT_VERSION,
        tasks: v
            .tasks
            .iter()
            .map(|t| TaskLabels {
                name: t.name.clone(),
                labels: t.labels.clone(),
                thresholds: None,
            })
            .collect(),
        text: pipeline.clone(),
    };
    let device_name = if device.is_cuda() {
        "cuda".to_string()
    } else {
        "cpu".to_string()
    };
    Ok(Ctx {
        pipeline_file,
        train,
        train_feats,
        dev,
        test,
        dropped,
        data_files,
        class_weights,
        model,
        optimizer,
        threads,
        device_name,
        encoder: encoder.map(|e| e.record),
        distill,
        swa,
        cfg,
    })
}
