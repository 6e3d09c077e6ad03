//! Optimisers with state we own (so it can be saved for resuming): AdamW and SGD with
//! momentum, for dense candle variables and for the sparse `bow` table. Sums run in a fixed
//! order (variables by name, rows ascending) so results do not depend on thread count.

use crate::config::OptimizerKind;
use crate::model::SparseTable;
use candle_core::{backprop::GradStore, Result, Tensor, Var};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

pub struct Optimizer {
    pub kind: OptimizerKind,
    pub weight_decay: f64,
    pub momentum: f64,
    /// Number of updates applied so far.
    pub step: u64,
    pub vars: Vec<(String, Var)>,
    /// Adam first moments, or SGD momentum buffers.
    pub m: Vec<Tensor>,
    /// Adam second moments (unused by SGD).
    pub v: Vec<Tensor>,
    /// Per variable, a factor on the scheduled learning rate (1 unless set by `scale_lr`).
    pub lr_scale: Vec<f64>,
}

impl Optimizer {
    pub fn new(
        kind: OptimizerKind,
        weight_decay: f64,
        momentum: f64,
        vars: Vec<(String, Var)>,
    ) -> Result<Self> {
        let zeros = |(_, v): &(String, Var)| v.as_tensor().zeros_like();
        Ok(Optimizer {
            kind,
            weight_decay,
            momentum,
            step: 0,
            m: vars.iter().map(zeros).collect::<Result<_>>()?,
            v: vars.iter().map(zeros).collect::<Result<_>>()?,
            lr_scale: vec![1.0; vars.len()],
            vars,
        })
    }

    /// Multiply the learning rate of the variables whose name starts with `prefix`.
    pub fn scale_lr(&mut self, prefix: &str, factor: f64) {
        for ((name, _), scale) in self.vars.iter().zip(&mut self.lr_scale) {
            if name.starts_with(prefix) {
                *scale = factor;
            }
        }
    }

    /// Sum of squared gradients over dense variables, in name order.
    pub fn grad_sq_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut total = 0f64;
        for (_, var) in &self.vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                total += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
            }
        }
        Ok(total)
    }

    /// One update of the dense variables with learning rate `lr`, gradients scaled by `scale`.
    pub fn step_dense(&mut self, grads: &GradStore, lr: f64, scale: f64) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        let base_lr = lr;
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let lr = base_lr * self.lr_scale[i];
            let g = (g.detach() * scale)?;
            let theta = var.as_tensor();
            match self.kind {
                OptimizerKind::AdamW => {
                    // Detached: otherwise each moment keeps the previous step's graph alive.
                    self.m[i] = ((&self.m[i] * BETA1)? + (&g * (1.0 - BETA1))?)?.detach();
                    self.v[i] = ((&self.v[i] * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?.detach();
                    let mhat = (&self.m[i] / bc1)?;
                    let denom = ((&self.v[i] / bc2)?.sqrt()? + EPS)?;
                    let decayed = (theta * (1.0 - lr * self.weight_decay))?;
                    var.set(&(decayed - (mhat / denom)? * lr)?)?;
                }
                OptimizerKind::Sgd => {
                    let g = if self.weight_decay > 0.0 {
                        (g + (theta * self.weight_decay)?)?
                    } else {
                        g
                    };
                    self.m[i] = ((&self.m[i] * self.momentum)? + g)?.detach();
                    var.set(&(theta - (&self.m[i] * lr)?)?)?;
                }
            }
        }
        Ok(())
    }

    /// Update only the rows `ids` of `table` with their gradients `grad` (`[ids.len(), dim]`,
    /// row-major). Lazy Adam: moments of untouched rows are left as they are. Uses the step
    /// count of the dense update that ran just before. Weight decay is decoupled (as AdamW's,
    /// for SGD too) and applies to every row at every step, lazily (`SparseTable::settle`).
    pub fn step_sparse(
        &self,
        table: &mut SparseTable,
        ids: &[u32],
        grad: &[f32],
        lr: f64,
        scale: f64,
    ) {
        let dim = table.dim;
        let decay = lr * self.weight_decay;
        if decay > 0.0 {
            table.add_decay(decay);
        }
        let plain_sgd = self.kind == OptimizerKind::Sgd && self.momentum == 0.0;
        if table.m.is_empty() && !plain_sgd {
            table.m = vec![0.0; table.data.len()];
            if self.kind == OptimizerKind::AdamW {
                table.v = vec![0.0; table.data.len()];
            }
        }
        let t = self.step.max(1) as i32;
        // Bias corrections folded into two constants, so the inner loop is plain f32 arithmetic
        // over contiguous rows, which the compiler vectorises.
        let step_size = (lr / (1.0 - BETA1.powi(t))) as f32;
        let inv_bc2_sqrt = (1.0 / (1.0 - BETA2.powi(t)).sqrt()) as f32;
        let (b1, b2, eps, scale) = (BETA1 as f32, BETA2 as f32, EPS as f32, scale as f32);
        let (mu, lr) = (self.momentum as f32, lr as f32);
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
            match self.kind {
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

    /// State tensors for saving: `m.<name>`, `v.<name>`.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            out.push((format!("m.{name}"), self.m[i].clone()));
            out.push((format!("v.{name}"), self.v[i].clone()));
        }
        out
    }

    pub fn load_state(
        &mut self,
        state: &std::collections::HashMap<String, Tensor>,
        step: u64,
    ) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
            let get = |k: String| {
                state
                    .get(&k)
                    .cloned()
                    .ok_or_else(|| candle_core::Error::Msg(format!("optimiser state lacks `{k}`")))
            };
            self.m[i] = get(format!("m.{name}"))?.to_device(var.device())?;
            self.v[i] = get(format!("v.{name}"))?.to_device(var.device())?;
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn table(data: &[f32], dim: usize) -> SparseTable {
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

    fn values(t: &SparseTable) -> Vec<f32> {
        t.to_tensor()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
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
            let mut sparse = table(&data, 3);
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
                    let v = Var::from_slice(&values(&sparse), (4, 3), &Device::Cpu).unwrap();
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
                opt.step_sparse(&mut sparse, &[1, 3], &sparse_grads, 0.01, 1.0);
                let after: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
                let sparse_after = values(&sparse);
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

    #[test]
    fn the_gradient_norm_and_the_clipping_scale_act_as_defined() {
        let var = Var::from_slice(&[1f32, 2.0, -2.0], 3, &Device::Cpu).unwrap();
        let loss = (var.as_tensor() * 1.0)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let mut opt = Optimizer::new(
            OptimizerKind::Sgd,
            0.0,
            0.0,
            vec![("w".into(), var.clone())],
        )
        .unwrap();
        // d/dx x^2 = 2x: (2, 4, -4), squared norm 36.
        assert!((opt.grad_sq_norm(&grads).unwrap() - 36.0).abs() < 1e-9);
        // Clipping to norm 3 scales the gradient by 3 / 6: plain SGD moves by lr * g / 2.
        opt.step_dense(&grads, 0.1, 0.5).unwrap();
        let got: Vec<f32> = var.as_tensor().to_vec1().unwrap();
        let want = [1.0 - 0.1, 2.0 - 0.2, -2.0 + 0.2];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }
}
