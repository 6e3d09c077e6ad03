//! Pretrained word vectors for `cnn`'s word table (`model.vectors`): each vocabulary word
//! starts at what a local sentence encoder makes of the word alone (its mean-pooled,
//! normalised output, as model2vec distils static vectors), instead of at random.
//!
//! Why: a `cnn` trained from scratch on a thousand labelled sentences knows nothing of a word
//! it never saw labelled, while its vocabulary (fitted on the training rows and a
//! distillation pool) holds many more words. Starting from the encoder's view of each word
//! carries what the encoder learned about them into a model that labels hundreds of times
//! faster, and the encoder is not needed to classify: the vectors live in the checkpoint.
//! The encoder runs once, with bit-exact kernels, so the same vocabulary gives the same
//! table.

use super::pretrained::{LoadedEncoder, Pretrained};
use super::{sorted_vars, Classifier};
use crate::config::{EncoderMode, Kernels, ModelConfig, Pooling, PretrainedSpec};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::text::{Features, TextPipeline};
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use std::path::{Path, PathBuf};

/// The variable that holds `cnn`'s word table.
pub const TABLE: &str = "embed.weight";
/// Sub-word tokens per word, [CLS] and [SEP] included: longer words are cut.
const WORD_TOKENS: usize = 16;

/// Overwrite rows 2.. of the model's word table (one per vocabulary word; 0 is padding and 1
/// the unknown word, which keep their seeded start) with the encoder's vectors of the words,
/// scaled to the norm the seeded start gives a row. `config` names the file in errors.
pub fn apply(
    model: &dyn Classifier,
    pipeline: &TextPipeline,
    dir: &Path,
    config: &Path,
    device: &Device,
    quiet: bool,
) -> Result<()> {
    let table = sorted_vars(model.varmap())
        .into_iter()
        .find(|(name, _)| name == TABLE)
        .map(|(_, v)| v)
        .ok_or_else(|| Error::Input("model.vectors: this model has no word table".into()))?;
    let (rows, dim) = table.dims2()?;
    let words = &pipeline.words;
    if rows != words.len() + 2 {
        return Err(Error::Input(format!(
            "model.vectors: the word table has {rows} rows for {} words",
            words.len()
        )));
    }
    let vectors = word_vectors(dir, words, device, quiet)?;
    let hidden = vectors.len().checked_div(words.len()).unwrap_or(dim);
    if hidden != dim {
        return Err(Error::ConfigValue {
            path: config.to_path_buf(),
            key: "model.dim".into(),
            message: format!(
                "{dim}, but the vectors of {} are {hidden}-dimensional; set model.dim = {hidden}",
                dir.display()
            ),
        });
    }
    // The seeded start draws each component from normal(0, 0.1): a row's norm is about
    // 0.1 * sqrt(dim). The encoder's vectors are unit length.
    let scale = 0.1 * (dim as f32).sqrt();
    let mut values = table.flatten_all()?.to_vec1::<f32>()?;
    for (v, x) in values[2 * dim..].iter_mut().zip(&vectors) {
        *v = x * scale;
    }
    table.set(&Tensor::from_vec(values, (rows, dim), device)?)?;
    Ok(())
}

/// Each word's unit-length vector, row-major `[words, hidden]`.
fn word_vectors(dir: &Path, words: &[String], device: &Device, quiet: bool) -> Result<Vec<f32>> {
    let spec = PretrainedSpec {
        path: dir.to_path_buf(),
        mode: EncoderMode::Frozen,
        pooling: Pooling::Mean,
        normalize: true,
        max_seq_len: WORD_TOKENS,
        finetune_layers: 0,
        cache_dir: PathBuf::new(),
        pool_layers: 1,
        kernels: Kernels::Exact,
        encoder_dropout: 0.0,
    };
    let enc = LoadedEncoder::load(dir, &spec, device)?;
    let cfg = ModelConfig {
        kind: "pretrained".into(),
        ..ModelConfig::default()
    };
    let encoder = Pretrained::new(&spec, &cfg, &enc, &[], VarMap::new(), device)?;
    let feats: Vec<Features> = words.iter().map(|w| enc.tokenizer.features(w)).collect();
    let mut progress = Progress::new(quiet);
    progress.start("word vectors", feats.len() as u64);
    let out = super::pretrained::cache::embed_all(&encoder, &feats, &mut progress, "words")?;
    progress.finish();
    Ok(out)
}
