//! The `bow` embedding table: rows updated sparsely, stored sparsely, with weight decay
//! applied lazily.
//!
//! The table can hold millions of hashed rows, of which a corpus touches a fraction, so
//! nothing here costs time or space in proportion to the table:
//! - a row's initial value is a pure function of the table's seed and the row's number
//!   (`RowInit`), so untouched rows are never drawn, stored or written: a row gets storage (a
//!   *slot*) the first time the optimiser updates it, and the checkpoint holds only those;
//! - a batch gathers only the rows it touches, and the optimiser writes back only those;
//! - weight decay shrinks every row at every step; instead each slot remembers the cumulative
//!   decay at its last update, and the decay it missed since is applied when the row is next
//!   read or written. The result is the dense update's, exactly up to float rounding.

use crate::config::OptimizerKind;
use crate::optim::{Optimizer, BETA1, BETA2, EPS};

/// Where a row starts before its first update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowInit {
    /// A linear model's start: plain SGD then ends in the span of the training data.
    Zeros,
    /// fastText's start, uniform in ±`bound`, from a counter-based generator keyed by `seed`.
    Uniform { seed: u64, bound: f32 },
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64's output function: a bijective mix of one 64-bit counter.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl RowInit {
    /// Row `row`'s initial values, written to `out` (`dim` long). Value `j` is splitmix64's
    /// draw number `row * dim + j` from `seed`: the same whichever rows are asked for, in
    /// whatever order, so a loaded checkpoint reads its untouched rows as training did.
    #[inline]
    pub fn fill(&self, row: usize, out: &mut [f32]) {
        match *self {
            RowInit::Zeros => out.fill(0.0),
            RowInit::Uniform { seed, bound } => {
                let base = (row * out.len()) as u64;
                for (j, x) in out.iter_mut().enumerate() {
                    let counter = base + j as u64 + 1;
                    let z = mix(seed.wrapping_add(counter.wrapping_mul(GOLDEN)));
                    let u = (z >> 40) as f32 / (1u32 << 24) as f32;
                    *x = (u * 2.0 - 1.0) * bound;
                }
            }
        }
    }
}

/// Marks a row that has no slot yet.
const ABSENT: u32 = u32::MAX;

/// A `[rows, dim]` table of which only the updated rows are stored, with per-row optimiser
/// state for those.
#[derive(Debug, Clone)]
pub struct SparseTable {
    pub rows: usize,
    pub dim: usize,
    pub init: RowInit,
    /// Row to slot, `ABSENT` for rows that still hold their initial value.
    index: Vec<u32>,
    /// Slot to row, in order of first update (deterministic, as training is).
    ids: Vec<u32>,
    /// Slot values (`[slots, dim]`) before the decay still pending for each (see `decay_mark`).
    data: Vec<f32>,
    /// Adam first and second moments (or SGD momentum in `m`) per slot, once needed.
    m: Vec<f32>,
    v: Vec<f32>,
    /// Sum over the steps so far of ln(1 - lr * weight_decay).
    decay_log: f64,
    /// Per slot, `decay_log` when the slot was last brought up to date. A row without a slot
    /// owes all the decay since the start (a mark of 0).
    decay_mark: Vec<f64>,
}

impl SparseTable {
    pub fn new(rows: usize, dim: usize, init: RowInit) -> Self {
        SparseTable {
            rows,
            dim,
            init,
            index: vec![ABSENT; rows],
            ids: Vec::new(),
            data: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
            decay_log: 0.0,
            decay_mark: Vec::new(),
        }
    }

    /// How many rows have been updated (and are stored).
    pub fn stored(&self) -> usize {
        self.ids.len()
    }

    fn slot(&self, row: usize) -> Option<usize> {
        match self.index.get(row) {
            Some(&s) if s != ABSENT => Some(s as usize),
            _ => None,
        }
    }

    /// The factor a slot's stored values (or, for `None`, an initial value) still owe to
    /// weight decay.
    #[inline]
    fn pending(&self, slot: Option<usize>) -> f32 {
        if self.decay_log == 0.0 {
            return 1.0;
        }
        let mark = slot.and_then(|s| self.decay_mark.get(s)).copied();
        match mark.unwrap_or(0.0) {
            m if m == self.decay_log => 1.0,
            m => (self.decay_log - m).exp() as f32,
        }
    }

    /// The slot of `row`, giving it one holding its initial value when it has none.
    fn materialise(&mut self, row: usize) -> usize {
        if let Some(s) = self.slot(row) {
            return s;
        }
        let s = self.ids.len();
        self.index[row] = s as u32;
        self.ids.push(row as u32);
        let start = self.data.len();
        self.data.resize(start + self.dim, 0.0);
        self.init.fill(row, &mut self.data[start..]);
        for state in [&mut self.m, &mut self.v] {
            if !state.is_empty() {
                state.resize(start + self.dim, 0.0);
            }
        }
        self.decay_mark.push(0.0);
        s
    }

    /// Start `row` at `values` instead of its initial draw. It is stored from then on, as an
    /// updated row is, so labelling reads it even if training never changes it.
    pub fn preset(&mut self, row: usize, values: &[f32]) {
        if row >= self.rows || values.len() != self.dim {
            return;
        }
        let s = self.materialise(row);
        self.data[s * self.dim..(s + 1) * self.dim].copy_from_slice(values);
    }

