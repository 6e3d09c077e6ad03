//! Ensembles: a checkpoint folder that holds several trained checkpoints (other seeds, other
//! architectures) as members, whose probabilities are averaged. The folder is self-contained
//! (each member is copied in whole) and its manifest lists every member with its hashes, so an
//! ensemble is verified on loading and traced back to its parts like any checkpoint.

use crate::checkpoint::{
    self, sha256_file, sha256_hex, DataFile, Manifest, CONFIG, FORMAT_VERSION, MANIFEST,
};
use crate::config::parse_saved_config;
use crate::error::{Error, Result};
use crate::loaded::LoadedModel;
use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `model_kind` an ensemble's manifest carries.
pub const KIND: &str = "ensemble";
/// Where the members live inside an ensemble folder.
pub const MEMBERS_DIR: &str = "members";

/// How the members' outputs are combined, and what they are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnsembleRecord {
    /// `mean`: the average of the members' probabilities, in member order.
    pub combine: String,
    pub members: Vec<MemberRecord>,
    /// Whether every member was trained on the same data with the same train/dev/test split,
    /// so the first member's dev and test rows are held out from all of them.
    #[serde(default)]
    pub shared_split: bool,
}

/// One member, by hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberRecord {
    /// Its folder, relative to the ensemble's.
    pub dir: String,
    /// The checkpoint it was copied from.
    pub source: String,
    pub model_kind: String,
    pub seed: u64,
    pub weights_sha256: String,
    pub manifest_sha256: String,
    /// The encoder folder it loads from when the encoder is not bundled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<PathBuf>,
}

/// The identity of an ensemble's weights: a hash over its members' weights, in order.
fn combined_sha(members: &[MemberRecord]) -> String {
    let mut key = String::from("stancekit-ensemble-v1\n");
    for m in members {
        key.push_str(&m.weights_sha256);
        key.push('\n');
    }
    sha256_hex(key.as_bytes())
}

fn bad(dir: &Path, message: String) -> Error {
    Error::Checkpoint {
        path: dir.to_path_buf(),
        message,
    }
}

/// Assemble `members` into `<run_dir>/model-best`, where evaluation and the cross-domain
/// script look for a run's model, leaving room beside it for the run's reports. `run_dir`
/// may be new, empty, or an earlier ensemble run: any other folder is the user's.
pub fn assemble_run(members: &[PathBuf], run_dir: &Path) -> Result<Manifest> {
    let best = run_dir.join(BEST);
    let earlier = checkpoint::read_manifest(&best).is_ok_and(|m| m.ensemble.is_some());
    let empty = std::fs::read_dir(run_dir).map_or(true, |mut d| d.next().is_none());
    if !(earlier || empty) {
        return Err(Error::Input(format!(
            "--out {}: the folder exists and holds no ensemble; choose a new folder",
            run_dir.display()
        )));
    }
    refuse_members_inside(members, run_dir)?;
    assemble(members, &best)
}

/// The folder inside an ensemble run that holds the ensemble checkpoint.
pub const BEST: &str = "model-best";

/// Replacing `out` must never delete a member.
fn refuse_members_inside(members: &[PathBuf], out: &Path) -> Result<()> {
    let Ok(o) = std::fs::canonicalize(out) else {
        return Ok(());
    };
    for m in members {
        if std::fs::canonicalize(m).is_ok_and(|m| m.starts_with(&o)) {
            return Err(Error::Input(format!(
                "--out {}: the member {} lies inside it; choose another folder",
                out.display(),
                m.display()
            )));
        }
    }
    Ok(())
}

/// Copy the checkpoints `members` into a new ensemble folder `out` (replacing an earlier
/// ensemble there, never anything else) and return its manifest. Every member must load and
/// carry the same tasks with the same labels in the same order.
pub fn assemble(members: &[PathBuf], out: &Path) -> Result<Manifest> {
    if members.len() < 2 {
        return Err(Error::Input(format!(
            "an ensemble needs at least two member checkpoints, got {}",
            members.len()
        )));
    }
    let mut guard = crate::guard::Protected::new();
    for m in members {
        guard = guard.dir(m);
    }
    refuse_members_inside(members, out)?;
    guard.check("--out", &out.join(MANIFEST))?;
    refuse_foreign_folder(out)?;
    let loaded: Vec<LoadedModel> = members
        .iter()
        .map(|m| checkpoint::load(m, &Device::Cpu))
        .collect::<Result<_>>()?;
    for (m, l) in members.iter().zip(&loaded) {
        if l.is_ensemble() {
            return Err(bad(m, "is an ensemble; list its members instead".into()));
        }
        same_tasks(&loaded[0], l, m)?;
    }
    let parent = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let (staging, _registered) = checkpoint::stage(parent)?;
    let s = staging.path();
    let mut records = Vec::new();
    for (i, (src, l)) in members.iter().zip(&loaded).enumerate() {
        let rel = format!("{MEMBERS_DIR}/{i:02}");
        checkpoint::copy_tree(src, &s.join(&rel))?;
        records.push(MemberRecord {
            dir: rel.clone(),
            source: src.display().to_string(),
            model_kind: l.manifest.model_kind.clone(),
            seed: l.manifest.seed,
            weights_sha256: l.manifest.weights_sha256.clone(),
            manifest_sha256: sha256_file(&s.join(&rel).join(MANIFEST))?,
            encoder: l.manifest.encoder.as_ref().map(|e| PathBuf::from(&e.path)),
        });
    }
    let config = std::fs::read(members[0].join(CONFIG)).map_err(|e| Error::io(&members[0], e))?;
    crate::io::write_atomic(&s.join(CONFIG), &config)?;
    let first = &loaded[0].manifest;
    let mut data: Vec<DataFile> = Vec::new();
    for d in loaded.iter().flat_map(|l| &l.manifest.data) {
        if !data.contains(d) {
            data.push(d.clone());
        }
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        model_kind: KIND.to_string(),
        seed: first.seed,
        threads: first.threads,
        device: first.device.clone(),
        step: 0,
        data,
        config_sha256: sha256_hex(&config),
        weights_sha256: combined_sha(&records),
        pipeline_sha256: None,
        metrics: BTreeMap::new(),
        train_seconds: loaded.iter().map(|l| l.manifest.train_seconds).sum(),
        encoder: None,
        distill: None,
        ensemble: Some(EnsembleRecord {
            combine: "mean".into(),
            members: records,
            shared_split: loaded.iter().all(|l| split_key(l) == split_key(&loaded[0])),
        }),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Input(e.to_string()))?;
    crate::io::write_atomic(&s.join(MANIFEST), &json)?;
    checkpoint::install(staging.keep(), out)?;
    Ok(manifest)
}

