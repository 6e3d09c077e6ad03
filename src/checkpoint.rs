//! Checkpoints: a folder with the weights, the resolved config, the text pipeline and a
//! manifest of hashes, so a model can be loaded, verified and traced back to its data.
//!
//! A checkpoint folder is written next to its final place and renamed in, so a crash never
//! leaves a half-written model where a good one was.

use crate::config::parse_saved_config;
use crate::error::{Error, Result};
use crate::model::pretrained::{EncoderFiles, EncoderRecord, LoadedEncoder};
use crate::model::{self, ModelSpec};

use crate::text::TextPipeline;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FORMAT_VERSION: u32 = 1;
pub use crate::eval::thresholds::Thresholds;
pub use crate::layout::{CONFIG, ENCODER_DIR, MANIFEST, PIPELINE, WEIGHTS};
pub use crate::loaded::{LoadedModel, Member, Scored};
pub use crate::tensors::{load_tensors, save_tensors, sha256_file, sha256_hex};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataFile {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    pub crate_version: String,
    pub model_kind: String,
    pub seed: u64,
    pub threads: usize,
    pub device: String,
    pub step: usize,
    pub data: Vec<DataFile>,
    pub config_sha256: String,
    pub weights_sha256: String,
    /// sha256 of `pipeline.json` (absent in checkpoints from before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_sha256: Option<String>,
    /// Dev (and test) metrics per task at this checkpoint, by metric name.
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    pub train_seconds: f64,
    /// `pretrained`: the encoder this model was trained on (it is not in the weights file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderRecord>,
    /// A distilled student: its teacher and pool, by hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<crate::distill::DistillRecord>,
    /// An ensemble: its members, by hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<crate::ensemble::EnsembleRecord>,
}

/// What `pipeline.json` holds: the tasks' label lists and the text pipeline state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PipelineFile {
    pub format_version: u32,
    pub tasks: Vec<TaskLabels>,
    pub text: TextPipeline,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskLabels {
    pub name: String,
    pub labels: Vec<String>,
    /// Per-class decision thresholds tuned on dev (`train.thresholds`); absent: argmax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
}

/// A staging folder next to a checkpoint's final place (`parent`), removed on a signal or an
/// error: checkpoints are written there and renamed in whole (`install`).
pub(crate) fn stage(parent: &Path) -> Result<(tempfile::TempDir, crate::runtime::TempGuard)> {
    let staging = tempfile::Builder::new()
        .prefix(".stancekit-ckpt-")
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    let guard = crate::runtime::TempGuard::new(staging.path());
    Ok((staging, guard))
}

/// Write a whole checkpoint folder at `dir`, replacing any previous one only once the new one
/// is complete. Returns the weights' sha256.
pub fn save(
    dir: &Path,
    weights: Vec<(String, Tensor)>,
    pipeline: &PipelineFile,
    config_toml: &str,
    mut manifest: Manifest,
) -> Result<String> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let (staging, _registered) = stage(parent)?;
    let s = staging.path();
    let weights_sha = save_tensors(&s.join(WEIGHTS), weights)?;
    manifest.weights_sha256 = weights_sha.clone();
    manifest.config_sha256 = sha256_hex(config_toml.as_bytes());
    let write = |name: &str, bytes: &[u8]| crate::io::write_atomic(&s.join(name), bytes);
    write(CONFIG, config_toml.as_bytes())?;
    let pipeline_json = json(pipeline)?;
    manifest.pipeline_sha256 = Some(sha256_hex(&pipeline_json));
    write(PIPELINE, &pipeline_json)?;
    write(MANIFEST, &json(&manifest)?)?;
    install(staging.keep(), dir)?;
    Ok(weights_sha)
}

/// Copy a checkpoint folder (e.g. `model-last` to `model-best` when there is nothing to select
/// on), through a staging folder like `save`.
pub fn copy(src: &Path, dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let (staging, _registered) = stage(parent)?;
    for name in [WEIGHTS, CONFIG, PIPELINE, MANIFEST] {
        std::fs::copy(src.join(name), staging.path().join(name))
            .map_err(|e| Error::io(src.join(name), e))?;
    }
    install(staging.keep(), dir)
}

