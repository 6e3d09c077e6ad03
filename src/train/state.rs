//! The training loop's state, and the `resume/` folder an interrupted run leaves behind.
//!
//! `resume/` is written as a whole: into a staging folder, each file synced, then renamed into
//! place, with `state.json` naming the sha256 of every other file. Loading checks those hashes,
//! so a state whose files come from different saves (a save cut short by SIGKILL or a second
//! signal) is reported with the command that recovers, never resumed with wrong weights.

use super::schedule::EarlyStopping;
use super::Ctx;
use crate::checkpoint::{install, load_tensors, save_tensors, sha256_file, CONFIG, WEIGHTS};
use crate::error::{Error, Result};
use crate::eval::Metrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::layout::RESUME_DIR;
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";
/// The running sum of weight averaging (`train.average_from`), when it has begun.
const SWA: &str = "swa.safetensors";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopState {
    /// Steps done.
    pub step: usize,
    /// Current epoch (0-based) and batches of it already done.
    pub epoch: usize,
    pub pos: usize,
    pub early: Option<EarlyStopping>,
    /// Dev metrics per task at the best evaluation so far.
    pub best_dev: BTreeMap<String, Metrics>,
    pub optimizer_step: u64,
    /// Seconds spent training before this process (for throughput and the manifest).
    pub seconds: f64,
    pub examples_seen: usize,
    /// Checkpoints summed so far for weight averaging.
    #[serde(default)]
    pub swa_count: usize,
    /// sha256 of each other file of the saved state, by name (empty in memory).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

impl LoopState {
    pub fn new() -> Self {
        LoopState {
            step: 0,
            epoch: 0,
            pos: 0,
            early: None,
            best_dev: BTreeMap::new(),
            optimizer_step: 0,
            seconds: 0.0,
            examples_seen: 0,
            swa_count: 0,
            files: BTreeMap::new(),
        }
    }
}

/// Write weights, optimiser moments, loop state and config as one folder, replacing any earlier
/// resume state only once the new one is complete.
pub fn save(run_dir: &Path, ctx: &mut Ctx, st: &LoopState) -> Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".stancekit-resume-")
        .tempdir_in(run_dir)
        .map_err(|e| Error::io(run_dir, e))?;
    let _registered = crate::runtime::TempGuard::new(staging.path());
    let dir = staging.path();
    let mut st = st.clone();
    let weights = save_tensors(&dir.join(WEIGHTS), ctx.model.named_weights()?)?;
    st.files.insert(WEIGHTS.into(), weights);
    let mut opt = ctx.optimizer.state();
    opt.extend(ctx.model.train_state()?);
    let opt_sha = save_tensors(&dir.join(OPTIMIZER), opt)?;
    st.files.insert(OPTIMIZER.into(), opt_sha);
    if let Some(avg) = ctx.swa.as_ref().filter(|a| a.count > 0) {
        st.files
            .insert(SWA.into(), save_tensors(&dir.join(SWA), avg.state())?);
        st.swa_count = avg.count;
    }
    crate::io::write_atomic(&dir.join(CONFIG), ctx.cfg.resolved_toml.as_bytes())?;
    st.files
        .insert(CONFIG.into(), sha256_file(&dir.join(CONFIG))?);
    let json = serde_json::to_vec_pretty(&st).map_err(|e| Error::Input(e.to_string()))?;
    crate::io::write_atomic(&dir.join(STATE), &json)?;
    install(staging.keep(), &run_dir.join(RESUME_DIR))
}

/// Remove what an earlier process left behind in `run_dir` when it was killed: staging
/// folders and temporary files, and (for a fresh run) the previous copy an interrupted swap
/// kept. A resume keeps that copy: it may be the only complete state.
pub fn sweep_temps(run_dir: &Path, fresh: bool) {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stale =
            name.starts_with(".stancekit-") && (fresh || !name.starts_with(".stancekit-old-"));
        if stale {
            let p = e.path();
            let _ = match p.is_dir() {
                true => std::fs::remove_dir_all(&p),
                false => std::fs::remove_file(&p),
            };
        }
    }
}

/// Check the saved state's files against the hashes in `state.json`.
fn verify(dir: &Path, st: &LoopState) -> std::result::Result<(), String> {
    if st.files.is_empty() {
        return Err(format!(
            "{STATE} lists no file hashes (a state from an older stancekit, or a torn save)"
        ));
    }
    let optional = st.files.contains_key(SWA).then_some(SWA);
    for name in [WEIGHTS, OPTIMIZER, CONFIG].into_iter().chain(optional) {
        let want = st
            .files
            .get(name)
            .ok_or_else(|| format!("{STATE} has no hash for {name}"))?;
        let got = sha256_file(&dir.join(name)).map_err(|e| e.to_string())?;
        if &got != want {
            return Err(format!(
                "{name} does not match the hash in {STATE}: its files come from different saves"
            ));
        }
    }
    Ok(())
}

/// Why a resume state cannot be used, and how to recover.
fn unusable(dir: &Path, why: String) -> Error {
    let run_dir = dir.parent().unwrap_or(Path::new("."));
    let old = run_dir.join(format!(".stancekit-old-{RESUME_DIR}"));
    let recover = if old.join(STATE).is_file() {
        format!(
            "an earlier complete state was kept: `rm -rf {0} && mv {1} {0} && stancekit train --resume {2}`",
            dir.display(),
            old.display(),
            run_dir.display()
        )
    } else {
        format!(
            "start the run again with `stancekit train --config {}`",
            run_dir.join("model-last").join(CONFIG).display()
        )
    };
    Error::Checkpoint {
        path: dir.to_path_buf(),
        message: format!("the resume state is incomplete ({why}); {recover}"),
    }
}

/// Read `state.json`, or say how to recover when it is missing or torn.
pub fn read_state(dir: &Path) -> Result<LoopState> {
    let state_path = dir.join(STATE);
    let bytes = std::fs::read(&state_path)
        .map_err(|e| unusable(dir, format!("cannot read {STATE}: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| unusable(dir, format!("{STATE} is malformed: {e}")))
}

/// Restore a saved state into a freshly built context.
pub fn load(dir: &Path, ctx: &mut Ctx) -> Result<LoopState> {
    let bad = |message: String| Error::Checkpoint {
        path: dir.to_path_buf(),
        message,
    };
    let st = read_state(dir)?;
    verify(dir, &st).map_err(|why| unusable(dir, why))?;
    let device = ctx.model.device().clone();
    let weights = load_tensors(&dir.join(WEIGHTS), &device)?;
    ctx.model
        .load_weights(&weights)
        .map_err(|e| bad(e.to_string()))?;
    let opt = load_tensors(&dir.join(OPTIMIZER), &device)?;
    ctx.optimizer
        .load_state(&opt, st.optimizer_step)
        .map_err(|e| bad(e.to_string()))?;
    ctx.model
        .load_train_state(&opt)
        .map_err(|e| bad(e.to_string()))?;
    if st.files.contains_key(SWA) {
        let sum = load_tensors(&dir.join(SWA), &device)?;
        match ctx.swa.as_mut() {
            Some(avg) => avg.restore(&sum, st.swa_count)?,
            None => {
                return Err(bad(format!(
                    "{SWA} is here but the config averages no weights"
                )))
            }
        }
    }
    Ok(st)
}
