//! Knowledge distillation: a fast student learns from a teacher's probabilities on unlabelled
//! text as well as from the gold labels, so `bow` or `cnn` can approach a fine-tuned encoder's
//! accuracy at their own speed.
//!
//! This module prepares what training needs: the teacher loaded, the pool read, the
//! teacher's probabilities (cached on disk) turned into tempered targets in the student's
//! label order, and afterwards the student's agreement with its teacher on dev and test.
//! The loop itself only adds one loss term (`train::loss::soft_cross_entropy`).

pub mod agreement;
pub mod augment;
pub mod pool;
pub mod targets;

use crate::checkpoint::{sha256_file, DataFile, LoadedModel};
use crate::config::{DistillSpec, TaskSpec};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use agreement::{agreement, Agreement};

/// What a student's manifest records about how it was taught.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistillRecord {
    pub teacher: String,
    pub teacher_weights_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher_pipeline_sha256: Option<String>,
    pub pool: Vec<DataFile>,
    /// Texts the pool gave (sentences, with `articles`).
    pub pool_texts: usize,
    /// Perturbed copies of the labelled training texts the teacher labelled (`augment`).
    #[serde(default)]
    pub augmented_texts: usize,
    pub temperature: f64,
    pub alpha: f64,
}

/// Tempered teacher targets for one student task, one row per training example.
#[derive(Debug, Clone)]
pub struct SoftTargets {
    k: usize,
    values: Vec<f32>,
    has: Vec<bool>,
}

impl SoftTargets {
    /// Row `i`'s target distribution, if the teacher guides it.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.has
            .get(i)
            .filter(|&&h| h)
            .map(|_| &self.values[i * self.k..(i + 1) * self.k])
    }
}

/// For one student task: the teacher's task index, and for each student label the teacher's
/// index of the same label.
pub type TaskMap = Option<(usize, Vec<usize>)>;

/// Per student task, the teacher's label of each row (`None`: a task the teacher lacks).
pub type TeacherLabels = Vec<Option<Vec<u32>>>;

/// Everything the loop and the summary need from the teacher.
pub struct Distill {
    pub spec: DistillSpec,
    pub record: DistillRecord,
    /// Per student task; `None` for a task the teacher does not have.
    pub soft: Vec<Option<SoftTargets>>,
    /// Per student task, the teacher's label of each dev (test) row.
    pub dev_teacher: TeacherLabels,
    pub test_teacher: TeacherLabels,
}

/// Load the teacher named by `spec`, refusing one whose tasks share nothing with the student's
/// or whose label sets differ from them.
pub fn load_teacher(
    spec: &DistillSpec,
    tasks: &[TaskSpec],
    config: &Path,
    device: &candle_core::Device,
) -> Result<(LoadedModel, Vec<TaskMap>)> {
    let err = |message: String| Error::ConfigValue {
        path: config.to_path_buf(),
        key: "distill.teacher".into(),
        message,
    };
    if !spec.teacher.join(crate::checkpoint::MANIFEST).is_file() {
        return Err(err(format!(
            "no teacher checkpoint at {}: train it first, or name the config that trains it (distill.teacher_config)",
            spec.teacher.display()
        )));
    }
    let teacher = crate::checkpoint::load(&spec.teacher, device)?;
    let mut maps = Vec::new();
    for task in tasks {
        let Some(t) = teacher.tasks.iter().position(|x| x.name == task.name) else {
            maps.push(None);
            continue;
        };
        let theirs = &teacher.tasks[t].labels;
        let mut a = theirs.clone();
        let mut b = task.labels.clone();
        a.sort();
        b.sort();
        if a != b {
            return Err(err(format!(
                "task `{}`: the teacher's labels {theirs:?} differ from the student's {:?}",
                task.name, task.labels
            )));
        }
        let idx = task
            .labels
            .iter()
            .filter_map(|l| theirs.iter().position(|x| x == l))
            .collect();
        maps.push(Some((t, idx)));
    }
    if maps.iter().all(Option::is_none) {
        let theirs: Vec<&str> = teacher.tasks.iter().map(|t| t.name.as_str()).collect();
        return Err(err(format!(
            "the teacher's tasks ({}) share no name with the student's",
            theirs.join(", ")
        )));
    }
    Ok((teacher, maps))
}

