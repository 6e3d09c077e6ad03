//! Architectures behind one trait, so that one training loop, `evaluate` and `classify` serve
//! them all through the same forward pass.
//!
//! Weights are created by candle's layer constructors and then overwritten from our seeded
//! RNG in name order (`init::reinit`), because candle's own CPU RNG cannot be seeded.

mod bow;
mod cnn;
pub mod init;
pub mod pretrained;
mod sparse;
mod transformer;

pub use bow::Bow;
pub use cnn::Cnn;
pub use pretrained::{LoadedEncoder, Pretrained};
pub use sparse::SparseTable;
pub use transformer::Transformer;

use crate::config::{ModelConfig, ModelKind};
use crate::rng::SeededRng;
use crate::text::Features;
use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{Linear, Module, VarBuilder, VarMap};

/// A batch of examples as model input.
pub struct Batch {
    pub size: usize,
    /// `bow`: for each of the batch's `N` bag entries, its index into `bag_rows` (`[N]`), the
    /// batch row it belongs to (`[N]`), and its averaging weight 1/len (`[N, 1]`).
    pub bag_local: Option<Tensor>,
    pub bag_segment: Option<Tensor>,
    pub bag_scale: Option<Tensor>,
    /// `bow`: the unique bag-row ids, in order of first appearance; `bag_rows` holds their
    /// embeddings.
    pub bag_ids: Vec<u32>,
    pub bag_rows: Option<Var>,
    /// Sequence models: `[B, T]` word ids (u32), padded with `PAD_ID`.
    pub ids: Option<Tensor>,
    /// Sequence models: `[B, T]` 1.0 for real tokens, 0.0 for padding.
    pub mask: Option<Tensor>,
    /// Sequence lengths (at least 1).
    pub lengths: Vec<usize>,
    /// Seed for this batch's dropout masks; `None` at inference.
    pub dropout_seed: Option<u64>,
    /// `pretrained` (frozen): the encoder's pooled output `[B, H]`, computed ahead.
    pub pooled: Option<Tensor>,
}

impl Batch {
    /// A padded batch of word-id sequences, for the sequence models.
    pub fn sequence(feats: &[&Features], min_len: usize, device: &Device) -> Result<Batch> {
        let (ids, mask, lengths) = pad_ids(feats, min_len, device)?;
        Ok(Batch {
            size: feats.len(),
            bag_local: None,
            bag_segment: None,
            bag_scale: None,
            bag_ids: Vec::new(),
            bag_rows: None,
            ids: Some(ids),
            mask: Some(mask),
            lengths,
            dropout_seed: None,
            pooled: None,
        })
    }
}

impl Batch {
    /// A batch of ready-made sentence vectors `[B, H]` (a frozen encoder's cached output).
    pub fn pooled(pooled: Tensor, lengths: Vec<usize>) -> Batch {
        Batch {
            size: lengths.len(),
            bag_local: None,
            bag_segment: None,
            bag_scale: None,
            bag_ids: Vec::new(),
            bag_rows: None,
            ids: None,
            mask: None,
            lengths,
            dropout_seed: None,
            pooled: Some(pooled),
        }
    }
}

/// Texts per forward pass of a length-sorted (pretrained) model: sorting many texts by length
/// and running small batches of neighbours pads far less than running large mixed batches.
pub const SEQUENCE_BATCH: usize = 64;

/// Everything a training loop, `evaluate` and `classify` need from an architecture.
pub trait Classifier {
    /// Logits, one `[B, labels]` tensor per task. Softmax is left to callers that need
    /// probabilities.
    fn forward_t(&self, batch: &Batch, train: bool) -> Result<Vec<Tensor>>;

    /// Turn featurised texts into a batch on the model's device.
    fn batch(&self, feats: &[&Features], train: bool) -> Result<Batch>;

    /// The dense trainable parameters.
    fn varmap(&self) -> &VarMap;

    /// The sparsely-updated embedding table, for `bow`.
    fn sparse_table(&mut self) -> Option<&mut SparseTable> {
        None
    }

    /// Every weight for saving, by name: the dense variables (plus, for `bow`, its table).
    fn named_weights(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(sorted_vars(self.varmap())
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect())
    }

    fn device(&self) -> &Device;

    /// Whether prediction should batch texts of similar length together (padding costs a
    /// sequence model time; `bow` has none).
    fn sort_by_length(&self) -> bool {
        false
    }

    /// The pretrained model behind this classifier, for the frozen-embedding cache.
    fn as_pretrained(&self) -> Option<&Pretrained> {
        None
    }
}