/// `out` may be new, empty, or an earlier ensemble: a run folder or any other folder with
/// files is the user's and is never replaced.
fn refuse_foreign_folder(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let is_ensemble = checkpoint::read_manifest(out).is_ok_and(|m| m.ensemble.is_some());
    let empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none());
    match is_ensemble || empty {
        true => Ok(()),
        false => Err(Error::Input(format!(
            "--out {}: the folder exists and is not an ensemble; choose a new folder",
            out.display()
        ))),
    }
}

/// What decides a member's train/dev/test rows: its data files (by hash), data settings and
/// split settings with the seed resolved.
fn split_key(l: &LoadedModel) -> String {
    let c = &l.config.raw;
    let split = (
        c.split.dev,
        c.split.test,
        &c.split.stratify,
        c.split.folds,
        c.split.fold,
    );
    serde_json::json!([l.manifest.data, c.data, split, l.config.split_seed()]).to_string()
}

/// `b` (at `path`) has the tasks of `a`, with the same labels in the same order.
fn same_tasks(a: &LoadedModel, b: &LoadedModel, path: &Path) -> Result<()> {
    let names = |l: &LoadedModel| -> Vec<(String, Vec<String>)> {
        l.tasks
            .iter()
            .map(|t| (t.name.clone(), t.labels.clone()))
            .collect()
    };
    let (want, got) = (names(a), names(b));
    match want == got {
        true => Ok(()),
        false => Err(bad(
            path,
            format!("its tasks and labels {got:?} differ from the first member's {want:?}"),
        )),
    }
}

/// Load an ensemble folder whose manifest is `manifest`: every member is loaded and checked
/// against its record.
pub fn load(dir: &Path, manifest: Manifest, device: &Device) -> Result<LoadedModel> {
    let Some(record) = &manifest.ensemble else {
        return Err(bad(dir, "not an ensemble".into()));
    };
    if record.combine != "mean" {
        let m = format!(
            "combine `{}` is not supported (expects mean)",
            record.combine
        );
        return Err(bad(dir, m));
    }
    if record.members.is_empty() || combined_sha(&record.members) != manifest.weights_sha256 {
        return Err(bad(
            dir,
            format!(
                "{MANIFEST}: its member list does not match its weights hash: the file was edited"
            ),
        ));
    }
    let config_path = dir.join(CONFIG);
    let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
    if sha256_hex(text.as_bytes()) != manifest.config_sha256 {
        return Err(bad(
            dir,
            format!(
                "{CONFIG} does not match its manifest: the folder mixes files from different saves"
            ),
        ));
    }
    let config = parse_saved_config(&text, &config_path)?.valid;
    let mut parts: Vec<LoadedModel> = Vec::new();
    for r in &record.members {
        let path = dir.join(&r.dir);
        if !path.starts_with(dir) || r.dir.contains("..") {
            return Err(bad(dir, format!("member folder `{}` is outside it", r.dir)));
        }
        let actual = sha256_file(&path.join(MANIFEST))?;
        if actual != r.manifest_sha256 {
            return Err(bad(
                &path,
                format!("{MANIFEST} does not match the ensemble's record of it (sha256 {actual}, expected {})", r.manifest_sha256),
            ));
        }
        let part = checkpoint::load(&path, device)?;
        if part.is_ensemble() || part.manifest.weights_sha256 != r.weights_sha256 {
            return Err(bad(&path, "is not the member the ensemble recorded".into()));
        }
        if let Some(first) = parts.first() {
            same_tasks(first, &part, &path)?;
        }
        parts.push(part);
    }
    let mut tasks = parts[0].tasks.clone();
    // Members' tuned thresholds fit their own probabilities, not the average.
    for t in &mut tasks {
        t.thresholds = None;
    }
    Ok(LoadedModel {
        members: parts.into_iter().flat_map(|p| p.members).collect(),
        tasks,
        config,
        manifest,
        dir: dir.to_path_buf(),
        quantized: None,
    })
}
