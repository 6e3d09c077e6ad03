//! The `bow` embedding table: rows updated sparsely, with weight decay applied lazily.
//!
//! The table can hold millions of rows, so it lives outside candle's variables: a batch
//! gathers only the rows it touches, and the optimiser writes back only those. Weight decay
//! shrinks every row at every step, which would cost time in proportion to the table; instead
//! each row remembers the cumulative decay at its last update, and the decay it missed since is
//! applied when the row is next read or written. The result is the dense update's, exactly up
//! to float rounding.

use crate::config::OptimizerKind;
use crate::optim::{Optimizer, BETA1, BETA2, EPS};
use crate::rng::SeededRng;
use candle_core::{Device, Result, Tensor};

/// A row-major `[rows, dim]` table with per-row optimiser state.
#[derive(Debug, Clone)]
pub struct SparseTable {
    pub rows: usize,
    pub dim: usize,
    /// Row values before the decay still pending for each row (see `decay_mark`).
    pub data: Vec<f32>,
    /// Adam first and second moments (or SGD momentum in `m`), allocated on first update.
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    /// Sum over the steps so far of ln(1 - lr * weight_decay).
    pub decay_log: f64,
    /// Per row, `decay_log` when the row was last brought up to date; empty without decay.
    pub decay_mark: Vec<f64>,
}