/// Build the configured architecture with seeded weights.
pub fn build(
    kind: ModelKind,
    cfg: &ModelConfig,
    rows: usize,
    max_len: usize,
    heads: &[usize],
    seed: u64,
    device: &Device,
) -> Result<Box<dyn Classifier>> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let mut rng = SeededRng::new(seed, init::INIT_STREAM);
    let model: Box<dyn Classifier> = match kind {
        ModelKind::Bow => Box::new(Bow::new(cfg, rows, heads, vb, varmap.clone(), &mut rng)?),
        ModelKind::Cnn => Box::new(Cnn::new(cfg, rows, heads, vb, varmap.clone())?),
        ModelKind::Transformer => Box::new(Transformer::new(
            cfg,
            rows,
            max_len,
            heads,
            vb,
            varmap.clone(),
        )?),
        ModelKind::Pretrained => {
            return Err(candle_core::Error::Msg(
                "a pretrained model is built with build_pretrained".into(),
            ))
        }
    };
    init::reinit(&varmap, &mut rng)?;
    Ok(model)
}

/// Build a pretrained-encoder model over a loaded encoder, with seeded heads.
pub fn build_pretrained(
    spec: &crate::config::PretrainedSpec,
    cfg: &ModelConfig,
    encoder: &LoadedEncoder,
    heads: &[usize],
    seed: u64,
    device: &Device,
) -> crate::error::Result<Box<dyn Classifier>> {
    let varmap = VarMap::new();
    let model = Pretrained::new(spec, cfg, encoder, heads, varmap.clone(), device)?;
    init::reinit(&varmap, &mut SeededRng::new(seed, init::INIT_STREAM))?;
    Ok(Box::new(model))
}

/// One linear head per task, named `head_<i>`.
pub fn task_heads(input: usize, heads: &[usize], vb: &VarBuilder) -> Result<Vec<Linear>> {
    heads
        .iter()
        .enumerate()
        .map(|(i, &n)| candle_nn::linear(input, n, vb.pp(format!("head_{i}"))))
        .collect()
}

pub fn apply_heads(heads: &[Linear], x: &Tensor) -> Result<Vec<Tensor>> {
    heads.iter().map(|h| h.forward(x)).collect()
}

/// Inverted dropout with a mask drawn from our seeded RNG (candle's `dropout` uses an
/// unseedable RNG). `salt` separates the masks of different layers in one batch.
pub fn dropout(x: &Tensor, p: f32, seed: Option<u64>, salt: u64) -> Result<Tensor> {
    let Some(seed) = seed.filter(|_| p > 0.0) else {
        return Ok(x.clone());
    };
    let mut rng = SeededRng::new(seed, init::DROPOUT_STREAM ^ salt);
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.uniform() < p { 0.0 } else { keep })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
    x.mul(&mask)
}

/// Indices of `feats` in order of token count (stable), so batches of neighbours pad little.
pub fn length_order(feats: &[Features]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..feats.len()).collect();
    order.sort_by_key(|&i| feats[i].word_ids.len());
    order
}

/// Pad word ids into `[B, T]` ids and mask tensors, with `T >= min_len`.
pub fn pad_ids(
    feats: &[&Features],
    min_len: usize,
    device: &Device,
) -> Result<(Tensor, Tensor, Vec<usize>)> {
    let lengths: Vec<usize> = feats.iter().map(|f| f.word_ids.len().max(1)).collect();
    let t = lengths.iter().copied().max().unwrap_or(1).max(min_len);
    let mut ids = vec![crate::text::PAD_ID; feats.len() * t];
    let mut mask = vec![0f32; feats.len() * t];
    for (b, f) in feats.iter().enumerate() {
        if f.word_ids.is_empty() {
            // An empty text is one unknown token, so it still gets a representation.
            ids[b * t] = crate::text::UNK_ID;
            mask[b * t] = 1.0;
        }
        for (j, &id) in f.word_ids.iter().enumerate() {
            ids[b * t + j] = id;
            mask[b * t + j] = 1.0;
        }
    }
    let ids = Tensor::from_vec(ids, (feats.len(), t), device)?;
    let mask = Tensor::from_vec(mask, (feats.len(), t), device)?;
    Ok((ids, mask, lengths))
}

/// Dense variables by name, in name order.
pub fn sorted_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = match varmap.data().lock() {
        Ok(d) => d,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut vars: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Load saved weights into a freshly built model (names must match exactly).
pub fn load_weights(
    model: &mut dyn Classifier,
    weights: &std::collections::HashMap<String, Tensor>,
) -> Result<()> {
    for (name, var) in sorted_vars(model.varmap()) {
        let t = weights
            .get(&name)
            .ok_or_else(|| candle_core::Error::Msg(format!("weights file lacks `{name}`")))?;
        var.set(&t.to_device(var.device())?)?;
    }
    if let Some(table) = model.sparse_table() {
        let t = weights.get(bow::TABLE_NAME).ok_or_else(|| {
            candle_core::Error::Msg(format!("weights file lacks `{}`", bow::TABLE_NAME))
        })?;
        table.load(t)?;
    }
    Ok(())
}
