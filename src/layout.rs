//! The names of what stancekit writes into checkpoint and run folders, in one place: the
//! checkpoint writer, training, reports and the output guard (which refuses to write into such
//! folders) all agree on them without importing one another.

/// A checkpoint's weights.
pub const WEIGHTS: &str = "model.safetensors";
/// A checkpoint's manifest: hashes, versions, data files.
pub const MANIFEST: &str = "manifest.json";
/// The resolved config a checkpoint was trained with.
pub const CONFIG: &str = "config.toml";
/// The text pipeline and label lists.
pub const PIPELINE: &str = "pipeline.json";
/// Where `--bundle` puts a copy of a pretrained model's encoder.
pub const ENCODER_DIR: &str = "encoder";
/// A run folder's training log, one JSON record per evaluation.
pub const LOG_FILE: &str = "train-log.jsonl";
/// A run folder's resume state, while a run is unfinished.
pub const RESUME_DIR: &str = "resume";