impl SparseTable {
    pub fn new(rows: usize, dim: usize, rng: &mut SeededRng) -> Self {
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
            decay_log: 0.0,
            decay_mark: Vec::new(),
        }
    }

    /// A table of zeros: a linear model's start, so that plain SGD ends in the span of the
    /// training data (its minimum-norm, max-margin direction) with no random component.
    pub fn zeros(rows: usize, dim: usize) -> Self {
        SparseTable {
            rows,
            dim,
            data: vec![0.0; rows * dim],
            m: Vec::new(),
            v: Vec::new(),
            decay_log: 0.0,
            decay_mark: Vec::new(),
        }
    }

    /// The factor a row's stored values still owe to weight decay.
    #[inline]
    pub fn pending(&self, row: usize) -> f32 {
        match self.decay_mark.get(row) {
            Some(&mark) if mark != self.decay_log => (self.decay_log - mark).exp() as f32,
            _ => 1.0,
        }
    }

    /// Record one step's decay factor `1 - rate` for every row, without touching them.
    pub fn add_decay(&mut self, rate: f64) {
        if self.decay_mark.is_empty() {
            self.decay_mark = vec![0.0; self.rows];
            self.decay_log = 0.0;
        }
        self.decay_log += (1.0 - rate).ln();
    }

    /// Apply the decay `row` owes to its stored values, before an update writes to it.
    #[inline]
    pub fn settle(&mut self, row: usize) {
        let f = self.pending(row);
        if f != 1.0 {
            self.data[row * self.dim..(row + 1) * self.dim]
                .iter_mut()
                .for_each(|x| *x *= f);
        }
        if let Some(mark) = self.decay_mark.get_mut(row) {
            *mark = self.decay_log;
        }
    }

    /// The current values of rows `ids`, as a `[ids.len(), dim]` tensor.
    pub fn gather(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        let mut out = Vec::with_capacity(ids.len() * self.dim);
        for &i in ids {
            let s = i as usize * self.dim;
            let row = &self.data[s..s + self.dim];
            let f = self.pending(i as usize);
            if f == 1.0 {
                out.extend_from_slice(row);
            } else {
                out.extend(row.iter().map(|x| x * f));
            }
        }
        Tensor::from_vec(out, (ids.len(), self.dim), device)
    }

    /// The whole table's current values (pending decay applied), for a checkpoint.
    pub fn to_tensor(&self) -> Result<Tensor> {
        if self.decay_mark.is_empty() {
            return Tensor::from_slice(&self.data, (self.rows, self.dim), &Device::Cpu);
        }
        let mut out = self.data.clone();
        for (r, row) in out.chunks_mut(self.dim).enumerate() {
            let f = self.pending(r);
            row.iter_mut().for_each(|x| *x *= f);
        }
        Tensor::from_vec(out, (self.rows, self.dim), &Device::Cpu)
    }

    /// One optimiser step on the rows `ids` with their gradients `grad` (`[ids.len(), dim]`,
    /// row-major). Lazy Adam: moments of untouched rows are left as they are. Uses the step
    /// count of the dense update that ran just before. Weight decay is decoupled (as AdamW's,
    /// for SGD too) and applies to every row at every step, lazily (`SparseTable::settle`).
    pub fn step(&mut self, opt: &Optimizer, ids: &[u32], grad: &[f32], lr: f64, scale: f64) {
        let table = self;
        let dim = table.dim;
        let decay = lr * opt.weight_decay;
        if decay > 0.0 {
            table.add_decay(decay);
        }
        let plain_sgd = opt.kind == OptimizerKind::Sgd && opt.momentum == 0.0;
        if table.m.is_empty() && !plain_sgd {
            table.m = vec![0.0; table.data.len()];
            if opt.kind == OptimizerKind::AdamW {
                table.v = vec![0.0; table.data.len()];
            }
        }
        let t = opt.step.max(1) as i32;
        // Bias corrections folded into two constants, so the inner loop is plain f32 arithmetic
        // over contiguous rows, which the compiler vectorises.
        let step_size = (lr / (1.0 - BETA1.powi(t))) as f32;
        let inv_bc2_sqrt = (1.0 / (1.0 - BETA2.powi(t)).sqrt()) as f32;
        let (b1, b2, eps, scale) = (BETA1 as f32, BETA2 as f32, EPS as f32, scale as f32);
        let (mu, lr) = (opt.momentum as f32, lr as f32);
        for (r, &id) in ids.iter().enumerate() {
            if decay > 0.0 {
                table.settle(id as usize);
            }
            let rows = id as usize * dim..(id as usize + 1) * dim;
            let g = &grad[r * dim..(r + 1) * dim];
            let theta = &mut table.data[rows.clone()];
            if plain_sgd {
                // fastText's update: no per-row state to read or write.
                for j in 0..dim {
                    theta[j] -= lr * g[j] * scale;
                }
                continue;
            }
            let m = &mut table.m[rows.clone()];
            match opt.kind {
                OptimizerKind::AdamW => {
                    let v = &mut table.v[rows];
                    for j in 0..dim {
                        let gj = g[j] * scale;
                        m[j] = b1 * m[j] + (1.0 - b1) * gj;
                        v[j] = b2 * v[j] + (1.0 - b2) * gj * gj;
                        theta[j] -= step_size * m[j] / (v[j].sqrt() * inv_bc2_sqrt + eps);
                    }
                }
                OptimizerKind::Sgd => {
                    for j in 0..dim {
                        m[j] = mu * m[j] + g[j] * scale;
                        theta[j] -= lr * m[j];
                    }
                }
            }
        }
    }

    /// The optimiser state of the rows, for a resume: moments, and with weight decay the
    /// stored values and each row's pending decay (the weights file holds decayed values; a
    /// resume from those would round differently from an unbroken run).
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let (shape, cpu) = ((self.rows, self.dim), &Device::Cpu);
        let mut out = Vec::new();
        for (name, values) in [("sparse.m", &self.m), ("sparse.v", &self.v)] {
            if !values.is_empty() {
                out.push((name.into(), Tensor::from_slice(values, shape, cpu)?));
            }
        }
        if !self.decay_mark.is_empty() {
            out.push((
                "sparse.raw".into(),
                Tensor::from_slice(&self.data, shape, cpu)?,
            ));
            let marks = Tensor::from_slice(&self.decay_mark, self.rows, cpu)?;
            out.push(("sparse.decay_mark".into(), marks));
            let log = Tensor::from_slice(&[self.decay_log], 1, cpu)?;
            out.push(("sparse.decay_log".into(), log));
        }
        Ok(out)
    }

    /// Restore what `state` saved, after `load` has set the weights.
    pub fn load_state(&mut self, state: &std::collections::HashMap<String, Tensor>) -> Result<()> {
        let get = |k: &str| -> Result<Vec<f32>> {
            match state.get(k) {
                Some(t) => t.flatten_all()?.to_vec1(),
                None => Ok(Vec::new()),
            }
        };
        self.m = get("sparse.m")?;
        self.v = get("sparse.v")?;
        if let (Some(raw), Some(mark), Some(log)) = (
            state.get("sparse.raw"),
            state.get("sparse.decay_mark"),
            state.get("sparse.decay_log"),
        ) {
            self.data = raw.flatten_all()?.to_vec1()?;
            self.decay_mark = mark.to_vec1()?;
            self.decay_log = log.to_vec1::<f64>()?.first().copied().unwrap_or(0.0);
        }
        Ok(())
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
        self.decay_log = 0.0;
        self.decay_mark.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{backprop::GradStore, Var};

    fn table() -> SparseTable {
        SparseTable {
            rows: 3,
            dim: 2,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            m: Vec::new(),
            v: Vec::new(),
            decay_log: 0.0,
            decay_mark: Vec::new(),
        }
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn lazy_decay_reads_as_if_every_row_had_decayed_at_every_step() {
        let mut t = table();
        let rates = [0.1, 0.05, 0.2];
        for (step, rate) in rates.iter().enumerate() {
            t.add_decay(*rate);
            if step == 1 {
                t.settle(1);
            }
        }
        let factor: f32 = rates.iter().map(|r| 1.0 - *r as f32).product();
        let got = values(&t.gather(&[0, 1, 2], &Device::Cpu).unwrap());
        let want: Vec<f32> = table().data.iter().map(|x| x * factor).collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
        let whole = values(&t.to_tensor().unwrap());
        assert_eq!(whole, got);
    }

    #[test]
    fn a_table_without_decay_reads_its_stored_values() {
        let t = table();
        assert_eq!(t.pending(2), 1.0);
        let whole = values(&t.to_tensor().unwrap());
        assert_eq!(whole, t.data);
    }

    fn table_of(data: &[f32], dim: usize) -> SparseTable {
        SparseTable {
            rows: data.len() / dim,
            dim,
            data: data.to_vec(),
            m: Vec::new(),
            v: Vec::new(),
            decay_log: 0.0,
            decay_mark: Vec::new(),
        }
    }

    /// A loss that touches rows 1 and 3 of a `[4, 3]` table only.
    fn grads_of(var: &Var) -> Result<GradStore> {
        let ids = Tensor::new(&[1u32, 3], &Device::Cpu)?;
        let rows = var.as_tensor().index_select(&ids, 0)?;
        let w = Tensor::new(&[[1f32, -2.0, 0.5], [3.0, 0.25, -1.0]], &Device::Cpu)?;
        (rows.sqr()? * w)?.sum_all()?.backward()
    }

    #[test]
    fn sparse_and_dense_steps_agree_on_every_row_with_and_without_weight_decay() {
        let data: Vec<f32> = (0..12).map(|i| (i as f32 - 5.0) / 7.0).collect();
        let runs = [
            (OptimizerKind::AdamW, 0.0, 0.0),
            (OptimizerKind::Sgd, 0.9, 0.0),
            // Decay reaches the rows no batch touched, though the sparse step never visits them.
            (OptimizerKind::AdamW, 0.0, 0.5),
        ];
        for (kind, momentum, wd) in runs {
            let var = Var::from_slice(&data, (4, 3), &Device::Cpu).unwrap();
            let mut opt =
                Optimizer::new(kind, wd, momentum, vec![("w".into(), var.clone())]).unwrap();
            let mut sparse = table_of(&data, 3);
            for _ in 0..3 {
                let before: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
                let grads = grads_of(&var).unwrap();
                let g: Vec<f32> = grads
                    .get(var.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                // The sparse table sees the same rows, with the gradient its own values give.
                let sparse_grads = {
                    let v = Var::from_slice(
                        &values(&sparse.to_tensor().unwrap()),
                        (4, 3),
                        &Device::Cpu,
                    )
                    .unwrap();
                    let gs = grads_of(&v).unwrap();
                    let all: Vec<f32> = gs
                        .get(v.as_tensor())
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1()
                        .unwrap();
                    [&all[3..6], &all[9..12]].concat()
                };
                opt.step_dense(&grads, 0.01, 1.0).unwrap();
                sparse.step(&opt, &[1, 3], &sparse_grads, 0.01, 1.0);
                let after: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
                let sparse_after = values(&sparse.to_tensor().unwrap());
                for i in 0..12 {
                    let touched = (3..6).contains(&i) || (9..12).contains(&i);
                    assert!(
                        (after[i] - sparse_after[i]).abs() < 1e-5,
                        "{kind:?} wd {wd} row value {i}"
                    );
                    if !touched && wd == 0.0 {
                        assert_eq!(after[i], before[i], "{kind:?}: untouched {i} moved");
                        assert_eq!(g[i], 0.0);
                    }
                }
            }
        }
    }
}
