//! `bow`: fastText-style classifier. The (weighted) mean of the embeddings of a text's words
//! and hashed n-grams, an optional hidden layer, then a linear head per task. In linear mode
//! the table has one column per label and the pooled vector is the logits: a linear model over
//! the bag, as TF-IDF + a linear SVM is, trained by the same loop.
//!
//! The embedding table can hold millions of rows, so it lives outside candle's variables and
//! is updated sparsely (`sparse.rs`): a batch gathers only the rows it touches, pools them by
//! hand into a small `Var` that candle differentiates through the heads, hands each row its
//! share of that gradient (`sparse_grad`), and the optimiser writes the update back to just
//! those rows. A step therefore costs time in proportion to the batch's tokens, not to the
//! table.

use super::{
    apply_heads, dropout, dropout_mask, task_heads, BagInput, Batch, Classifier, Input, RowInit,
    SparseTable,
};
use crate::config::ModelConfig;
use crate::optim::Optimizer;
use crate::rng::SeededRng;
use crate::text::Features;
use candle_core::{backprop::GradStore, Device, Result, Tensor, Var};
use candle_nn::{Init, Linear, Module, VarBuilder, VarMap};
use std::collections::HashMap;

pub const TABLE_NAME: &str = "embed.table";

fn bag_of(batch: &Batch) -> Result<&BagInput> {
    match &batch.input {
        Input::Bag(bag) => Ok(bag),
        _ => Err(candle_core::Error::Msg(
            "bow reads bags; this batch holds another input".into(),
        )),
    }
}

/// What turns the pooled vector into each task's logits.
enum Heads {
    /// A linear layer per task (after the optional shared hidden layer).
    Dense(Vec<Linear>),
    /// Linear mode: task `i` reads its labels' columns of the pooled vector, plus a bias.
    Direct(Vec<(usize, usize, Tensor)>),
}

pub struct Bow {
    table: SparseTable,
    /// Scratch map from table row to its slot in the current batch (`u32::MAX` = absent),
    /// reused so that batching costs O(entries), not a sort of them. A mutex, not a RefCell,
    /// so a loaded model can be shared across threads (the Python package releases the GIL).
    slots: std::sync::Mutex<Vec<u32>>,
    hidden: Option<Linear>,
    heads: Heads,
    dropout: f32,
    ngram_dropout: f32,
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
        if cfg.linear {
            let mut direct = Vec::with_capacity(heads.len());
            let mut offset = 0;
            for (i, &n) in heads.iter().enumerate() {
                let bias =
                    vb.pp(format!("head_{i}"))
                        .get_with_hints(n, "bias", Init::Const(0.0))?;
                direct.push((offset, n, bias));
                offset += n;
            }
            return Ok(Bow {
                slots: std::sync::Mutex::new(vec![u32::MAX; rows]),
                table: SparseTable::new(rows, offset, RowInit::Zeros),
                hidden: None,
                heads: Heads::Direct(direct),
                dropout: 0.0,
                ngram_dropout: cfg.ngram_dropout,
                device: vb.device().clone(),
                varmap,
            });
        }
        // fastText initialises input vectors uniformly in ±1/dim.
        let init = RowInit::Uniform {
            seed: rng.next_u64(),
            bound: 1.0 / cfg.dim as f32,
        };
        let table = SparseTable::new(rows, cfg.dim, init);
        let (hidden, width) = if cfg.hidden > 0 {
            (
                Some(candle_nn::linear(cfg.dim, cfg.hidden, vb.pp("hidden"))?),
                cfg.hidden,
            )
        } else {
            (None, cfg.dim)
        };
        Ok(Bow {
            slots: std::sync::Mutex::new(vec![u32::MAX; rows]),
            table,
            hidden,
            heads: Heads::Dense(task_heads(width, heads, &vb)?),
            dropout: cfg.dropout,
            ngram_dropout: cfg.ngram_dropout,
            device: vb.device().clone(),
            varmap,
        })
    }
}

impl Bow {
    /// The weighted bag, through the hidden layer when there is one: what the heads read.
    fn pooled(&self, batch: &Batch, train: bool) -> Result<Tensor> {
        let bag = match &batch.input {
            Input::Pooled(x) => return self.through_hidden(x.clone()),
            _ => bag_of(batch)?,
        };
        let seed = if train { batch.dropout_seed } else { None };
        // N-gram dropout: drop whole entries, scaling the rest so the expected sum is kept.
        let scale: Vec<f32> = match dropout_mask(bag.scale.len(), self.ngram_dropout, seed, 2) {
            Some(mask) => bag.scale.iter().zip(&mask).map(|(s, m)| s * m).collect(),
            None => bag.scale.clone(),
        };
        // Embedding bag by hand: each text's entries summed in entry order, in one pass over
        // the batch's rows, with no per-entry tensors. `sparse_grad` is its backward pass.
        let dim = self.table.dim;
        let mut out = vec![0f32; batch.size * dim];
        for ((&l, &b), &w) in bag.local.iter().zip(&bag.segment).zip(&scale) {
            let row = &bag.rows[l as usize * dim..(l as usize + 1) * dim];
            let o = &mut out[b as usize * dim..(b as usize + 1) * dim];
            for (o, x) in o.iter_mut().zip(row) {
                *o += x * w;
            }
        }
        let x = Var::from_vec(out, (batch.size, dim), &self.device)?;
        let mut kept = bag.kept.lock().unwrap_or_else(|e| e.into_inner());
        *kept = Some((x.clone(), scale));
        self.through_hidden(x.as_tensor().clone())
    }

