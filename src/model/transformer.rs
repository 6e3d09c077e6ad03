//! `transformer`: a small encoder trained from scratch. Learned positions, pre-LayerNorm
//! blocks (self-attention with a padding mask, then a GELU feed-forward), mean pooling over
//! real tokens, then a linear head per task.
//!
//! candle-nn's fused `layer_norm` and `softmax_last_dim` have no backward pass (they serve
//! inference), so training through them silently leaves everything below them untrained. This
//! model uses the differentiable compositions `layer_norm_slow` and `softmax` instead.

use super::{apply_heads, dropout, task_heads, Batch, Classifier};
use crate::config::ModelConfig;
use crate::text::Features;
use candle_core::{Device, Result, Tensor, D};
use candle_nn::{Embedding, LayerNorm, Linear, Module, VarBuilder, VarMap};

/// Layer norm through differentiable ops (see the module note).
fn norm(ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
    match ln.bias() {
        Some(b) => candle_nn::ops::layer_norm_slow(x, ln.weight(), b, 1e-5),
        None => Err(candle_core::Error::Msg("layer norm without bias".into())),
    }
}

struct Block {
    norm1: LayerNorm,
    qkv: Linear,
    out: Linear,
    norm2: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    heads: usize,
}

impl Block {
    fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.dim;
        Ok(Block {
            norm1: candle_nn::layer_norm(d, 1e-5, vb.pp("norm1"))?,
            qkv: candle_nn::linear(d, 3 * d, vb.pp("qkv"))?,
            out: candle_nn::linear(d, d, vb.pp("out"))?,
            norm2: candle_nn::layer_norm(d, 1e-5, vb.pp("norm2"))?,
            ff1: candle_nn::linear(d, cfg.ff_dim, vb.pp("ff1"))?,
            ff2: candle_nn::linear(cfg.ff_dim, d, vb.pp("ff2"))?,
            heads: cfg.heads,
        })
    }

    /// `key_bias`: `[B, 1, 1, T]`, 0 for real tokens and -1e9 for padding.
    fn forward(
        &self,
        x: &Tensor,
        key_bias: &Tensor,
        p: f32,
        seed: Option<u64>,
        salt: u64,
    ) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let dh = d / self.heads;
        let h = norm(&self.norm1, x)?;
        let qkv = self.qkv.forward(&h)?.reshape((b, t, 3, self.heads, dh))?;
        let split = |i: usize| {
            qkv.narrow(2, i, 1)?
                .squeeze(2)?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = (q.matmul(&k.transpose(2, 3)?.contiguous()?)? / (dh as f64).sqrt())?;
        let attn = candle_nn::ops::softmax(&scores.broadcast_add(key_bias)?, D::Minus1)?;
        let ctx = attn.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let x = (x + dropout(&self.out.forward(&ctx)?, p, seed, salt)?)?;
        let h = norm(&self.norm2, &x)?;
        let ff = self.ff2.forward(&self.ff1.forward(&h)?.gelu_erf()?)?;
        x + dropout(&ff, p, seed, salt + 1)?
    }
}

pub struct Transformer {
    embed: Embedding,
    positions: Embedding,
    blocks: Vec<Block>,
    norm_f: LayerNorm,
    heads: Vec<Linear>,
    dropout: f32,
    max_len: usize,
    varmap: VarMap,
    device: Device,
}

impl Transformer {
    pub fn new(
        cfg: &ModelConfig,
        rows: usize,
        max_len: usize,
        heads: &[usize],
        vb: VarBuilder,
        varmap: VarMap,
    ) -> Result<Self> {
        let blocks = (0..cfg.layers)
            .map(|i| Block::new(cfg, vb.pp(format!("block_{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Transformer {
            embed: candle_nn::embedding(rows, cfg.dim, vb.pp("embed"))?,
            positions: candle_nn::embedding(max_len, cfg.dim, vb.pp("pos_embed"))?,
            blocks,
            norm_f: candle_nn::layer_norm(cfg.dim, 1e-5, vb.pp("norm_f"))?,
            heads: task_heads(cfg.dim, heads, &vb)?,
            dropout: cfg.dropout,
            max_len,
            device: vb.device().clone(),
            varmap,
        })
    }
}

impl Classifier for Transformer {
    fn batch(&self, feats: &[&Features], _train: bool) -> Result<Batch> {
        Batch::sequence(feats, 1, &self.device)
    }

    fn forward_t(&self, batch: &Batch, train: bool) -> Result<Vec<Tensor>> {
        let (ids, mask) = batch.sequence_input("transformer")?;
        let (b, t) = ids.dims2()?;
        let t = t.min(self.max_len);
        let ids = ids.narrow(1, 0, t)?;
        let mask = mask.narrow(1, 0, t)?;
        let pos = Tensor::arange(0u32, t as u32, &self.device)?;
        let seed = if train { batch.dropout_seed } else { None };
        let mut x = self
            .embed
            .forward(&ids)?
            .broadcast_add(&self.positions.forward(&pos)?)?;
        x = dropout(&x, self.dropout, seed, 10)?;
        let key_bias = mask.affine(1e9, -1e9)?.reshape((b, 1, 1, t))?;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x, &key_bias, self.dropout, seed, 20 + 2 * i as u64)?;
        }
        let x = norm(&self.norm_f, &x)?;
        let m = mask.unsqueeze(D::Minus1)?; // [B, T, 1]
        let summed = x.broadcast_mul(&m)?.sum(1)?; // [B, d]
        let pooled = summed.broadcast_div(&m.sum(1)?)?;
        apply_heads(&self.heads, &pooled)
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn device(&self) -> &Device {
        &self.device
    }
}