/// The texts of every `[[distill.pool]]` file, and the files' hashes.
pub fn read_pools(spec: &DistillSpec) -> Result<(Vec<String>, Vec<DataFile>)> {
    let mut texts = Vec::new();
    let mut files = Vec::new();
    for p in &spec.pool {
        texts.extend(pool::read_pool(p)?);
        files.push(DataFile {
            path: p.path.display().to_string(),
            sha256: sha256_file(&p.path)?,
        });
    }
    Ok((texts, files))
}

/// `p` sharpened or softened by `temperature` (the softmax of ln p / T), in the student's
/// label order `map`.
pub fn temper(p: &[f32], map: &[usize], temperature: f64) -> Vec<f32> {
    let logs: Vec<f64> = map
        .iter()
        .map(|&j| f64::from(p[j].max(f32::MIN_POSITIVE)).ln() / temperature)
        .collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Per student task, tempered targets for `n` rows, of which `guided` (a range of rows) get
/// the teacher's probabilities `probs` (rows of `guided`, in order).
pub fn soft_targets(
    maps: &[TaskMap],
    probs: &targets::TaskProbs,
    widths: &[usize],
    n: usize,
    guided: std::ops::Range<usize>,
    temperature: f64,
) -> Vec<Option<SoftTargets>> {
    maps.iter()
        .map(|m| {
            let (t, map) = m.as_ref()?;
            let k = map.len();
            let mut values = vec![0f32; n * k];
            let mut has = vec![false; n];
            for (r, row) in guided.clone().enumerate() {
                let p = &probs[*t][r * widths[*t]..(r + 1) * widths[*t]];
                values[row * k..(row + 1) * k].copy_from_slice(&temper(p, map, temperature));
                has[row] = true;
            }
            Some(SoftTargets { k, values, has })
        })
        .collect()
}

/// Per student task, the teacher's most probable label (in the student's label order).
pub fn teacher_labels(
    maps: &[TaskMap],
    probs: &targets::TaskProbs,
    widths: &[usize],
    n: usize,
) -> TeacherLabels {
    maps.iter()
        .map(|m| {
            let (t, map) = m.as_ref()?;
            let w = widths[*t];
            Some(
                (0..n)
                    .map(|r| {
                        let p = &probs[*t][r * w..(r + 1) * w];
                        let mine: Vec<f32> = map.iter().map(|&j| p[j]).collect();
                        crate::eval::predict::argmax(&mine)
                    })
                    .collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempering_reorders_to_the_student_and_softens_above_one() {
        let p = [0.7f32, 0.2, 0.1];
        let same = temper(&p, &[0, 1, 2], 1.0);
        for (a, b) in same.iter().zip(p) {
            assert!((a - b).abs() < 1e-6);
        }
        let swapped = temper(&p, &[2, 0, 1], 1.0);
        assert!((swapped[1] - 0.7).abs() < 1e-6 && (swapped[0] - 0.1).abs() < 1e-6);
        let soft = temper(&p, &[0, 1, 2], 2.0);
        assert!(soft[0] < 0.7 && soft[2] > 0.1);
        assert!((soft.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn only_the_guided_rows_get_targets() {
        let probs = vec![vec![0.9f32, 0.1, 0.2, 0.8]];
        let maps = vec![Some((0, vec![0, 1])), None];
        let soft = soft_targets(&maps, &probs, &[2], 3, 1..3, 1.0);
        let s = soft[0].as_ref().unwrap();
        assert!(s.row(0).is_none());
        assert!((s.row(1).unwrap()[0] - 0.9).abs() < 1e-6);
        assert!((s.row(2).unwrap()[1] - 0.8).abs() < 1e-6);
        assert!(soft[1].is_none());
        let labels = teacher_labels(&maps, &probs, &[2], 2);
        assert_eq!(labels[0].as_deref(), Some(&[0u32, 1][..]));
    }
}
