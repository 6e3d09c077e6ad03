//! Seeded weight initialisation. Variables are visited in name order and filled from our RNG,
//! so the same seed gives the same weights whatever order candle created them in.

use crate::rng::SeededRng;
use candle_core::{Result, Tensor};
use candle_nn::VarMap;

pub const INIT_STREAM: u64 = 0x1417;
pub const DROPOUT_STREAM: u64 = 0xd40b;

/// Overwrite every variable: linear and conv weights uniform in ±1/sqrt(fan_in) (PyTorch's
/// default scale), biases zero, layer-norm gains one, embeddings normal(0, 0.1). Pretrained
/// encoder weights being fine-tuned (`encoder.`) keep their trained values.
pub fn reinit(varmap: &VarMap, rng: &mut SeededRng) -> Result<()> {
    for (name, var) in super::sorted_vars(varmap) {
        if name.starts_with(super::pretrained::TUNED_PREFIX) {
            continue;
        }
        let shape = var.shape().clone();
        let n = shape.elem_count();
        let dims = shape.dims();
        let values: Vec<f32> = if name.ends_with("bias") || name.ends_with(".beta") {
            vec![0.0; n]
        } else if name.contains("norm") || name.ends_with(".gamma") {
            vec![1.0; n]
        } else if name.contains("embed") {
            (0..n).map(|_| rng.normal() * 0.1).collect()
        } else {
            let fan_in: usize = dims.iter().skip(1).product::<usize>().max(1);
            let bound = 1.0 / (fan_in as f32).sqrt();
            (0..n)
                .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
                .collect()
        };
        var.set(&Tensor::from_vec(values, shape, var.device())?)?;
    }
    Ok(())
}
