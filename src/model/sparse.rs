//! The `bow` embedding table: rows updated sparsely, with weight decay applied lazily.
//!
//! The table can hold millions of rows, so it lives outside candle's variables: a batch
//! gathers only the rows it touches, and the optimiser writes back only those. Weight decay
//! shrinks every row at every step, which would cost time in proportion to the table; instead
//! each row remembers the cumulative decay at its last update, and the decay it missed since is
//! applied when the row is next read or written. The result is the dense update's, exactly up
//! to float rounding.

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
}
