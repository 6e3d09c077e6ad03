//! How a `SparseTable` goes into a checkpoint and comes back: the stored rows only, with
//! their row numbers and the initialiser of the rest, so a checkpoint's size follows the data
//! and not the number of hash buckets. Checkpoints written before this layout (the whole table
//! as one `[rows, dim]` tensor) still load.

use super::{RowInit, SparseTable, ABSENT};
use candle_core::{Device, Result, Tensor};
use std::collections::HashMap;

/// Suffixes of the tensors stored beside the table's values: the stored rows' numbers
/// (`u32`), the initialiser's seed (`u32` high and low words) and its bound (`f32`, 0 for
/// zeros).
const ROWS_SUFFIX: &str = ".rows";
const SEED_SUFFIX: &str = ".seed";
const BOUND_SUFFIX: &str = ".bound";

fn err(message: String) -> candle_core::Error {
    candle_core::Error::Msg(message)
}

impl SparseTable {
    /// The table as checkpoint tensors under `name`: the stored rows' current values (pending
    /// decay applied), their row numbers and the initialiser.
    pub fn weights(&self, name: &str) -> Result<Vec<(String, Tensor)>> {
        let cpu = &Device::Cpu;
        let mut values = Vec::with_capacity(self.data.len());
        for &row in &self.ids {
            self.read_into(row as usize, &mut values);
        }
        let (seed, bound) = match self.init {
            RowInit::Zeros => (0u64, 0f32),
            RowInit::Uniform { seed, bound } => (seed, bound),
        };
        let seed_words = [(seed >> 32) as u32, seed as u32];
        Ok(vec![
            (
                name.to_string(),
                Tensor::from_vec(values, (self.ids.len(), self.dim), cpu)?,
            ),
            (
                format!("{name}{ROWS_SUFFIX}"),
                Tensor::from_slice(&self.ids, self.ids.len(), cpu)?,
            ),
            (
                format!("{name}{SEED_SUFFIX}"),
                Tensor::from_slice(&seed_words, 2, cpu)?,
            ),
            (
                format!("{name}{BOUND_SUFFIX}"),
                Tensor::from_slice(&[bound], 1, cpu)?,
            ),
        ])
    }

    /// Replace the table with the one stored under `name` in `weights`.
    pub fn load(&mut self, weights: &HashMap<String, Tensor>, name: &str) -> Result<()> {
        let t = weights
            .get(name)
            .ok_or_else(|| err(format!("weights file lacks `{name}`")))?;
        let (n, dim) = t.dims2()?;
        if dim != self.dim {
            return Err(err(format!(
                "`{name}` has {dim} columns, expected {}",
                self.dim
            )));
        }
        let ids: Vec<u32> = match weights.get(&format!("{name}{ROWS_SUFFIX}")) {
            Some(rows) => rows.to_vec1()?,
            // The layout before sparse checkpoints: every row, in order.
            None if n == self.rows => (0..n as u32).collect(),
            None => {
                return Err(err(format!(
                    "`{name}` is {n}x{dim} without row numbers, expected {}x{dim}",
                    self.rows
                )))
            }
        };
        if ids.len() != n {
            return Err(err(format!(
                "`{name}` holds {n} rows but names {}",
                ids.len()
            )));
        }
        let mut index = vec![ABSENT; self.rows];
        for (slot, &row) in ids.iter().enumerate() {
            match index.get_mut(row as usize) {
                Some(s) if *s == ABSENT => *s = slot as u32,
                Some(_) => return Err(err(format!("`{name}` stores row {row} twice"))),
                None => {
                    return Err(err(format!(
                        "`{name}` stores row {row}, but the table has {} rows",
                        self.rows
                    )))
                }
            }
        }
        let seed = match weights.get(&format!("{name}{SEED_SUFFIX}")) {
            Some(s) => match s.to_vec1::<u32>()?.as_slice() {
                [hi, lo] => Some((u64::from(*hi) << 32) | u64::from(*lo)),
                _ => return Err(err(format!("`{name}{SEED_SUFFIX}` is not two words"))),
            },
            None => None,
        };
        let bound = match weights.get(&format!("{name}{BOUND_SUFFIX}")) {
            Some(b) => b.to_vec1::<f32>()?.first().copied(),
            None => None,
        };
        self.init = match (seed, bound) {
            (Some(seed), Some(bound)) if bound != 0.0 => RowInit::Uniform { seed, bound },
            _ => RowInit::Zeros,
        };
        self.index = index;
        self.ids = ids;
        self.data = t.flatten_all()?.to_vec1()?;
        self.m.clear();
        self.v.clear();
        self.decay_log = 0.0;
        self.decay_mark = vec![0.0; self.ids.len()];
        Ok(())
    }

    /// The optimiser state of the stored rows, for a resume: moments, and with weight decay
    /// the stored values and each slot's pending decay (the weights file holds decayed values;
    /// a resume from those would round differently from an unbroken run). Slots are in the
    /// order `weights` writes them.
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let (shape, cpu) = ((self.ids.len(), self.dim), &Device::Cpu);
        let mut out = Vec::new();
        for (name, values) in [("sparse.m", &self.m), ("sparse.v", &self.v)] {
            if !values.is_empty() {
                out.push((name.into(), Tensor::from_slice(values, shape, cpu)?));
            }
        }
        if self.decay_log != 0.0 {
            out.push((
                "sparse.raw".into(),
                Tensor::from_slice(&self.data, shape, cpu)?,
            ));
            let marks = Tensor::from_slice(&self.decay_mark, self.ids.len(), cpu)?;
            out.push(("sparse.decay_mark".into(), marks));
            let log = Tensor::from_slice(&[self.decay_log], 1, cpu)?;
            out.push(("sparse.decay_log".into(), log));
        }
        Ok(out)
    }

    /// Restore what `state` saved, after `load` has set the weights.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        let expect = self.data.len();
        let get = |k: &str| -> Result<Vec<f32>> {
            let values: Vec<f32> = match state.get(k) {
                Some(t) => t.flatten_all()?.to_vec1()?,
                None => return Ok(Vec::new()),
            };
            match values.len() == expect {
                true => Ok(values),
                false => Err(err(format!(
                    "`{k}` holds {} values, the table stores {expect}",
                    values.len()
                ))),
            }
        };
        self.m = get("sparse.m")?;
        self.v = get("sparse.v")?;
        if let (Some(mark), Some(log)) = (
            state.get("sparse.decay_mark"),
            state.get("sparse.decay_log"),
        ) {
            let raw = get("sparse.raw")?;
            let mark: Vec<f64> = mark.to_vec1()?;
            if raw.len() != expect || mark.len() != self.ids.len() {
                return Err(err("the saved decay state does not match the table".into()));
            }
            self.data = raw;
            self.decay_mark = mark;
            self.decay_log = log.to_vec1::<f64>()?.first().copied().unwrap_or(0.0);
        }
        Ok(())
    }
}
