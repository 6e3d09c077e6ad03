//! Architectures behind one trait, so that one training loop, `evaluate` and `classify` serve
//! them all through the same forward pass.
//!
//! Each architecture is one file: a struct built from its `[model]` settings and a
//! `VarBuilder`, a `batch` that turns featurised texts into the [`Input`] variant it reads,
//! and `forward_t(batch, train)` returning one logits tensor per task. Parameters kept outside
//! candle (bow's sparse table) stay behind the trait's `sparse_grad`/`step_sparse`,
//! `train_state` and `load_weights`, so the training loop, the resume state and the loader
//! know nothing of them. Adding a fourth architecture `foo`:
//!
//! ```text
//! src/model/foo.rs         struct Foo + impl Classifier for Foo           (new file)
//! src/model/mod.rs         mod foo;  and in build():
//!                          (ModelKind::Foo, _) => Box::new(Foo::new(cfg, words, heads, vb, varmap.clone())?),
//! src/config/model.rs      FooSection { its keys } and its line in KINDS (the typed [model] table)
//! src/config/types.rs      ModelKind::Foo
//! ```
//!
//! Weights are created by candle's layer constructors and then overwritten from our seeded
//! RNG in name order (`init::reinit`), because candle's own CPU RNG cannot be seeded.

mod bow;
mod cnn;
pub mod fused;
pub mod gelu;
pub mod init;
pub mod int8;
pub mod pretrained;
mod sparse;
mod transformer;
pub mod vectors;

pub use bow::Bow;
pub use cnn::Cnn;
pub use pretrained::{LoadedEncoder, Pretrained};
pub use sparse::{RowInit, SparseTable};
pub use transformer::Transformer;

use crate::config::{ModelConfig, ModelKind, PretrainedSpec};
use crate::optim::Optimizer;
use crate::rng::SeededRng;
use crate::text::Features;
use crate::text::TextPipeline;
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use std::collections::HashMap;

/// What a model reads, one variant per kind of input, so no architecture probes optional
/// fields: a model matches the variant its own `batch` builds.
pub enum Input {
    /// `bow`: weighted bags of table rows.
    Bag(BagInput),
    /// Sequence models: `[B, T]` word ids (u32) padded with `PAD_ID`, and a `[B, T]` mask with
    /// 1.0 for real tokens and 0.0 for padding.
    Sequence { ids: Tensor, mask: Tensor },
    /// Ready-made sentence vectors `[B, H]` (a frozen encoder's cached output).
    Pooled(Tensor),
}

/// A batch of bags. For each of the batch's `N` bag entries: its index into the distinct rows
/// (`local`), the batch row it belongs to (`segment`) and its weight (`scale`). `ids` are the
/// distinct table rows in order of first appearance and `rows` their values (`[ids.len(),
/// dim]`, row-major). The forward pass keeps its pooled variable and the weights it used in
/// `kept`, so the backward pass (`sparse_grad`) can hand each row its gradient.
pub struct BagInput {
    pub local: Vec<u32>,
    pub segment: Vec<u32>,
    pub scale: Vec<f32>,
    pub ids: Vec<u32>,
    pub rows: Vec<f32>,
    pub kept: std::sync::Mutex<Option<(Var, Vec<f32>)>>,
}

/// A batch of examples as model input.
pub struct Batch {
    pub size: usize,
    pub input: Input,
    /// Sequence lengths (at least 1).
    pub lengths: Vec<usize>,
    /// Seed for this batch's dropout masks; `None` at inference.
    pub dropout_seed: Option<u64>,
}

impl Batch {
    /// A padded batch of word-id sequences, for the sequence models.
    pub fn sequence(feats: &[&Features], min_len: usize, device: &Device) -> Result<Batch> {
        let (ids, mask, lengths) = pad_ids(feats, min_len, device)?;
        Ok(Batch {
            size: feats.len(),
            input: Input::Sequence { ids, mask },
            lengths,
            dropout_seed: None,
        })
    }

