//! Optimisers with state we own (so it can be saved for resuming): AdamW and SGD with
//! momentum, for dense candle variables. Parameters that a model keeps outside candle and
//! updates sparsely (`model::SparseTable`) read the same settings from here. Sums run in a
//! fixed order (variables by name) so results do not depend on thread count.

use crate::config::OptimizerKind;
use candle_core::{backprop::GradStore, Result, Tensor, Var};

mod adamw_cpu;

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

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
    /// Per variable, whether weight decay skips it (`exempt_from_decay`).
    pub no_decay: Vec<bool>,
    /// AdamW through `adamw_cpu`'s single pass where it applies (the same bits as the
    /// tensor ops; off only to test that).
    pub fused: bool,
}

/// AdamW as candle tensor ops, for other devices and dtypes: the definition `adamw_cpu`
/// follows to the bit. Returns the new moments.
fn adamw_ops(
    var: &Var,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: &adamw_cpu::Step,
) -> Result<(Tensor, Tensor)> {
    let g = (g.detach() * s.scale)?;
    // Detached: otherwise each moment keeps the previous step's graph alive.
    let m = ((m * s.beta1)? + (&g * (1.0 - s.beta1))?)?.detach();
    let v = ((v * s.beta2)? + (g.sqr()? * (1.0 - s.beta2))?)?.detach();
    let mhat = (&m / s.bc1)?;
    let denom = ((&v / s.bc2)?.sqrt()? + s.eps)?;
    let decayed = (var.as_tensor() * (1.0 - s.lr * s.weight_decay))?;
    var.set(&(decayed - (mhat / denom)? * s.lr)?)?;
    Ok((m, v))
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
            no_decay: vec![false; vars.len()],
            fused: true,
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

    /// Layer-wise learning-rate decay: a variable of layer `i` (named `<prefix><i>.`) has its
    /// rate multiplied by `decay^(top - i)`, `top` being the highest layer present.
    pub fn decay_layers(&mut self, prefix: &str, decay: f64) {
        let layer = |name: &str| -> Option<i32> {
            name.strip_prefix(prefix)?.split('.').next()?.parse().ok()
        };
        let Some(top) = self.vars.iter().filter_map(|(n, _)| layer(n)).max() else {
            return;
        };
        for ((name, _), scale) in self.vars.iter().zip(&mut self.lr_scale) {
            if let Some(i) = layer(name) {
                *scale *= decay.powi(top - i);
            }
        }
    }

    /// Exclude biases and normalisation parameters from weight decay.
    pub fn exempt_biases_and_norms(&mut self) {
        for ((name, _), skip) in self.vars.iter().zip(&mut self.no_decay) {
            let leaf = name.rsplit('.').next().unwrap_or(name);
            *skip = leaf == "bias"
                || leaf == "beta"
                || leaf == "gamma"
                || name.to_ascii_lowercase().contains("norm");
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
            let weight_decay = if self.no_decay[i] {
                0.0
            } else {
                self.weight_decay
            };
            match self.kind {
                OptimizerKind::AdamW => {
                    let step = adamw_cpu::Step {
                        scale,
                        beta1: BETA1,
                        beta2: BETA2,
                        bc1,
                        bc2,
                        eps: EPS,
                        lr,
                        weight_decay,
                    };
                    let (m, v) = (&self.m[i], &self.v[i]);
                    let (m, v) = match self.fused {
                        true => match adamw_cpu::update(var, g, m, v, &step)? {
                            Some(mv) => mv,
                            None => adamw_ops(var, g, m, v, &step)?,
                        },
                        false => adamw_ops(var, g, m, v, &step)?,
                    };
                    (self.m[i], self.v[i]) = (m, v);
                }
                OptimizerKind::Sgd => {
                    let g = (g.detach() * scale)?;
                    let theta = var.as_tensor();
                    let g = if weight_decay > 0.0 {
                        (g + (theta * weight_decay)?)?
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

    fn vars(names: &[&str]) -> Vec<(String, Var)> {
        names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    Var::from_slice(&[1f32], 1, &Device::Cpu).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn layer_wise_decay_slows_each_layer_below_the_top_by_the_factor() {
        let names = [
            "encoder.layer.4.output.dense.weight",
            "encoder.layer.5.output.dense.weight",
            "encoder.layer.3.attention.self.query.bias",
            "head_0.weight",
        ];
        let mut opt = Optimizer::new(OptimizerKind::AdamW, 0.0, 0.0, vars(&names)).unwrap();
        opt.scale_lr("encoder.", 0.1);
        opt.decay_layers("encoder.layer.", 0.5);
        let want = [0.05, 0.1, 0.025, 1.0];
        for (got, want) in opt.lr_scale.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{:?}", opt.lr_scale);
        }
    }

    #[test]
    fn biases_and_norms_can_be_spared_weight_decay() {
        let names = [
            "encoder.layer.5.output.LayerNorm.weight",
            "encoder.layer.5.output.dense.weight",
            "head_0.bias",
        ];
        for exempt in [false, true] {
            let vs = vars(&names);
            let loss = vs
                .iter()
                .map(|(_, v)| (v.as_tensor() * 1e-20).unwrap().sum_all().unwrap())
                .reduce(|a, b| (a + b).unwrap())
                .unwrap();
            let grads = loss.backward().unwrap();
            let mut opt = Optimizer::new(OptimizerKind::AdamW, 0.5, 0.0, vs.clone()).unwrap();
            if exempt {
                opt.exempt_biases_and_norms();
            }
            opt.step_dense(&grads, 0.1, 1.0).unwrap();
            let after: Vec<f32> = vs
                .iter()
                .map(|(_, v)| v.as_tensor().to_vec1::<f32>().unwrap()[0])
                .collect();
            // A vanishing gradient moves (almost) nothing: only the decay, 1 - 0.1 * 0.5, shows.
            let decayed = 1.0 - 0.05;
            let want = match exempt {
                false => [decayed, decayed, decayed],
                true => [1.0, decayed, 1.0],
            };
            for (g, w) in after.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "exempt {exempt}: {after:?}");
            }
        }
    }

    #[test]
    fn the_single_pass_adamw_gives_the_tensor_ops_bits() {
        // One variable larger than a block, read through a transposed gradient, one small one
        // spared decay; five steps with clipping scales, so moments and bias corrections move.
        let run = |fused: bool| -> Vec<Vec<u32>> {
            let dev = Device::Cpu;
            let wave = |n: usize, k: f32| -> Vec<f32> {
                (0..n).map(|i| ((i as f32) * k).sin() * 0.5).collect()
            };
            let big = Var::from_vec(wave(300 * 200, 0.37), (300, 200), &dev).unwrap();
            let small = Var::from_vec(wave(7, 1.3), 7, &dev).unwrap();
            let mut opt = Optimizer::new(
                OptimizerKind::AdamW,
                0.01,
                0.0,
                vec![("w".into(), big.clone()), ("b.bias".into(), small.clone())],
            )
            .unwrap();
            opt.exempt_biases_and_norms();
            opt.fused = fused;
            let x = Tensor::from_vec(wave(200 * 300, 0.11), (200, 300), &dev).unwrap();
            for step in 0..5 {
                let y = big
                    .as_tensor()
                    .t()
                    .unwrap()
                    .matmul(&big.as_tensor().t().unwrap().t().unwrap())
                    .unwrap();
                let loss = ((y * &x
                    .t()
                    .unwrap()
                    .matmul(&x)
                    .unwrap()
                    .narrow(0, 0, 200)
                    .unwrap()
                    .narrow(1, 0, 200)
                    .unwrap())
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    + small.as_tensor().sqr().unwrap().sum_all().unwrap())
                .unwrap();
                let grads = loss.backward().unwrap();
                opt.step_dense(&grads, 1e-3, 1.0 / (1.0 + step as f64))
                    .unwrap();
            }
            let bits = |t: &Tensor| -> Vec<u32> {
                t.flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .map(|f| f.to_bits())
                    .collect()
            };
            vec![
                bits(big.as_tensor()),
                bits(small.as_tensor()),
                bits(&opt.m[0]),
                bits(&opt.v[0]),
                bits(&opt.v[1]),
            ]
        };
        assert_eq!(run(true), run(false));
    }
}
