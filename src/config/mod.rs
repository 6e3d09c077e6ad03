//! Run configuration: one TOML file describes a whole run (data, tasks, text pipeline, model,
//! training), the way spaCy's config system does.
//!
//! The raw structs here mirror the file one to one, reject unknown keys and carry defaults, so a
//! minimal file works. `load` reads and overrides them; `valid` checks them once and turns them
//! into typed values that the rest of the library trusts without re-checking.

mod distill;
mod limits;
mod load;
mod model;
mod pretrained;
mod sources;
mod tune;
mod types;
mod valid;
mod valid_train;

#[cfg(test)]
mod tests;

pub use distill::{DistillConfig, DistillSpec, PoolConfig, PoolSpec};
pub use load::{load_config, parse_config, parse_saved_config, LoadedConfig};
pub use sources::{SourceConfig, SourceSpec};
pub use tune::{Dist, TuneConfig, TUNABLE_SECTIONS};
pub use types::{
    clean_path, BagNorm, ClassWeightSpec, DataSource, Device, EncoderMode, FileFormat, Kernels,
    MissingPolicy, ModelKind, Normalize, OptimizerKind, Pooling, PretrainedSpec, Sampling,
    Schedule, SplitMode, TaskSpec, ThresholdTuning, UnknownPolicy, ValidConfig,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The commented reference config that `stancekit config init` writes.
pub const REFERENCE_CONFIG: &str = include_str!("../../configs/reference.toml");

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub run: RunConfig,
    pub data: DataConfig,
    pub split: SplitConfig,
    pub tasks: Vec<TaskConfig>,
    pub text: TextConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    /// Learn from a teacher's probabilities as well as from the gold labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distill: Option<DistillConfig>,
    /// `stancekit tune`'s search; ignored by `train`.
    #[serde(skip_serializing_if = "TuneConfig::is_default")]
    pub tune: TuneConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    pub name: String,
    pub seed: u64,
    pub output_dir: PathBuf,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            name: "run".into(),
            seed: 42,
            output_dir: "checkpoints".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Names this source in `data check` and reports when there are `[[data.sources]]`
    /// (default: the file's stem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<PathBuf>,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub quoting: bool,
    pub text_column: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// More labelled files to train from, each with its own columns, label maps and weight.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceConfig>,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            name: None,
            path: None,
            train: None,
            dev: None,
            test: None,
            format: "auto".into(),
            delimiter: None,
            quoting: true,
            text_column: "text".into(),
            group_column: None,
            id_column: None,
            sources: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    pub dev: f64,
    pub test: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratify: Option<String>,
    /// Cross-validation inside the training split (`stancekit tune` sets these): with
    /// `folds = k` (at least 2) the training split is cut into k grouped, stratified folds;
    /// fold `fold` is the dev split, the others train, and the test split is left out.
    #[serde(skip_serializing_if = "is_zero")]
    pub folds: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub fold: usize,
    /// The seed of the split and the folds (default: `run.seed`). Ensemble members trained
    /// with other seeds keep their base config's split through it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            dev: 0.1,
            test: 0.1,
            stratify: None,
            folds: 0,
            fold: 0,
            seed: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TaskConfig {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub labels: Vec<String>,
    pub label_map: BTreeMap<String, String>,
    pub unknown: String,
    pub missing: MissingPolicy,
    pub weight: f32,
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig {
            name: String::new(),
            column: None,
            labels: Vec::new(),
            label_map: BTreeMap::new(),
            unknown: "error".into(),
            missing: MissingPolicy::Error,
            weight: 1.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TextConfig {
    pub normalize: Normalize,
    pub lowercase: bool,
    pub word_ngrams: usize,
    pub char_ngrams_min: usize,
    pub char_ngrams_max: usize,
    pub buckets: usize,
    pub min_count: usize,
    pub max_tokens: usize,
    /// `bow`: weight each bag entry by its inverse document frequency on the train split.
    pub idf: bool,
    /// `bow`: weight repeated entries by 1 + ln(count) instead of count.
    pub sublinear_tf: bool,
    /// `bow`: scale of a text's weights (mean or unit L2 norm).
    pub norm: BagNorm,
    /// `bow`: drop bag rows seen in fewer than this many train texts (0 = keep every row,
    /// even rows no train text reached).
    pub min_df: usize,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            normalize: Normalize::Nfkc,
            lowercase: true,
            word_ngrams: 2,
            char_ngrams_min: 0,
            char_ngrams_max: 0,
            buckets: 200_000,
            min_count: 1,
            max_tokens: 256,
            idf: false,
            sublinear_tf: false,
            norm: BagNorm::Mean,
            min_df: 0,
        }
    }
}

/// `[model]`, flat: read and written as a section typed by `kind` (`model.rs`), which refuses
/// keys of another kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub kind: String,
    pub dim: usize,
    pub hidden: usize,
    pub dropout: f32,
    pub filters: usize,
    pub kernel_sizes: Vec<usize>,
    pub layers: usize,
    pub heads: usize,
    pub ff_dim: usize,
    /// `pretrained`: a local folder in Hugging Face layout.
    pub path: String,
    pub mode: EncoderMode,
    pub pooling: Pooling,
    pub normalize: bool,
    pub max_seq_len: usize,
    pub finetune_layers: usize,
    pub cache_dir: String,
    /// `pretrained`: how many of the last layers' token states are averaged before pooling.
    pub pool_layers: usize,
    /// `pretrained`: bit-exact or fast layer kernels.
    pub kernels: Kernels,
    /// `pretrained`: dropout masks per example in training, whose logits are averaged
    /// (multi-sample dropout); 1 = plain dropout.
    pub dropout_samples: usize,
    /// `pretrained`, fine-tuned: dropout inside the tuned layers (attention probabilities and
    /// both residual branches, as BERT trains); 0 = none.
    pub encoder_dropout: f32,
    /// `bow`: one table column per label and no head matrix (a linear model over the bag).
    pub linear: bool,
    /// `bow`: probability of dropping each bag entry in training.
    pub ngram_dropout: f32,
    /// `bow`, linear: the biases' learning rate, as a factor on `train.lr`.
    pub bias_lr: f32,
    /// `cnn`, `bow`: a local encoder folder whose vectors of the vocabulary's words start the
    /// word rows (absolute after validation); empty = a seeded random start.
    pub vectors: String,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: "bow".into(),
            dim: 64,
            hidden: 0,
            dropout: 0.0,
            filters: 100,
            kernel_sizes: vec![3, 4, 5],
            layers: 2,
            heads: 4,
            ff_dim: 256,
            path: String::new(),
            mode: EncoderMode::Frozen,
            pooling: Pooling::Mean,
            normalize: true,
            max_seq_len: 128,
            finetune_layers: 2,
            cache_dir: String::new(),
            pool_layers: 1,
            kernels: Kernels::Exact,
            dropout_samples: 1,
            encoder_dropout: 0.0,
            linear: false,
            ngram_dropout: 0.0,
            bias_lr: 0.01,
            vectors: String::new(),
        }
    }
}

