//! A model loaded for prediction: one trained network with its text pipeline, or an ensemble
//! of several whose probabilities are averaged. Every command that predicts from a checkpoint
//! (`evaluate`, `classify`, `select`, a distillation teacher, the Python package) goes through
//! `LoadedModel::predict`, so an ensemble is used exactly like a single model.

use crate::checkpoint::{Manifest, TaskLabels};
use crate::config::ValidConfig;
use crate::error::{Error, Result};
use crate::eval::predict::{predict_features, represent_features};
use crate::eval::Predictions;
use crate::model::Classifier;
use crate::text::{Features, TextPipeline};
use std::path::PathBuf;

/// One trained network and the text pipeline it reads.
pub struct Member {
    pub model: Box<dyn Classifier>,
    pub pipeline: TextPipeline,
    /// The folder it was loaded from.
    pub dir: PathBuf,
}

/// A model ready to predict, with everything it was trained with.
pub struct LoadedModel {
    /// One for a plain checkpoint; an ensemble's members in their stored order.
    pub members: Vec<Member>,
    pub tasks: Vec<TaskLabels>,
    /// The config the model (an ensemble: its first member) was trained with: its data
    /// columns are the defaults of `evaluate` and `classify`.
    pub config: ValidConfig,
    pub manifest: Manifest,
    pub dir: PathBuf,
    /// Set by `quantize_int8`: the encoder runs in int8, not as trained.
    pub quantized: Option<crate::model::int8::Quantize>,
}

/// Probabilities per task, per text, and whether any member's pipeline cut the text.
pub struct Scored {
    pub probs: Predictions,
    pub truncated: Vec<bool>,
}

impl LoadedModel {
    /// The folders this model reads from (its checkpoint, and encoders that live elsewhere):
    /// no output may be written into them.
    pub fn protected(&self) -> crate::guard::Protected {
        let mut p = crate::guard::Protected::new().dir(&self.dir);
        for dir in self.encoder_dirs() {
            p = p.dir(&dir);
        }
        p
    }

    fn encoder_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(enc) = &self.manifest.encoder {
            dirs.push(PathBuf::from(&enc.path));
        }
        if let Some(e) = &self.manifest.ensemble {
            dirs.extend(e.members.iter().filter_map(|m| m.encoder.clone()));
        }
        dirs
    }

    /// Whether this is an ensemble of several members.
    pub fn is_ensemble(&self) -> bool {
        self.manifest.ensemble.is_some()
    }

    /// The network of a plain checkpoint, for callers that hold features made by its own
    /// pipeline (training's dev and test passes). An ensemble has no single one.
    pub fn single(&self) -> Result<&dyn Classifier> {
        match (self.is_ensemble(), self.members.first()) {
            (false, Some(m)) => Ok(m.model.as_ref()),
            _ => Err(Error::Checkpoint {
                path: self.dir.clone(),
                message: "an ensemble has no single network; predict through its members".into(),
            }),
        }
    }

    /// Whether any member reads texts as sequences (classify then sorts larger windows).
    pub fn sort_by_length(&self) -> bool {
        self.members.iter().any(|m| m.model.sort_by_length())
    }

    /// Featurise and predict `texts`: each member through its own pipeline, then the mean of
    /// the members' probabilities, summed in member order so the result is the same bits on
    /// every run.
    pub fn predict(&self, texts: &[&str], batch_size: usize) -> Result<Scored> {
        let mut truncated = vec![false; texts.len()];
        let mut sum: Option<Predictions> = None;
        for m in &self.members {
            let feats = featurise(&m.pipeline, texts);
            for (t, f) in truncated.iter_mut().zip(&feats) {
                *t |= f.truncated;
            }
            let p = predict_features(m.model.as_ref(), &feats, batch_size)?;
            sum = Some(match sum {
                None => p,
                Some(mut acc) => {
                    add_into(&mut acc, &p);
                    acc
                }
            });
        }
        let mut probs = sum.unwrap_or(Predictions { probs: Vec::new() });
        // No texts give no task vectors from the network: keep one per task for indexing.
        probs.probs.resize(self.tasks.len(), Vec::new());
        if self.members.len() > 1 {
            let k = self.members.len() as f32;
            for v in probs.probs.iter_mut().flatten().flatten() {
                *v /= k;
            }
        }
        Ok(Scored { probs, truncated })
    }

    /// Switch every member that has an int8 path (pretrained encoders) to int8 inference,
    /// calibrated on a fixed set of sentences shipped with the library, so the result does
    /// not depend on the input. Errors when no member has one.
    pub fn quantize_int8(&mut self) -> Result<()> {
        let texts: Vec<&str> = CALIBRATION.lines().filter(|l| !l.is_empty()).collect();
        let mut any = false;
        for m in &mut self.members {
            if !m.model.device().is_cpu() {
                return Err(Error::Input("--quantize int8 runs on the CPU only".into()));
            }
            let feats = featurise(&m.pipeline, &texts);
            let refs: Vec<&Features> = feats.iter().collect();
            let batch = m.model.batch(&refs, false)?;
            any |= m.model.quantize_int8(&batch)?;
        }
        match any {
            true => {
                self.quantized = Some(crate::model::int8::Quantize::Int8);
                Ok(())
            }
            false => Err(Error::Input(format!(
                "--quantize int8: model {} has no int8 path (only pretrained encoders have one)",
                self.dir.display()
            ))),
        }
    }

    /// Each text's representation (`Classifier::represent`): for an ensemble, the members'
    /// representations side by side.
    pub fn represent(&self, texts: &[&str], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::new(); texts.len()];
        for m in &self.members {
            let feats = featurise(&m.pipeline, texts);
            for (row, r) in
                out.iter_mut()
                    .zip(represent_features(m.model.as_ref(), &feats, batch_size)?)
            {
                row.extend(r);
            }
        }
        Ok(out)
    }
}

/// Sentences (written for stancekit, in the styles it labels) that int8 calibration runs
/// through the encoder to measure each layer's input channels.
const CALIBRATION: &str = include_str!("model/int8/calibration.txt");

/// Features of `texts`, in order (featurised in parallel on the current thread pool).
fn featurise(pipeline: &TextPipeline, texts: &[&str]) -> Vec<Features> {
    use rayon::prelude::*;
    texts.par_iter().map(|t| pipeline.features(t)).collect()
}

fn add_into(acc: &mut Predictions, p: &Predictions) {
    for (a_task, p_task) in acc.probs.iter_mut().zip(&p.probs) {
        for (a_row, p_row) in a_task.iter_mut().zip(p_task) {
            for (a, b) in a_row.iter_mut().zip(p_row) {
                *a += b;
            }
        }
    }
}
