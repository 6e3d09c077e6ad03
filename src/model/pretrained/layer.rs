//! A BERT layer that can be trained.
//!
//! candle-transformers' `BertLayer` runs layer norm through candle-nn's fused kernel, which has
//! no backward pass, so gradients cannot flow through it. Frozen layers keep using
//! candle-transformers; the layers being fine-tuned are rebuilt here from the same weights
//! (same names, same maths) with differentiable layer norm and softmax.
//!
//! Frozen layers run through the same struct with `frozen = true`, on candle's fused layer
//! norm as candle-transformers runs them. `model.kernels` picks the rest: `exact` keeps
//! candle-transformers' GELU (libm's scalar erf) and three-pass softmax, bit for bit; `fast`
//! uses our vectorised GELU (both passes), candle's fused softmax in frozen layers, and our
//! fused layer norm and softmax (`model::fused`, with backward passes) in trained ones.
//!
//! For `--quantize int8`, `quantize` swaps the six dense layers for int8 ones after a
//! calibration pass (`run` with a `Probe`) has measured each one's input channels.

use crate::config::Kernels;
use crate::model::dropout;
use crate::model::fused;
use crate::model::gelu::gelu_erf;
use crate::model::int8::QLinear;
use candle_core::{Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn new(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Norm {
            weight: vb.get(size, "weight")?,
            bias: vb.get(size, "bias")?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor, frozen: bool, kernels: Kernels) -> Result<Tensor> {
        let (w, b, eps) = (&self.weight, &self.bias, self.eps as f32);
        match (frozen, kernels) {
            (true, _) => candle_nn::ops::layer_norm(x, w, b, eps),
            (false, Kernels::Fast) => fused::layer_norm(x, w, b, eps),
            (false, Kernels::Exact) => candle_nn::ops::layer_norm_slow(x, w, b, eps),
        }
    }
}

/// A dense layer in f32, or quantized for inference.
enum Dense {
    F32(Linear),
    Int8(QLinear),
}

impl Dense {
    /// `trained`: the layer trains on fast kernels, so its bias goes through our fused op,
    /// whose backward sums the bias gradient faster than candle's broadcast does.
    fn forward(&self, x: &Tensor, trained: bool) -> Result<Tensor> {
        match self {
            Dense::F32(l) if trained => match l.bias() {
                Some(b) => {
                    let dims = x.dims().to_vec();
                    let (rows, k) = (x.elem_count() / dims[dims.len() - 1], dims[dims.len() - 1]);
                    let y = x.reshape((rows, k))?.matmul(&l.weight().t()?)?;
                    let mut out = dims;
                    let last = out.len() - 1;
                    out[last] = b.elem_count();
                    fused::add_bias(&y, b)?.reshape(out)
                }
                None => l.forward(x),
            },
            Dense::F32(l) => l.forward(x),
            Dense::Int8(q) => q.forward(x),
        }
    }

    fn quantize(&mut self, input_range: &[f32]) -> Result<()> {
        if let Dense::F32(l) = self {
            *self = Dense::Int8(QLinear::new(l.weight(), l.bias(), Some(input_range))?);
        }
        Ok(())
    }
}

/// The largest magnitude seen per channel at each dense layer's input, over a calibration
/// batch: the attention's input (query, key and value share it), the attention context, the
/// feed-forward input and the GELU output.
#[derive(Default)]
pub struct Probe {
    pub ranges: [Vec<f32>; 4],
}

impl Probe {
    fn see(&mut self, at: usize, x: &Tensor) -> Result<()> {
        let h = x.dim(D::Minus1)?;
        let max = x.abs()?.reshape(((), h))?.max(0)?.to_vec1::<f32>()?;
        self.ranges[at] = max;
        Ok(())
    }
}

/// Dropout inside a tuned layer for one training step: rate, the step's seed, and a salt
/// that keeps this layer's masks apart from every other layer's and the heads'.
#[derive(Clone, Copy)]
pub struct LayerDrop {
    pub p: f32,
    pub seed: u64,
    pub salt: u64,
}

impl LayerDrop {
    fn apply(drop: Option<LayerDrop>, x: Tensor, site: u64) -> Result<Tensor> {
        match drop {
            Some(d) => dropout(&x, d.p, Some(d.seed), d.salt + site),
            None => Ok(x),
        }
    }
}

pub struct TunedLayer {
    query: Dense,
    key: Dense,
    value: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    intermediate: Dense,
    output: Dense,
    out_norm: Norm,
    heads: usize,
    act: HiddenAct,
    /// Built from constants: inference only, through fused kernels.
    frozen: bool,
    kernels: Kernels,
}

impl TunedLayer {
    /// `vb` points at `encoder.layer.<i>` (Hugging Face names); `frozen` when its weights
    /// are constants that never train.
    pub fn new(cfg: &Config, vb: VarBuilder, frozen: bool, kernels: Kernels) -> Result<Self> {
        let h = cfg.hidden_size;
        let lin =
            |i, o, p: &str| -> Result<Dense> { Ok(Dense::F32(candle_nn::linear(i, o, vb.pp(p))?)) };
        Ok(TunedLayer {
            query: lin(h, h, "attention.self.query")?,
            key: lin(h, h, "attention.self.key")?,
            value: lin(h, h, "attention.self.value")?,
            attn_out: lin(h, h, "attention.output.dense")?,
            attn_norm: Norm::new(h, cfg.layer_norm_eps, vb.pp("attention.output.LayerNorm"))?,
            intermediate: lin(h, cfg.intermediate_size, "intermediate.dense")?,
            output: lin(cfg.intermediate_size, h, "output.dense")?,
            out_norm: Norm::new(h, cfg.layer_norm_eps, vb.pp("output.LayerNorm"))?,
            heads: cfg.num_attention_heads,
            act: cfg.hidden_act,
            frozen,
            kernels,
        })
    }

    /// `x`: `[B, T, H]`; `mask`: additive `[B, 1, 1, T]` (0 for tokens, very negative for
    /// padding), as candle-transformers builds it.
    /// `drop`: dropout in training, on the attention probabilities and both residual
    /// branches (where BERT applies it).
    pub fn forward(&self, x: &Tensor, mask: &Tensor, drop: Option<LayerDrop>) -> Result<Tensor> {
        self.run(x, mask, None, drop)
    }

    /// `forward`, recording each dense layer's input ranges in `probe` when given.
    pub fn run(
        &self,
        x: &Tensor,
        mask: &Tensor,
        mut probe: Option<&mut Probe>,
        drop: Option<LayerDrop>,
    ) -> Result<Tensor> {
        let mut see = |at: usize, t: &Tensor| match probe.as_deref_mut() {
            Some(p) => p.see(at, t),
            None => Ok(()),
        };
        see(0, x)?;
        let (b, t, h) = x.dims3()?;
        let d = h / self.heads;
        let split = |y: Tensor| -> Result<Tensor> {
            y.reshape((b, t, self.heads, d))?
                .transpose(1, 2)?
                .contiguous()
        };
        let trained = !self.frozen && self.kernels == Kernels::Fast;
        let q = split(self.query.forward(x, trained)?)?;
        let k = split(self.key.forward(x, trained)?)?;
        let v = split(self.value.forward(x, trained)?)?;
        let scores = q.matmul(&k.t()?)?;
        let scale = 1.0 / (d as f64).sqrt();
        let probs = match (self.frozen, self.kernels) {
            (false, Kernels::Fast) => fused::masked_softmax(&scores, mask, scale)?,
            (true, Kernels::Fast) => {
                candle_nn::ops::softmax_last_dim(&(scores * scale)?.broadcast_add(mask)?)?
            }
            _ => candle_nn::ops::softmax(&(scores * scale)?.broadcast_add(mask)?, D::Minus1)?,
        };
        let probs = LayerDrop::apply(drop, probs, 0)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, h))?;
        see(1, &ctx)?;
        let attn_out = LayerDrop::apply(drop, self.attn_out.forward(&ctx, trained)?, 1)?;
        let attn = self
            .attn_norm
            .forward(&(attn_out + x)?, self.frozen, self.kernels)?;
        see(2, &attn)?;
        let inner = self.intermediate.forward(&attn, trained)?;
        let inner = match self.act {
            HiddenAct::Gelu if self.kernels == Kernels::Fast => gelu_erf(&inner)?,
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        see(3, &inner)?;
        let out = LayerDrop::apply(drop, self.output.forward(&inner, trained)?, 2)?;
        self.out_norm
            .forward(&(out + attn)?, self.frozen, self.kernels)
    }

    /// Whether this layer's weights train (not a frozen constant).
    pub fn trains(&self) -> bool {
        !self.frozen
    }

    /// Replace the dense layers with int8 ones, smoothed by the ranges `probe` measured.
    pub fn quantize(&mut self, probe: &Probe) -> Result<()> {
        // int8 already departs from the trained bits, so the exact GELU and softmax would
        // only cost time.
        self.kernels = Kernels::Fast;
        let [x, ctx, attn, inner] = &probe.ranges;
        for d in [&mut self.query, &mut self.key, &mut self.value] {
            d.quantize(x)?;
        }
        self.attn_out.quantize(ctx)?;
        self.intermediate.quantize(attn)?;
        self.output.quantize(inner)
    }
}