/// `"none"`, `"balanced"`, or an explicit table `{ task = { label = weight } }`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ClassWeights {
    Mode(String),
    Explicit(BTreeMap<String, BTreeMap<String, f32>>),
}

impl Default for ClassWeights {
    fn default() -> Self {
        ClassWeights::Mode("none".into())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub max_steps: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub encoder_lr: f64,
    /// Layer-wise learning-rate decay for fine-tuned encoder layers: the top layer trains at
    /// encoder_lr, each one below at this factor of the one above.
    pub layer_lr_decay: f64,
    pub weight_decay: f64,
    /// Whether weight decay also shrinks biases and layer-norm parameters.
    pub decay_biases_and_norms: bool,
    pub momentum: f64,
    pub schedule: Schedule,
    pub warmup_steps: usize,
    pub grad_clip: f64,
    pub class_weights: ClassWeights,
    pub label_smoothing: f64,
    pub eval_every: usize,
    pub early_stopping_metric: String,
    pub patience: usize,
    pub threads: usize,
    pub device: Device,
    pub thresholds: ThresholdTuning,
    pub sampling: Sampling,
    /// Batches of rows of similar length, so sequence models pad (and compute) little.
    /// Left out of the saved config when off, so older runs keep their config hash.
    #[serde(skip_serializing_if = "is_false")]
    pub group_by_length: bool,
    pub threshold_precision: f64,
    pub fraction: f64,
    /// Weight averaging: from this epoch (1-based) on, the weights at every evaluation are
    /// averaged into `model-swa`; 0 = off.
    #[serde(skip_serializing_if = "is_zero")]
    pub average_from: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 5,
            max_steps: 0,
            batch_size: 32,
            optimizer: OptimizerKind::AdamW,
            lr: 0.001,
            encoder_lr: 0.00005,
            layer_lr_decay: 1.0,
            weight_decay: 0.0,
            decay_biases_and_norms: true,
            momentum: 0.9,
            schedule: Schedule::Constant,
            warmup_steps: 0,
            grad_clip: 0.0,
            class_weights: ClassWeights::default(),
            label_smoothing: 0.0,
            eval_every: 0,
            early_stopping_metric: String::new(),
            patience: 0,
            threads: 0,
            device: Device::Cpu,
            thresholds: ThresholdTuning::None,
            sampling: Sampling::Shuffle,
            group_by_length: false,
            threshold_precision: 0.9,
            fraction: 1.0,
            average_from: 0,
        }
    }
}