    fn through_hidden(&self, x: Tensor) -> Result<Tensor> {
        match &self.hidden {
            Some(h) => h.forward(&x)?.relu(),
            None => Ok(x),
        }
    }

    /// An inference batch: the bags pooled straight from the table in one pass, with no
    /// per-entry tensors (what `pooled` computes in training, for rows training updated).
    fn pooled_batch(&self, feats: &[&Features]) -> Result<Batch> {
        let dim = self.table.dim;
        let mut out = vec![0f32; feats.len() * dim];
        for (f, o) in feats.iter().zip(out.chunks_mut(dim)) {
            self.table.pool_into(&f.bag, &f.bag_weights, o);
        }
        Ok(Batch {
            size: feats.len(),
            input: Input::Pooled(Tensor::from_vec(out, (feats.len(), dim), &self.device)?),
            lengths: feats.iter().map(|f| f.bag.len()).collect(),
            dropout_seed: None,
        })
    }
}

impl Classifier for Bow {
    fn batch(&self, feats: &[&Features], train: bool) -> Result<Batch> {
        if !train {
            return self.pooled_batch(feats);
        }
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
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            for (b, f) in feats.iter().enumerate() {
                for &id in &f.bag {
                    let slot = &mut slots[id as usize];
                    if *slot == u32::MAX {
                        *slot = ids.len() as u32;
                        ids.push(id);
                    }
                    local.push(*slot);
                    segment.push(b as u32);
                }
                match f.bag_weights.len() == f.bag.len() {
                    true => scale.extend_from_slice(&f.bag_weights),
                    false => {
                        scale.extend(std::iter::repeat_n(1.0 / f.bag.len() as f32, f.bag.len()))
                    }
                }
            }
            for &id in &ids {
                slots[id as usize] = u32::MAX;
            }
        }
        let rows = self.table.gather_vec(&ids);
        let bag = BagInput {
            local,
            segment,
            scale,
            rows,
            ids,
            kept: std::sync::Mutex::new(None),
        };
        Ok(Batch {
            size: feats.len(),
            input: Input::Bag(bag),
            lengths: feats.iter().map(|f| f.bag.len()).collect(),
            dropout_seed: None,
        })
    }

    fn forward_t(&self, batch: &Batch, train: bool) -> Result<Vec<Tensor>> {
        let seed = if train { batch.dropout_seed } else { None };
        let x = dropout(&self.pooled(batch, train)?, self.dropout, seed, 1)?;
        match &self.heads {
            Heads::Dense(heads) => apply_heads(heads, &x),
            Heads::Direct(heads) => heads
                .iter()
                .map(|(offset, n, bias)| x.narrow(1, *offset, *n)?.broadcast_add(bias))
                .collect(),
        }
    }

    fn represent(&self, batch: &Batch) -> Result<Tensor> {
        self.pooled(batch, false)
    }

    fn start_words(&mut self, vectors: &[f32]) -> Result<bool> {
        if matches!(self.heads, Heads::Direct(_)) {
            return Ok(false);
        }
        let dim = self.table.dim;
        if !vectors.len().is_multiple_of(dim) || vectors.len() / dim + 2 > self.table.rows {
            return Err(candle_core::Error::Msg(format!(
                "{} values of word vectors for a table of {} rows of width {dim}",
                vectors.len(),
                self.table.rows
            )));
        }
        for (i, v) in vectors.chunks(dim).enumerate() {
            self.table.preset(i + 2, v);
        }
        Ok(true)
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn load_weights(&mut self, weights: &HashMap<String, Tensor>) -> Result<()> {
        super::load_vars(&self.varmap, weights)?;
        self.table.load(weights, TABLE_NAME)
    }

    /// The embedding bag's backward pass: each entry passes its text's gradient, times its
    /// weight, to its row, summed in entry order.
    fn sparse_grad(&self, batch: &Batch, grads: &GradStore) -> Result<Option<Vec<f32>>> {
        let bag = bag_of(batch)?;
        let kept = bag.kept.lock().unwrap_or_else(|e| e.into_inner());
        let Some((x, scale)) = kept.as_ref() else {
            return Ok(None);
        };
        let Some(g) = grads.get(x.as_tensor()) else {
            return Ok(None);
        };
        let g: Vec<f32> = g.flatten_all()?.to_vec1()?;
        let dim = self.table.dim;
        let mut out = vec![0f32; bag.ids.len() * dim];
        for ((&l, &b), &w) in bag.local.iter().zip(&bag.segment).zip(scale) {
            let gb = &g[b as usize * dim..(b as usize + 1) * dim];
            let o = &mut out[l as usize * dim..(l as usize + 1) * dim];
            for (o, x) in o.iter_mut().zip(gb) {
                *o += x * w;
            }
        }
        Ok(Some(out))
    }

    fn step_sparse(&mut self, batch: &Batch, grad: &[f32], opt: &Optimizer, lr: f64, scale: f64) {
        if let Input::Bag(bag) = &batch.input {
            self.table.step(opt, &bag.ids, grad, lr, scale);
        }
    }

    fn train_state(&self) -> Result<Vec<(String, Tensor)>> {
        self.table.state()
    }

    fn load_train_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        self.table.load_state(state)
    }

    fn named_weights(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out: Vec<(String, Tensor)> = super::sorted_vars(&self.varmap)
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect();
        out.extend(self.table.weights(TABLE_NAME)?);
        Ok(out)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}
