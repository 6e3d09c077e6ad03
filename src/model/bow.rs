//! `bow`: fastText-style classifier. The mean of the embeddings of a text's words and hashed
//! n-grams, an optional hidden layer, then a linear head per task.
//!
//! The embedding table can hold millions of rows, so it lives outside candle's variables and
//! is updated sparsely: a batch gathers only the rows it touches into a small `Var`, candle
//! takes the gradients, and the optimiser writes the update back to just those rows. A step
//! therefore costs time in proportion to the batch's tokens, not to the table's size.

use super::{apply_heads, dropout, task_heads, Batch, Classifier};
use crate::config::ModelConfig;
use crate::rng::SeededRng;
use crate::text::Features;
use candle_core::{Device, Result, Tensor, Var};
use candle_nn::{Linear, Module, VarBuilder, VarMap};

pub const TABLE_NAME: &str = "embed.table";

/// A row-major `[rows, dim]` table with per-row optimiser state.
#[derive(Debug, Clone)]
pub struct SparseTable {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
    /// Adam first and second moments (or SGD momentum in `m`), allocated on first update.
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

impl SparseTable {
    fn new(rows: usize, dim: usize, rng: &mut SeededRng) -> Self {
        // fastText initialises input vectors uniformly in ±1/dim.
        let bound = 1.0 / dim as f32;
        let data = (0..rows * dim)
            .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
            .collect();
        SparseTable {
            rows,
            dim,
            data,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    pub fn gather(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        let mut out = Vec::with_capacity(ids.len() * self.dim);
        for &i in ids {
            let s = i as usize * self.dim;
            out.extend_from_slice(&self.data[s..s + self.dim]);
        }
        Tensor::from_vec(out, (ids.len(), self.dim), device)
    }

    pub fn to_tensor(&self) -> Result<Tensor> {
        Tensor::from_slice(&self.data, (self.rows, self.dim), &Device::Cpu)
    }

    pub fn load(&mut self, t: &Tensor) -> Result<()> {
        let (rows, dim) = t.dims2()?;
        if (rows, dim) != (self.rows, self.dim) {
            return Err(candle_core::Error::Msg(format!(
                "embedding table is {rows}x{dim}, expected {}x{}",
                self.rows, self.dim
            )));
        }
        self.data = t.flatten_all()?.to_vec1()?;
        Ok(())
    }
}

pub struct Bow {
    table: SparseTable,
    /// Scratch map from table row to its slot in the current batch (`u32::MAX` = absent),
    /// reused so that batching costs O(entries), not a sort of them.
    slots: std::cell::RefCell<Vec<u32>>,
    hidden: Option<Linear>,
    heads: Vec<Linear>,
    dropout: f32,
    varmap: VarMap,
    device: Device,
}

impl Bow {
    pub fn new(
        cfg: &ModelConfig,
        rows: usize,
        heads: &[usize],
        vb: VarBuilder,
        varmap: VarMap,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let table = SparseTable::new(rows, cfg.dim, rng);
        let (hidden, width) = if cfg.hidden > 0 {
            (
                Some(candle_nn::linear(cfg.dim, cfg.hidden, vb.pp("hidden"))?),
                cfg.hidden,
            )
        } else {
            (None, cfg.dim)
        };
        Ok(Bow {
            slots: std::cell::RefCell::new(vec![u32::MAX; rows]),
            table,
            hidden,
            heads: task_heads(width, heads, &vb)?,
            dropout: cfg.dropout,
            device: vb.device().clone(),
            varmap,
        })
    }
}

impl Classifier for Bow {
    fn batch(&self, feats: &[&Features], train: bool) -> Result<Batch> {
        let n: usize = feats.iter().map(|f| f.bag.len()).sum();
        let (mut local, mut segment, mut scale) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        // Unique rows in order of first appearance. The order does not change any result:
        // pooling and gradients accumulate per entry, in entry order, either way.
        let mut ids: Vec<u32> = Vec::new();
        {
            let mut slots = self.slots.borrow_mut();
            for (b, f) in feats.iter().enumerate() {
                let inv = 1.0 / f.bag.len() as f32;
                for &id in &f.bag {
                    let slot = &mut slots[id as usize];
                    if *slot == u32::MAX {
                        *slot = ids.len() as u32;
                        ids.push(id);
                    }
                    local.push(*slot);
                    segment.push(b as u32);
                    scale.push(inv);
                }
            }
            for &id in &ids {
                slots[id as usize] = u32::MAX;
            }
        }
        let rows = self.table.gather(&ids, &self.device)?;
        Ok(Batch {
            size: feats.len(),
            bag_local: Some(Tensor::from_vec(local, n, &self.device)?),
            bag_segment: Some(Tensor::from_vec(segment, n, &self.device)?),
            bag_scale: Some(Tensor::from_vec(scale, (n, 1), &self.device)?),
            bag_rows: Some(if train {
                Var::from_tensor(&rows)?
            } else {
                Var::from_tensor(&rows.detach())?
            }),
            bag_ids: ids,
            ids: None,
            mask: None,
            lengths: feats.iter().map(|f| f.bag.len()).collect(),
            dropout_seed: None,
            pooled: None,
        })
    }

    fn forward_t(&self, batch: &Batch, train: bool) -> Result<Vec<Tensor>> {
        let (Some(local), Some(segment), Some(scale), Some(rows)) = (
            &batch.bag_local,
            &batch.bag_segment,
            &batch.bag_scale,
            &batch.bag_rows,
        ) else {
            return Err(candle_core::Error::Msg("bow needs a bag batch".into()));
        };
        // Embedding bag: mean over each text's entries, as gather + scaled scatter-add, so the
        // cost is proportional to the batch's entries, not to batch x unique rows.
        let entries = rows
            .as_tensor()
            .index_select(local, 0)?
            .broadcast_mul(scale)?;
        let zeros = Tensor::zeros((batch.size, self.table.dim), entries.dtype(), &self.device)?;
        let mut x = zeros.index_add(segment, &entries, 0)?;
        let seed = if train { batch.dropout_seed } else { None };
        if let Some(h) = &self.hidden {
            x = h.forward(&x)?.relu()?;
        }
        x = dropout(&x, self.dropout, seed, 1)?;
        apply_heads(&self.heads, &x)
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn sparse_table(&mut self) -> Option<&mut SparseTable> {
        Some(&mut self.table)
    }

    fn named_weights(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out: Vec<(String, Tensor)> = super::sorted_vars(&self.varmap)
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect();
        out.push((TABLE_NAME.to_string(), self.table.to_tensor()?));
        Ok(out)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}
