//! `cnn`: Kim (2014). Word embeddings, parallel 1-D convolutions of several widths, ReLU,
//! max-over-time pooling, dropout, then a linear head per task.
//!
//! Positions whose window runs past a text's real length are masked before pooling, so a
//! text gets the same features whether it is padded inside a batch or not.

use super::{apply_heads, dropout, task_heads, Batch, Classifier};
use crate::config::ModelConfig;
use crate::text::Features;
use candle_core::{Device, Result, Tensor};
use candle_nn::{Conv1d, Embedding, Linear, Module, VarBuilder, VarMap};

pub struct Cnn {
    embed: Embedding,
    convs: Vec<(usize, Conv1d)>,
    heads: Vec<Linear>,
    dropout: f32,
    varmap: VarMap,
    device: Device,
}

impl Cnn {
    pub fn new(
        cfg: &ModelConfig,
        rows: usize,
        heads: &[usize],
        vb: VarBuilder,
        varmap: VarMap,
    ) -> Result<Self> {
        let embed = candle_nn::embedding(rows, cfg.dim, vb.pp("embed"))?;
        let convs = cfg
            .kernel_sizes
            .iter()
            .map(|&k| {
                let c = candle_nn::conv1d(
                    cfg.dim,
                    cfg.filters,
                    k,
                    Default::default(),
                    vb.pp(format!("conv_{k}")),
                )?;
                Ok((k, c))
            })
            .collect::<Result<Vec<_>>>()?;
        let width = cfg.filters * cfg.kernel_sizes.len();
        Ok(Cnn {
            embed,
            convs,
            heads: task_heads(width, heads, &vb)?,
            dropout: cfg.dropout,
            device: vb.device().clone(),
            varmap,
        })
    }

    fn max_kernel(&self) -> usize {
        self.convs.iter().map(|(k, _)| *k).max().unwrap_or(1)
    }
}

/// A 1-D convolution as one matmul and k shifted adds. Every position's embedding is
/// multiplied by all k taps of every filter at once (`[B*T, dim] x [dim, k*filters]`), then
/// output position p sums tap i's product at position p + i, for i in order.
///
/// Unfolding the windows first (`[B*P, k*dim]`, then one matmul) copied k times the input
/// and allocated it afresh every batch: copies and the kernel's page zeroing were 60-90% of
/// `classify`'s time at dim 384. Training through candle-nn's `Conv1d` (0.11, CPU) did not
/// reduce the training loss on the embedded corpus (1.95 -> 2.09 over 800 steps), so this
/// uses ops with simple, exact gradients (matmul, narrow, add).
fn conv_unfolded(conv: &Conv1d, x: &Tensor, k: usize, positions: usize) -> Result<Tensor> {
    let (b, t, dim) = x.dims3()?;
    let w = conv.weight(); // [filters, dim, k]
    let filters = w.dim(0)?;
    // Row i*filters + f: tap i of filter f.
    let taps = w
        .permute((2, 0, 1))?
        .contiguous()?
        .reshape((k * filters, dim))?;
    let z = x
        .reshape((b * t, dim))?
        .matmul(&taps.t()?)?
        .reshape((b, t, k * filters))?;
    let mut y = z.narrow(1, 0, positions)?.narrow(2, 0, filters)?;
    for i in 1..k {
        y = (y + z.narrow(1, i, positions)?.narrow(2, i * filters, filters)?)?;
    }
    match conv.bias() {
        Some(bias) => y.broadcast_add(bias),
        None => Ok(y),
    }
}

impl Classifier for Cnn {
    fn batch(&self, feats: &[&Features], _train: bool) -> Result<Batch> {
        Batch::sequence(feats, self.max_kernel(), &self.device)
    }

    fn forward_t(&self, batch: &Batch, train: bool) -> Result<Vec<Tensor>> {
        let (ids, _) = batch.sequence_input("cnn")?;
        let (b, t) = ids.dims2()?;
        let x = self.embed.forward(ids)?; // [B, T, dim]
        let kmax = self.max_kernel();
        let mut pooled = Vec::with_capacity(self.convs.len());
        for (k, conv) in &self.convs {
            let positions = t + 1 - k;
            let y = conv_unfolded(conv, &x, *k, positions)?.relu()?; // [B, positions, filters]
                                                                     // A window is valid while it starts within max(len, kmax) - k + 1 positions.
            let mut valid = vec![0f32; b * positions];
            for (i, &len) in batch.lengths.iter().enumerate() {
                let n = (len.max(kmax) + 1 - k).min(positions);
                for p in valid[i * positions..i * positions + n].iter_mut() {
                    *p = 1.0;
                }
            }
            let penalty =
                Tensor::from_vec(valid, (b, positions, 1), &self.device)?.affine(1e9, -1e9)?; // 0 where valid, -1e9 where not
            pooled.push(y.broadcast_add(&penalty)?.max(1)?);
        }
        let x = Tensor::cat(&pooled, 1)?;
        let seed = if train { batch.dropout_seed } else { None };
        let x = dropout(&x, self.dropout, seed, 2)?;
        apply_heads(&self.heads, &x)
    }

    fn start_words(&mut self, vectors: &[f32]) -> Result<bool> {
        let table = self.embed.embeddings();
        let (rows, dim) = table.dims2()?;
        if 2 * dim + vectors.len() != rows * dim {
            return Err(candle_core::Error::Msg(format!(
                "{} word vectors of width {dim} for a table of {rows} rows",
                vectors.len() / dim.max(1)
            )));
        }
        let mut values = table.flatten_all()?.to_vec1::<f32>()?;
        values[2 * dim..].copy_from_slice(vectors);
        let var = self
            .varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("variable map poisoned".into()))?
            .get("embed.weight")
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("cnn has no embed.weight".into()))?;
        var.set(&Tensor::from_vec(values, (rows, dim), &self.device)?)?;
        Ok(true)
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shifted_matmul_convolution_equals_the_textbook_sum() -> Result<()> {
        let dev = Device::Cpu;
        let (b, t, dim, filters, k) = (2, 7, 5, 3, 3);
        let x: Vec<f32> = (0..b * t * dim)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let w: Vec<f32> = (0..filters * dim * k)
            .map(|i| ((i * 13 % 9) as f32 - 4.0) / 5.0)
            .collect();
        let bias = [0.1f32, -0.2, 0.3];
        let conv = Conv1d::new(
            Tensor::from_vec(w.clone(), (filters, dim, k), &dev)?,
            Some(Tensor::new(&bias[..], &dev)?),
            Default::default(),
        );
        let positions = t + 1 - k;
        let x3 = Tensor::from_vec(x.clone(), (b, t, dim), &dev)?;
        let got = conv_unfolded(&conv, &x3, k, positions)?.to_vec3::<f32>()?;
        for (bi, rows) in got.iter().enumerate() {
            for (p, row) in rows.iter().enumerate() {
                for (f, &value) in row.iter().enumerate() {
                    let mut want = bias[f];
                    for c in 0..dim {
                        for i in 0..k {
                            want += w[(f * dim + c) * k + i] * x[(bi * t + p + i) * dim + c];
                        }
                    }
                    assert!(
                        (value - want).abs() < 1e-5,
                        "[{bi},{p},{f}] {value} vs {want}"
                    );
                }
            }
        }
        Ok(())
    }
}
