//! `pretrained`: a local BERT-family encoder (MiniLM, BERT, ConfliBERT...) under task heads.
//!
//! The encoder is loaded from a Hugging Face folder: candle-transformers' `BertModel` computes
//! the embeddings, and every layer runs as our own `TunedLayer` (bit for bit as
//! candle-transformers' layers, or on faster kernels with `model.kernels = "fast"`). In
//! `frozen` mode it runs once per text (training reads cached embeddings, see `cache`) and
//! only the heads train. In `finetune` mode the top layers are variables, trained with the
//! heads under their own learning rate.
//!
//! Only the trained weights live in the model's `VarMap` (the heads, plus the tuned layers
//! under `encoder.`), so a checkpoint stores those alone and names the encoder by hash.

pub mod cache;
mod encoder;
mod layer;

pub use encoder::{EncoderFiles, EncoderRecord, LoadedEncoder, CONFIG_FILE, WEIGHTS_FILE};

use super::{dropout, Batch, Classifier, Input, SentenceEncoder};
use crate::config::{EncoderMode, ModelConfig, Pooling, PretrainedSpec};
use crate::error::{Error, Result};
use crate::text::Features;
use candle_core::{DType, Device, Module, Tensor, Var, D};
use candle_nn::{Linear, VarBuilder, VarMap};
use candle_transformers::models::bert::BertModel;
use layer::{LayerDrop, TunedLayer};

/// Name prefix of the encoder weights that train (and so are saved) in `finetune` mode.
pub const TUNED_PREFIX: &str = "encoder.";

struct TaskHead {
    hidden: Option<Linear>,
    out: Linear,
}

pub struct Pretrained {
    /// The embeddings (candle-transformers' `BertModel` with no layers).
    bottom: BertModel,
    /// Every layer: the frozen ones built from the file's weights as constants, then the
    /// fine-tuned ones as variables.
    top: Vec<TunedLayer>,
    /// How many of the last layers' token states are averaged before pooling.
    pool_layers: usize,
    heads: Vec<TaskHead>,
    pooling: Pooling,
    normalize: bool,
    dropout: f32,
    /// Masks per example in training, logits averaged (multi-sample dropout).
    dropout_samples: usize,
    /// Dropout inside the tuned layers in training.
    encoder_dropout: f32,
    hidden_size: usize,
    mode: EncoderMode,
    varmap: VarMap,
    device: Device,
}