    /// A batch of ready-made sentence vectors `[B, H]` (a frozen encoder's cached output).
    pub fn pooled(pooled: Tensor, lengths: Vec<usize>) -> Batch {
        Batch {
            size: lengths.len(),
            input: Input::Pooled(pooled),
            lengths,
            dropout_seed: None,
        }
    }

    /// The word ids and mask of a sequence batch, or an error naming `model`.
    pub fn sequence_input(&self, model: &str) -> Result<(&Tensor, &Tensor)> {
        match &self.input {
            Input::Sequence { ids, mask } => Ok((ids, mask)),
            _ => Err(candle_core::Error::Msg(format!(
                "{model} reads token sequences; this batch holds another input"
            ))),
        }
    }
}

/// A model part that turns token ids into one vector per text.
pub trait SentenceEncoder {
    /// Width of the vectors.
    fn hidden_size(&self) -> usize;
    /// `[B, H]` vectors from `[B, T]` ids and mask.
    fn embed(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor>;
    /// Where its inputs must live.
    fn device(&self) -> &Device;
}

/// Texts per forward pass of a length-sorted (pretrained) model: sorting many texts by length
/// and running small batches of neighbours pads far less than running large mixed batches.
pub const SEQUENCE_BATCH: usize = 64;

/// Everything a training loop, `evaluate` and `classify` need from an architecture.
pub trait Classifier: Send + Sync {
    /// Logits, one `[B, labels]` tensor per task. Softmax is left to callers that need
    /// probabilities.
    fn forward_t(&self, batch: &Batch, train: bool) -> Result<Vec<Tensor>>;

    /// Turn featurised texts into a batch on the model's device.
    fn batch(&self, feats: &[&Features], train: bool) -> Result<Batch>;

    /// The dense trainable parameters.
    fn varmap(&self) -> &VarMap;

    /// Every weight for saving, by name (the dense variables, and any parameters the model
    /// keeps outside candle).
    fn named_weights(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(sorted_vars(self.varmap())
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect())
    }

    /// Load saved weights into this freshly built model (names must match exactly).
    fn load_weights(&mut self, weights: &HashMap<String, Tensor>) -> Result<()> {
        load_vars(self.varmap(), weights)
    }

    /// Parameters kept outside candle and updated sparsely (bow's table): the gradient this
    /// batch gives them, flat, so the loop can clip it with the dense ones. `None` when the
    /// model has none.
    fn sparse_grad(&self, _batch: &Batch, _grads: &GradStore) -> Result<Option<Vec<f32>>> {
        Ok(None)
    }

    /// Apply `grad` (from `sparse_grad`) to those parameters, with `opt`'s settings.
    fn step_sparse(
        &mut self,
        _batch: &Batch,
        _grad: &[f32],
        _opt: &Optimizer,
        _lr: f64,
        _scale: f64,
    ) {
    }

    /// Training state beyond the weights and the dense optimiser (a sparse optimiser's
    /// moments), by name, for a resume.
    fn train_state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(Vec::new())
    }

    /// Restore what `train_state` saved (after `load_weights`).
    fn load_train_state(&mut self, _state: &HashMap<String, Tensor>) -> Result<()> {
        Ok(())
    }

    fn device(&self) -> &Device;

    /// Whether prediction should batch texts of similar length together (padding costs a
    /// sequence model time; `bow` has none).
    fn sort_by_length(&self) -> bool {
        false
    }

    /// The model's own vector for each text of `batch` (`[B, D]`), for grouping similar texts
    /// (`select --strategy diverse`). By default the tasks' probabilities side by side; models
    /// override it with the pooled vector their heads read.
    fn represent(&self, batch: &Batch) -> Result<Tensor> {
        let probs: Vec<Tensor> = self
            .forward_t(batch, false)?
            .iter()
            .map(candle_nn::ops::softmax_last_dim)
            .collect::<Result<_>>()?;
        Tensor::cat(&probs, 1)
    }

    /// The sentence encoder inside this classifier, when its output can be computed ahead
    /// and cached (a frozen pretrained encoder): the embedding cache talks to it alone.
    fn sentence_encoder(&self) -> Option<&dyn SentenceEncoder> {
        None
    }

