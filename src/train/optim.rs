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
    /// count of the dense update that ran just before.
    pub fn step_sparse(
        &self,
        table: &mut SparseTable,
        ids: &[u32],
        grad: &[f32],
        lr: f64,
        scale: f64,
    ) {
        let dim = table.dim;
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