/// Store per-task thresholds in the checkpoint at `dir` (its `pipeline.json`, and the
/// manifest's hash of it), through a staging copy like `save`: the weights are untouched.
pub fn set_thresholds(dir: &Path, thresholds: &BTreeMap<String, Thresholds>) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let (staging, _registered) = stage(parent)?;
    let s = staging.path();
    let mut pipeline: PipelineFile = read_json(&dir.join(PIPELINE))?;
    for task in &mut pipeline.tasks {
        task.thresholds = thresholds.get(&task.name).cloned();
    }
    let pipeline_json = json(&pipeline)?;
    let mut manifest = read_manifest(dir)?;
    manifest.pipeline_sha256 = Some(sha256_hex(&pipeline_json));
    for name in [WEIGHTS, CONFIG] {
        std::fs::copy(dir.join(name), s.join(name)).map_err(|e| Error::io(dir.join(name), e))?;
    }
    copy_tree(&dir.join(ENCODER_DIR), &s.join(ENCODER_DIR))?;
    crate::io::write_atomic(&s.join(PIPELINE), &pipeline_json)?;
    crate::io::write_atomic(&s.join(MANIFEST), &json(&manifest)?)?;
    install(staging.keep(), dir)
}

/// Copy a folder's files and subfolders (a bundled encoder); nothing when `src` is absent.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(src) else {
        return Ok(());
    };
    std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
    for e in entries {
        let e = e.map_err(|err| Error::io(src, err))?;
        let (from, to) = (e.path(), dst.join(e.file_name()));
        match from.is_dir() {
            true => copy_tree(&from, &to)?,
            false => {
                std::fs::copy(&from, &to).map_err(|err| Error::io(&from, err))?;
            }
        }
    }
    Ok(())
}

/// Move a complete staged folder to `dir`, replacing what was there only at the last moment.
/// Between the two renames the previous folder is `.stancekit-old-<name>`: a process killed
/// there leaves it for loading to point at.
pub(crate) fn install(staged: PathBuf, dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    if dir.exists() {
        let old = parent.join(format!(
            ".stancekit-old-{}",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("ckpt")
        ));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
        std::fs::rename(&staged, dir).map_err(|e| Error::io(dir, e))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&staged, dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::io::sync_dir(parent);
    Ok(())
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Input(e.to_string()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        message: format!("malformed: {e}"),
    })
}

/// Read a checkpoint's manifest without loading its weights.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    read_json(&dir.join(MANIFEST))
}