    /// Start the vocabulary's rows of the word table (rows 2.., one per word in id order) at
    /// `vectors` (row-major, `[words, dim]`; `model.vectors`); `false` when the architecture
    /// has no such table.
    fn start_words(&mut self, _vectors: &[f32]) -> Result<bool> {
        Ok(false)
    }

    /// Switch to int8 inference (`--quantize int8`), calibrated on `calibration`; `false`
    /// when the architecture has no int8 path (only pretrained encoders do).
    fn quantize_int8(&mut self, _calibration: &Batch) -> Result<bool> {
        Ok(false)
    }
}

/// Everything an architecture is built from.
pub struct ModelSpec<'a> {
    pub kind: ModelKind,
    pub config: &'a ModelConfig,
    /// The text pipeline the model reads: it sizes bow's table (`bag_rows`), the sequence
    /// models' word table (`vocab_rows`) and their longest input (`max_tokens`).
    pub pipeline: &'a TextPipeline,
    /// `pretrained`: its settings and the loaded encoder.
    pub encoder: Option<(&'a PretrainedSpec, &'a LoadedEncoder)>,
    /// Labels per task.
    pub heads: &'a [usize],
    pub seed: u64,
}

/// The one factory: training, checkpoint loading and tests all build models here, with
/// weights from our seeded RNG. Registering an architecture is its line in this match.
pub fn build(spec: &ModelSpec, device: &Device) -> crate::error::Result<Box<dyn Classifier>> {
    let (cfg, heads, p) = (spec.config, spec.heads, spec.pipeline);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let mut rng = SeededRng::new(spec.seed, init::INIT_STREAM);
    let (words, max_len) = (p.vocab_rows(), p.config.max_tokens);
    let model: Box<dyn Classifier> = match (spec.kind, spec.encoder) {
        (ModelKind::Bow, _) => Box::new(Bow::new(
            cfg,
            p.bag_rows(),
            heads,
            vb,
            varmap.clone(),
            &mut rng,
        )?),
        (ModelKind::Cnn, _) => Box::new(Cnn::new(cfg, words, heads, vb, varmap.clone())?),
        (ModelKind::Transformer, _) => Box::new(Transformer::new(
            cfg,
            words,
            max_len,
            heads,
            vb,
            varmap.clone(),
        )?),
        (ModelKind::Pretrained, Some((ps, enc))) => Box::new(Pretrained::new(
            ps,
            cfg,
            enc,
            heads,
            varmap.clone(),
            device,
        )?),
        (ModelKind::Pretrained, None) => {
            return Err(crate::error::Error::Input(
                "a pretrained model needs its encoder loaded".into(),
            ))
        }
    };
    init::reinit(&varmap, &mut rng)?;
    Ok(model)
}

/// Linear heads, one per task, from `input` features.
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
    match dropout_mask(x.elem_count(), p, seed, salt) {
        Some(mask) => x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?),
        None => Ok(x.clone()),
    }
}

/// The mask `dropout` multiplies by (`n` values of 0 or 1/(1-p)); `None` when nothing drops.
pub fn dropout_mask(n: usize, p: f32, seed: Option<u64>, salt: u64) -> Option<Vec<f32>> {
    let seed = seed.filter(|_| p > 0.0)?;
    let mut rng = SeededRng::new(seed, init::DROPOUT_STREAM ^ salt);
    let keep = 1.0 / (1.0 - p);
    Some(
        (0..n)
            .map(|_| if rng.uniform() < p { 0.0 } else { keep })
            .collect(),
    )
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

/// Load saved values into a varmap's variables (names must match exactly).
pub fn load_vars(varmap: &VarMap, weights: &HashMap<String, Tensor>) -> Result<()> {
    for (name, var) in sorted_vars(varmap) {
        let t = weights
            .get(&name)
            .ok_or_else(|| candle_core::Error::Msg(format!("weights file lacks `{name}`")))?;
        var.set(&t.to_device(var.device())?)?;
    }
    Ok(())
}
