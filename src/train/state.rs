//! The training loop's state, and the `resume/` folder an interrupted run leaves behind.

use super::schedule::EarlyStopping;
use super::Ctx;
use crate::checkpoint::{load_tensors, save_tensors, CONFIG, WEIGHTS};
use crate::error::{Error, Result};
use crate::eval::Metrics;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const RESUME_DIR: &str = "resume";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";

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
        }
    }
}

/// Write weights, optimiser moments, loop state and config, replacing any earlier resume state.
pub fn save(run_dir: &Path, ctx: &mut Ctx, st: &LoopState) -> Result<()> {
    let dir = run_dir.join(RESUME_DIR);
    save_tensors(&dir.join(WEIGHTS), ctx.model.named_weights()?)?;
    let mut opt = ctx.optimizer.state();
    if let Some(table) = ctx.model.sparse_table() {
        let shape = (table.rows, table.dim);
        if !table.m.is_empty() {
            opt.push((
                "sparse.m".into(),
                Tensor::from_slice(&table.m, shape, &candle_core::Device::Cpu)?,
            ));
        }
        if !table.v.is_empty() {
            opt.push((
                "sparse.v".into(),
                Tensor::from_slice(&table.v, shape, &candle_core::Device::Cpu)?,
            ));
        }
    }
    save_tensors(&dir.join(OPTIMIZER), opt)?;
    crate::io::write_atomic(&dir.join(CONFIG), ctx.cfg.resolved_toml.as_bytes())?;
    let json = serde_json::to_vec_pretty(st).map_err(|e| Error::Input(e.to_string()))?;
    crate::io::write_atomic(&dir.join(STATE), &json)
}

/// Restore a saved state into a freshly built context.
pub fn load(dir: &Path, ctx: &mut Ctx) -> Result<LoopState> {
    let bad = |message: String| Error::Checkpoint {
        path: dir.to_path_buf(),
        message,
    };
    let state_path = dir.join(STATE);
    let bytes = std::fs::read(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let st: LoopState =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("{STATE} is malformed: {e}")))?;
    let device = ctx.model.device().clone();
    let weights = load_tensors(&dir.join(WEIGHTS), &device)?;
    crate::model::load_weights(ctx.model.as_mut(), &weights).map_err(|e| bad(e.to_string()))?;
    let opt = load_tensors(&dir.join(OPTIMIZER), &device)?;
    ctx.optimizer
        .load_state(&opt, st.optimizer_step)
        .map_err(|e| bad(e.to_string()))?;
    if let Some(table) = ctx.model.sparse_table() {
        let get = |k: &str| -> Result<Vec<f32>> {
            Ok(match opt.get(k) {
                Some(t) => t.flatten_all()?.to_vec1()?,
                None => Vec::new(),
            })
        };
        table.m = get("sparse.m")?;
        table.v = get("sparse.v")?;
    }
    Ok(st)
}