/// Load and verify a checkpoint folder (`model-best/`, `model-last/`).
pub fn load(dir: &Path, device: &Device) -> Result<LoadedModel> {
    let bad = |message: String| Error::Checkpoint {
        path: dir.to_path_buf(),
        message,
    };
    if !dir.join(MANIFEST).is_file() {
        let old = dir.parent().unwrap_or(Path::new(".")).join(format!(
            ".stancekit-old-{}",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("")
        ));
        if old.join(MANIFEST).is_file() {
            return Err(bad(format!(
                "missing: a save was cut short while replacing it, and the previous checkpoint is in {0}; recover it with `mv {0} {1}`",
                old.display(),
                dir.display()
            )));
        }
        return Err(bad(format!(
            "no {MANIFEST}: expected a checkpoint folder such as checkpoints/<run>/model-best"
        )));
    }
    let manifest: Manifest = read_json(&dir.join(MANIFEST))?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {} is not supported by this stancekit (expects {FORMAT_VERSION})",
            manifest.format_version
        )));
    }
    if manifest.ensemble.is_some() {
        return crate::ensemble::load(dir, manifest, device);
    }
    let actual = sha256_file(&dir.join(WEIGHTS))?;
    if actual != manifest.weights_sha256 {
        return Err(bad(format!(
            "{WEIGHTS} does not match its manifest (sha256 {actual}, expected {}): the file is corrupt or was replaced",
            manifest.weights_sha256
        )));
    }
    let pipeline_file: PipelineFile = read_json(&dir.join(PIPELINE))?;
    if let Some(want) = &manifest.pipeline_sha256 {
        if &sha256_file(&dir.join(PIPELINE))? != want {
            return Err(bad(format!("{PIPELINE} does not match its manifest: the folder mixes files from different saves")));
        }
    }
    let config_path = dir.join(CONFIG);
    let config_text =
        std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
    if !manifest.config_sha256.is_empty()
        && sha256_hex(config_text.as_bytes()) != manifest.config_sha256
    {
        return Err(bad(format!(
            "{CONFIG} does not match its manifest: the folder mixes files from different saves"
        )));
    }
    let config = parse_saved_config(&config_text, &config_path)?.valid;
    let heads: Vec<usize> = pipeline_file.tasks.iter().map(|t| t.labels.len()).collect();
    let (mut model, pipeline) = match &config.pretrained {
        Some(spec) => {
            let expected = manifest.encoder.as_ref().ok_or_else(|| {
                bad(format!(
                    "{MANIFEST} has no encoder record (a pretrained model needs one)"
                ))
            })?;
            let bundled = dir.join(ENCODER_DIR);
            let from = if bundled.is_dir() {
                bundled
            } else {
                spec.path.clone()
            };
            let enc = LoadedEncoder::load(&from, spec, device).map_err(|e| {
                bad(format!(
                    "cannot load the encoder it was trained with ({e}); it expects {} with model.safetensors sha256 {}. Restore that folder, or bundle the encoder into the checkpoint where it is available (`stancekit bundle`)",
                    expected.path, expected.weights_sha256
                ))
            })?;
            let diffs = enc.record.differences(expected);
            if !diffs.is_empty() {
                return Err(bad(format!(
                    "the encoder at {} is not the one this model was trained with: {} differ (model.safetensors sha256 {}, expected {})",
                    from.display(),
                    diffs.join(", "),
                    enc.record.weights_sha256,
                    expected.weights_sha256
                )));
            }
            let pipeline =
                TextPipeline::for_encoder(pipeline_file.text.config.clone(), enc.tokenizer.clone());
            let model = model::build(
                &ModelSpec {
                    kind: config.model,
                    config: &config.raw.model,
                    pipeline: &pipeline,
                    encoder: Some((spec, &enc)),
                    heads: &heads,
                    seed: config.raw.run.seed,
                },
                device,
            )?;
            (model, pipeline)
        }
        None => {
            let pipeline = pipeline_file.text.reindex();
            let model = model::build(
                &ModelSpec {
                    kind: config.model,
                    config: &config.raw.model,
                    pipeline: &pipeline,
                    encoder: None,
                    heads: &heads,
                    seed: config.raw.run.seed,
                },
                device,
            )?;
            (model, pipeline)
        }
    };
    let weights = load_tensors(&dir.join(WEIGHTS), device)?;
    model
        .load_weights(&weights)
        .map_err(|e| bad(format!("weights do not fit the model: {e}")))?;
    Ok(LoadedModel {
        members: vec![Member {
            model,
            pipeline,
            dir: dir.to_path_buf(),
        }],
        tasks: pipeline_file.tasks,
        config,
        manifest,
        dir: dir.to_path_buf(),
        quantized: None,
    })
}

/// Copy a pretrained model's encoder into `dir/encoder/`, so the checkpoint loads without the
/// original folder. The files are checked against the manifest's hashes first.
pub fn bundle_encoder(dir: &Path) -> Result<PathBuf> {
    let bad = |message: String| Error::Checkpoint {
        path: dir.to_path_buf(),
        message,
    };
    let manifest = read_manifest(dir)?;
    if let Some(e) = &manifest.ensemble {
        for m in &e.members {
            if m.encoder.is_some() {
                bundle_encoder(&dir.join(&m.dir))?;
            }
        }
        return Ok(dir.join(crate::ensemble::MEMBERS_DIR));
    }
    let record = manifest.encoder.ok_or_else(|| {
        bad("not a pretrained-encoder checkpoint: there is no encoder to bundle".into())
    })?;
    let target = dir.join(ENCODER_DIR);
    if target.is_dir() {
        return Ok(target);
    }
    let src = PathBuf::from(&record.path);
    let files = EncoderFiles::locate(&src)?;
    let staging = tempfile::Builder::new()
        .prefix(".stancekit-encoder-")
        .tempdir_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    for name in files.file_names() {
        std::fs::copy(src.join(name), staging.path().join(name))
            .map_err(|e| Error::io(src.join(name), e))?;
    }
    let copied = EncoderRecord {
        path: record.path.clone(),
        weights_sha256: sha256_file(&staging.path().join(model::pretrained::WEIGHTS_FILE))?,
        config_sha256: sha256_file(&staging.path().join(model::pretrained::CONFIG_FILE))?,
        tokenizer_file: files.tokenizer_file.to_string(),
        tokenizer_sha256: sha256_file(&staging.path().join(files.tokenizer_file))?,
    };
    let diffs = copied.differences(&record);
    if !diffs.is_empty() {
        return Err(bad(format!(
            "the encoder at {} changed since training ({} differ); not bundling it",
            src.display(),
            diffs.join(", ")
        )));
    }
    std::fs::rename(staging.keep(), &target).map_err(|e| Error::io(&target, e))?;
    Ok(target)
}
