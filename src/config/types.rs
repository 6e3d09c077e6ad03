//! The typed results of validation: resolved data sources, task specs and enums that replace
//! the config's strings, so code downstream matches on variants instead of re-parsing text.

use super::Config;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `text.normalize`: Unicode normalisation before tokenising.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    Nfkc,
    None,
}

/// `text.norm`: how `bow` scales a text's weighted bag before summing its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BagNorm {
    /// Weights sum to 1: the mean of the rows (fastText).
    Mean,
    /// Weights have unit L2 norm, as TF-IDF vectors in scikit-learn.
    L2,
}

/// `split` of a `[[data.sources]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    /// Split by `[split]`, like the primary file.
    Split,
    /// Every row trains.
    Train,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

impl FileFormat {
    /// `auto` picks by extension; anything else names the format.
    pub fn resolve(name: &str, path: &Path) -> Result<FileFormat> {
        let name = if name == "auto" {
            path.extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase()
        } else {
            name.to_ascii_lowercase()
        };
        match name.as_str() {
            "csv" => Ok(FileFormat::Csv),
            "tsv" | "tab" => Ok(FileFormat::Tsv),
            "jsonl" | "ndjson" => Ok(FileFormat::Jsonl),
            "parquet" | "pq" => Ok(FileFormat::Parquet),
            other => Err(Error::UnknownFormat {
                path: path.to_path_buf(),
                format: other.to_string(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// One file, split by `[split]`.
    Single(PathBuf),
    /// Pre-split files.
    Files {
        train: PathBuf,
        dev: Option<PathBuf>,
        test: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum UnknownPolicy {
    Error,
    Drop,
    Map(String),
}

impl UnknownPolicy {
    /// Parse `error`, `drop`, or `map:<label>` with a label of `labels`.
    pub fn parse(s: &str, labels: &[String]) -> std::result::Result<UnknownPolicy, String> {
        match s {
            "error" => Ok(UnknownPolicy::Error),
            "drop" => Ok(UnknownPolicy::Drop),
            other => match other.strip_prefix("map:") {
                Some(l) if labels.iter().any(|x| x == l) => Ok(UnknownPolicy::Map(l.to_string())),
                Some(l) => Err(format!(
                    "map:{l} names a label that is not in labels {labels:?}"
                )),
                None => Err(format!(
                    "expected error, drop or map:<label>, got `{other}`"
                )),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPolicy {
    Error,
    Ignore,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub name: String,
    pub column: String,
    pub labels: Vec<String>,
    pub label_map: BTreeMap<String, String>,
    pub unknown: UnknownPolicy,
    pub missing: MissingPolicy,
    pub weight: f32,
}

impl TaskSpec {
    /// What a raw label names after `label_map` (itself when the map has no entry).
    pub fn mapped<'a>(&'a self, raw: &'a str) -> &'a str {
        self.label_map.get(raw).map(String::as_str).unwrap_or(raw)
    }

    /// The label index a raw value resolves to: through `label_map`, then, for a value that
    /// is not a label, where `unknown = "map:<label>"` sends it. `None`: an unknown label
    /// (dropped or refused by `unknown`). The one label resolution every reader uses.
    pub fn resolve(&self, raw: &str) -> Option<u32> {
        let position = |l: &str| self.labels.iter().position(|x| x == l).map(|i| i as u32);
        position(self.mapped(raw)).or_else(|| match &self.unknown {
            UnknownPolicy::Map(to) => position(to),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Bow,
    Cnn,
    Transformer,
    Pretrained,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderMode {
    /// Embeddings computed once (and cached); only the heads train.
    Frozen,
    /// The top layers train with the heads.
    Finetune,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Mean,
    Cls,
}

/// How a pretrained encoder's layers compute. `exact` gives candle-transformers' BERT to the
/// bit (libm's scalar erf in GELU, a three-pass softmax), so models and figures from before
/// `fast` existed stay reproducible. `fast` uses a vectorised erf (within 5e-7 of libm's) and
/// candle's fused softmax: about 1.3× the sentences/s, with embeddings that differ around the
/// 6th decimal; layers being fine-tuned also get one-pass layer norm, softmax and bias add
/// with backward passes (`model::fused`). The choice is stored with the model, so it is
/// scored as it was trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernels {
    #[default]
    Exact,
    Fast,
}

/// `[model]` settings of a `pretrained` model, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainedSpec {
    /// The encoder folder (absolute).
    pub path: PathBuf,
    pub mode: EncoderMode,
    pub pooling: Pooling,
    pub normalize: bool,
    pub max_seq_len: usize,
    /// Layers trained in `finetune` mode (0 = all); 0 in `frozen` mode.
    pub finetune_layers: usize,
    /// Where frozen embeddings are cached.
    pub cache_dir: PathBuf,
    /// The last layers whose token states are averaged before pooling (1 = the last alone).
    pub pool_layers: usize,
    pub kernels: Kernels,
    /// Dropout inside the tuned layers in training (0 = none; always 0 when frozen).
    pub encoder_dropout: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    #[serde(alias = "adam")]
    AdamW,
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    Linear,
    Cosine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Cpu,
    Cuda,
    Auto,
}

/// How each epoch orders the training rows (`train.sampling`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every row once per epoch, in a seeded shuffled order.
    #[default]
    Shuffle,
    /// As many draws as rows, with replacement: a class of the stratify task uniformly, then
    /// a row of it uniformly, so every class is seen equally often.
    Balanced,
}

/// Per-class decision thresholds tuned on dev after training (`train.thresholds`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdTuning {
    /// Argmax: the most probable label, always.
    #[default]
    None,
    /// Per class, the threshold that maximises the class's dev F1.
    F1,
    /// Per class, the lowest threshold whose dev precision reaches `train.threshold_precision`.
    Precision,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeightSpec {
    None,
    Balanced,
    /// Per task, one weight per label in label order.
    Explicit(BTreeMap<String, Vec<f32>>),
}

/// A config that passed validation, with resolved paths and typed choices.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    /// The raw config with paths made absolute: what gets saved next to a checkpoint.
    pub raw: Config,
    pub config_path: PathBuf,
    pub source: DataSource,
    pub delimiter: Option<u8>,
    pub tasks: Vec<TaskSpec>,
    pub output_dir: PathBuf,
    pub model: ModelKind,
    /// Set when `model` is `Pretrained`.
    pub pretrained: Option<PretrainedSpec>,
    pub optimizer: OptimizerKind,
    pub schedule: Schedule,
    pub device: Device,
    pub class_weights: ClassWeightSpec,
    /// Task index used for stratified splitting.
    pub stratify_task: usize,
    /// The primary source's name (`data.name`, or its file's stem).
    pub primary_name: String,
    /// `[[data.sources]]`, checked; source `i + 1` in records.
    pub sources: Vec<super::SourceSpec>,
    /// `[distill]`, checked.
    pub distill: Option<super::DistillSpec>,
}

/// Remove `.` and `name/..` components without touching the file system, so messages show
/// `datasets/x.csv` rather than `configs/../datasets/x.csv`.
pub fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

impl ValidConfig {
    /// The folder this run writes to: `<output_dir>/<run.name>`.
    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.raw.run.name)
    }

    /// The seed of the train/dev/test split and of the folds: `split.seed`, else `run.seed`.
    pub fn split_seed(&self) -> u64 {
        self.raw.split.seed.unwrap_or(self.raw.run.seed)
    }

    /// Every labelled file the run reads.
    pub fn data_files(&self) -> Vec<PathBuf> {
        let primary: Vec<PathBuf> = match &self.source {
            DataSource::Single(p) => vec![p.clone()],
            DataSource::Files { train, dev, test } => std::iter::once(train.clone())
                .chain(dev.clone())
                .chain(test.clone())
                .collect(),
        };
        primary
            .into_iter()
            .chain(self.sources.iter().map(|s| s.path.clone()))
            .chain(
                self.distill
                    .iter()
                    .flat_map(|d| d.pool.iter().map(|p| p.path.clone())),
            )
            .collect()
    }

    /// Source names, the primary first (index = `Record::source`).
    pub fn source_names(&self) -> Vec<String> {
        std::iter::once(self.primary_name.clone())
            .chain(self.sources.iter().map(|s| s.name.clone()))
            .collect()
    }

    /// Task `t` as source `source` labels it, or `None` where that source does not label it.
    pub fn task_of(&self, source: usize, t: usize) -> Option<&TaskSpec> {
        match source {
            0 => self.tasks.get(t),
            s => self.sources.get(s - 1)?.tasks.get(t)?.as_ref(),
        }
    }

    /// The loss weight of source `source`'s rows.
    pub fn source_weight(&self, source: usize) -> f32 {
        match source {
            0 => 1.0,
            s => self.sources.get(s - 1).map_or(1.0, |x| x.weight),
        }
    }

    /// File format for `path` under this config's `data.format`.
    pub fn format_of(&self, path: &Path) -> Result<FileFormat> {
        FileFormat::resolve(&self.raw.data.format, path)
    }
}