impl Pretrained {
    /// Build the model over a loaded encoder; heads are created in `varmap` (and initialised
    /// from the seeded RNG by the caller, which skips the pretrained `encoder.` weights).
    pub fn new(
        spec: &PretrainedSpec,
        cfg: &ModelConfig,
        enc: &LoadedEncoder,
        heads: &[usize],
        varmap: VarMap,
        device: &Device,
    ) -> Result<Self> {
        let layers = enc.config.num_hidden_layers;
        let tuned = match spec.mode {
            EncoderMode::Frozen => 0,
            EncoderMode::Finetune if spec.finetune_layers == 0 => layers,
            EncoderMode::Finetune => spec.finetune_layers.min(layers),
        };
        if spec.pool_layers > layers {
            return Err(Error::Encoder {
                path: enc.files.dir.clone(),
                message: format!(
                    "model.pool_layers = {} exceeds the encoder's {layers} layers",
                    spec.pool_layers
                ),
            });
        }
        // `bottom` is the embeddings alone: every layer runs through `TunedLayer` (the
        // frozen ones as candle-transformers runs them, or on faster kernels with
        // `model.kernels = "fast"`), and each one's token states can be read for
        // `pool_layers`.
        let prefix = enc.prefix()?;
        let mut bottom_cfg = enc.config.clone();
        bottom_cfg.num_hidden_layers = 0;
        let frozen_vb = VarBuilder::from_tensors(enc.tensors.clone(), DType::F32, device);
        let frozen_vb = if prefix.is_empty() {
            frozen_vb
        } else {
            frozen_vb.pp(prefix.trim_end_matches('.'))
        };
        let bottom = BertModel::load(frozen_vb, &bottom_cfg).map_err(|e| Error::Encoder {
            path: enc.files.dir.clone(),
            message: format!("cannot build the encoder: {e}"),
        })?;
        // The tuned layers' weights become variables, under names independent of the file's
        // prefix, before the layers are built over them.
        {
            let mut data = varmap.data().lock().map_err(|_| {
                Error::Candle(candle_core::Error::Msg("variable map poisoned".into()))
            })?;
            for i in layers - tuned..layers {
                let from = format!("{prefix}encoder.layer.{i}.");
                for (name, t) in &enc.tensors {
                    if let Some(rest) = name.strip_prefix(&from) {
                        let var = Var::from_tensor(&t.to_device(device)?)?;
                        data.insert(format!("{TUNED_PREFIX}layer.{i}.{rest}"), var);
                    }
                }
            }
        }
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let constants = VarBuilder::from_tensors(enc.tensors.clone(), DType::F32, device);
        let top = (0..layers)
            .map(|i| match i >= layers - tuned {
                true => TunedLayer::new(
                    &enc.config,
                    vb.pp(format!("{TUNED_PREFIX}layer.{i}")),
                    false,
                    spec.kernels,
                ),
                false => TunedLayer::new(
                    &enc.config,
                    constants.pp(format!("{prefix}encoder.layer.{i}")),
                    true,
                    spec.kernels,
                ),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let h = enc.config.hidden_size;
        let heads = heads
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let vb = vb.pp(format!("head_{i}"));
                Ok(if cfg.hidden > 0 {
                    TaskHead {
                        hidden: Some(candle_nn::linear(h, cfg.hidden, vb.pp("hidden"))?),
                        out: candle_nn::linear(cfg.hidden, n, vb.pp("out"))?,
                    }
                } else {
                    TaskHead {
                        hidden: None,
                        out: candle_nn::linear(h, n, vb)?,
                    }
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Pretrained {
            bottom,
            top,
            pool_layers: spec.pool_layers,
            heads,
            pooling: spec.pooling,
            normalize: spec.normalize,
            dropout: cfg.dropout,
            dropout_samples: cfg.dropout_samples.max(1),
            encoder_dropout: spec.encoder_dropout,
            hidden_size: h,
            mode: spec.mode,
            varmap,
            device: device.clone(),
        })
    }

    /// Every layer to int8 (inference only, CPU only): a calibration pass in f32 measures
    /// each dense layer's input channels, then the layers are quantized with those ranges.
    pub fn quantize_int8(&mut self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<()> {
        if !self.device.is_cpu() {
            candle_core::bail!("int8 inference runs on the CPU only");
        }
        let types = ids.zeros_like()?;
        let mut h = self.bottom.forward(ids, &types, Some(mask))?;
        let additive = additive_mask(mask)?;
        let mut probes = Vec::with_capacity(self.top.len());
        for l in &self.top {
            let mut probe = layer::Probe::default();
            h = l.run(&h, &additive, Some(&mut probe), None)?;
            probes.push(probe);
        }
        for (l, p) in self.top.iter_mut().zip(&probes) {
            l.quantize(p)?;
        }
        Ok(())
    }

    pub fn mode(&self) -> EncoderMode {
        self.mode
    }

    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Pooled sentence embeddings `[B, H]` for padded ids and mask (`[B, T]`).
    pub fn embed(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        self.embed_t(ids, mask, None)
    }

    /// `embed`, with `model.encoder_dropout` in the tuned layers when `seed` is given
    /// (a training step's dropout seed).
    fn embed_t(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        seed: Option<u64>,
    ) -> candle_core::Result<Tensor> {
        let types = ids.zeros_like()?;
        let mut h = self.bottom.forward(ids, &types, Some(mask))?;
        let mut states = vec![h.clone()];
        let seed = seed.filter(|_| self.encoder_dropout > 0.0);
        if !self.top.is_empty() {
            let additive = additive_mask(mask)?;
            for (i, l) in self.top.iter().enumerate() {
                // Frozen layers are constants: only tuned ones drop, as they trained.
                let drop = seed.filter(|_| l.trains()).map(|seed| LayerDrop {
                    p: self.encoder_dropout,
                    seed,
                    salt: ENCODER_DROPOUT_SALT + 16 * i as u64,
                });
                h = l.forward(&h, &additive, drop)?;
                if self.pool_layers > 1 {
                    states.push(h.clone());
                }
            }
        }
        if self.pool_layers > 1 {
            // Summed from the lowest of the layers up, the same order on every run.
            let last = &states[states.len() - self.pool_layers..];
            let mut sum = last[0].clone();
            for s in &last[1..] {
                sum = (sum + s)?;
            }
            h = (sum / self.pool_layers as f64)?;
        }
        let pooled = match self.pooling {
            Pooling::Cls => h.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.unsqueeze(2)?;
                let sum = h.broadcast_mul(&m)?.sum(1)?;
                let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
                sum.broadcast_div(&count)?
            }
        };
        if self.normalize {
            let norm = pooled
                .sqr()?
                .sum_keepdim(D::Minus1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            pooled.broadcast_div(&norm)
        } else {
            Ok(pooled)
        }
    }
}

/// Salts of the tuned layers' dropout masks: far above the heads' (1, 2 + task, plus 1000
/// per multi-sample), so no layer shares a mask with a head.
const ENCODER_DROPOUT_SALT: u64 = 1 << 32;

/// The additive mask candle-transformers uses: 0 for tokens, f32::MIN for padding.
fn additive_mask(mask: &Tensor) -> candle_core::Result<Tensor> {
    ((mask.ones_like()? - mask)? * f64::from(f32::MIN))?
        .unsqueeze(1)?
        .unsqueeze(1)
}

impl SentenceEncoder for Pretrained {
    fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    fn embed(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        Pretrained::embed(self, ids, mask)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

impl Classifier for Pretrained {
    fn batch(&self, feats: &[&Features], _train: bool) -> candle_core::Result<Batch> {
        let h = self.hidden_size;
        let cached = !feats.is_empty()
            && feats
                .iter()
                .all(|f| f.pooled.as_ref().is_some_and(|p| p.len() == h));
        if !cached {
            return Batch::sequence(feats, 1, &self.device);
        }
        let mut values = Vec::with_capacity(feats.len() * h);
        for f in feats {
            if let Some(p) = &f.pooled {
                values.extend_from_slice(p);
            }
        }
        Ok(Batch::pooled(
            Tensor::from_vec(values, (feats.len(), h), &self.device)?,
            feats.iter().map(|f| f.word_ids.len().max(1)).collect(),
        ))
    }

    fn forward_t(&self, batch: &Batch, train: bool) -> candle_core::Result<Vec<Tensor>> {
        let seed = batch.dropout_seed.filter(|_| train);
        let pooled = match (&batch.input, seed) {
            (Input::Sequence { ids, mask }, Some(_)) => self.embed_t(ids, mask, seed)?,
            _ => self.represent(batch)?,
        };
        let samples = if seed.is_some() && self.dropout > 0.0 {
            self.dropout_samples
        } else {
            1
        };
        // Sample 0 draws the masks plain dropout draws, so one sample is the same bits.
        let mut sum: Option<Vec<Tensor>> = None;
        for s in 0..samples as u64 {
            let salt = s * 1000;
            let x = dropout(&pooled, self.dropout, seed, 1 + salt)?;
            let logits = self
                .heads
                .iter()
                .enumerate()
                .map(|(i, head)| match &head.hidden {
                    Some(hidden) => {
                        let z = hidden.forward(&x)?.relu()?;
                        let z = dropout(&z, self.dropout, seed, 2 + i as u64 + salt)?;
                        head.out.forward(&z)
                    }
                    None => head.out.forward(&x),
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            sum = Some(match sum {
                None => logits,
                Some(acc) => acc
                    .iter()
                    .zip(&logits)
                    .map(|(a, l)| a + l)
                    .collect::<candle_core::Result<_>>()?,
            });
        }
        let logits = sum.unwrap_or_default();
        match samples {
            1 => Ok(logits),
            k => logits.iter().map(|l| l / k as f64).collect(),
        }
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn sort_by_length(&self) -> bool {
        true
    }

    fn represent(&self, batch: &Batch) -> candle_core::Result<Tensor> {
        match &batch.input {
            Input::Pooled(p) => Ok(p.clone()),
            Input::Sequence { ids, mask } => self.embed(ids, mask),
            Input::Bag(_) => {
                candle_core::bail!("pretrained reads token ids or cached embeddings, not bags")
            }
        }
    }

    fn sentence_encoder(&self) -> Option<&dyn SentenceEncoder> {
        Some(self)
    }

    fn quantize_int8(&mut self, calibration: &Batch) -> candle_core::Result<bool> {
        let (ids, mask) = calibration.sequence_input("pretrained")?;
        Pretrained::quantize_int8(self, ids, mask)?;
        Ok(true)
    }
}