    /// Record one step's decay factor `1 - rate` for every row, without touching them.
    pub fn add_decay(&mut self, rate: f64) {
        self.decay_log += (1.0 - rate).ln();
    }

    /// Apply the decay `slot` owes to its stored values, before an update writes to it.
    #[inline]
    fn settle(&mut self, slot: usize) {
        let f = self.pending(Some(slot));
        if f != 1.0 {
            self.data[slot * self.dim..(slot + 1) * self.dim]
                .iter_mut()
                .for_each(|x| *x *= f);
        }
        if let Some(mark) = self.decay_mark.get_mut(slot) {
            *mark = self.decay_log;
        }
    }

    /// Append row `row`'s current values to `out`.
    #[inline]
    fn read_into(&self, row: usize, out: &mut Vec<f32>) {
        let slot = self.slot(row);
        let f = self.pending(slot);
        let start = out.len();
        match slot {
            Some(s) => out.extend_from_slice(&self.data[s * self.dim..(s + 1) * self.dim]),
            None => {
                out.resize(start + self.dim, 0.0);
                self.init.fill(row, &mut out[start..]);
            }
        }
        if f != 1.0 {
            out[start..].iter_mut().for_each(|x| *x *= f);
        }
    }

    /// Inference: the weighted sum of the rows of `bag` (`weights`, or the plain mean when
    /// empty), added to `out` (`dim` long) in entry order, as training's pooling sums them. A
    /// row that training never updated reads as zero: its initial value is noise that no
    /// example ever corrected (fastText's pruning drops such rows too), and skipping it is what
    /// makes the checkpoint sparse and labelling fast.
    pub fn pool_into(&self, bag: &[u32], weights: &[f32], out: &mut [f32]) {
        let mean = 1.0 / bag.len() as f32;
        let weighted = weights.len() == bag.len();
        for (k, &id) in bag.iter().enumerate() {
            let Some(slot) = self.slot(id as usize) else {
                continue;
            };
            let w = if weighted { weights[k] } else { mean };
            let f = self.pending(Some(slot));
            let row = &self.data[slot * self.dim..(slot + 1) * self.dim];
            if f == 1.0 {
                for (o, x) in out.iter_mut().zip(row) {
                    *o += x * w;
                }
            } else {
                for (o, x) in out.iter_mut().zip(row) {
                    *o += (x * f) * w;
                }
            }
        }
    }

    /// Training: the current values of rows `ids`, row-major; rows not yet updated read their
    /// initial values.
    pub fn gather_vec(&self, ids: &[u32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(ids.len() * self.dim);
        for &i in ids {
            self.read_into(i as usize, &mut out);
        }
        out
    }

    /// One optimiser step on the rows `ids` with their gradients `grad` (`[ids.len(), dim]`,
    /// row-major). Lazy Adam: moments of untouched rows are left as they are. Uses the step
    /// count of the dense update that ran just before. Weight decay is decoupled (as AdamW's,
    /// for SGD too) and applies to every row at every step, lazily (`settle`).
    pub fn step(&mut self, opt: &Optimizer, ids: &[u32], grad: &[f32], lr: f64, scale: f64) {
        let dim = self.dim;
        let decay = lr * opt.weight_decay;
        if decay > 0.0 {
            self.add_decay(decay);
        }
        let plain_sgd = opt.kind == OptimizerKind::Sgd && opt.momentum == 0.0;
        // Rows first, so the moments below are sized to every stored row.
        let slots: Vec<usize> = ids
            .iter()
            .map(|&id| self.materialise(id as usize))
            .collect();
        if self.m.is_empty() && !plain_sgd {
            self.m = vec![0.0; self.data.len()];
            if opt.kind == OptimizerKind::AdamW {
                self.v = vec![0.0; self.data.len()];
            }
        }
        let t = opt.step.max(1) as i32;
        // Bias corrections folded into two constants, so the inner loop is plain f32 arithmetic
        // over contiguous rows, which the compiler vectorises.
        let step_size = (lr / (1.0 - BETA1.powi(t))) as f32;
        let inv_bc2_sqrt = (1.0 / (1.0 - BETA2.powi(t)).sqrt()) as f32;
        let (b1, b2, eps, scale) = (BETA1 as f32, BETA2 as f32, EPS as f32, scale as f32);
        let (mu, lr) = (opt.momentum as f32, lr as f32);
        for (r, &slot) in slots.iter().enumerate() {
            if decay > 0.0 {
                self.settle(slot);
            }
            let span = slot * dim..(slot + 1) * dim;
            let g = &grad[r * dim..(r + 1) * dim];
            let theta = &mut self.data[span.clone()];
            if plain_sgd {
                // fastText's update: no per-row state to read or write.
                for j in 0..dim {
                    theta[j] -= lr * g[j] * scale;
                }
                continue;
            }
            let m = &mut self.m[span.clone()];
            match opt.kind {
                OptimizerKind::AdamW => {
                    let v = &mut self.v[span];
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
}

#[path = "sparse_io.rs"]
mod io;

#[cfg(test)]
#[path = "sparse_tests.rs"]
mod tests;
