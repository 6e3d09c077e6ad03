//! Pretrained word vectors (`model.vectors`): each vocabulary word's row of a `cnn`'s word
//! table, or of a non-linear `bow`'s table, starts at what a local sentence encoder makes of
//! the word alone (its mean-pooled, normalised output, as model2vec distils static vectors),
//! instead of at random.
//!
//! Why: a model trained from scratch on a thousand labelled sentences knows nothing of a word
//! it never saw labelled, while its vocabulary (fitted on the training rows and a
//! distillation pool) holds many more words. Starting from the encoder's view of each word
//! carries what the encoder learned about them into a model that labels far faster, and the
//! encoder is not needed to classify: the vectors live in the checkpoint. The encoder runs
//! once, with bit-exact kernels, so the same vocabulary gives the same table.

use super::pretrained::{LoadedEncoder, Pretrained};
use super::Classifier;
use crate::config::{EncoderMode, Kernels, ModelConfig, Pooling, PretrainedSpec};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::text::{Features, TextPipeline};
use candle_core::Device;
use candle_nn::VarMap;
use std::path::{Path, PathBuf};

/// Sub-word tokens per word, [CLS] and [SEP] included: longer words are cut.
const WORD_TOKENS: usize = 16;

/// Start the model's vocabulary rows (`cnn`'s word table, or the word rows of a non-linear
/// `bow` table; padding, the unknown word and `bow`'s n-gram rows keep their seeded start)
/// at the encoder's vectors of the words, scaled to the norm a seeded row has. `dim` is
/// `model.dim`; `config` names the file in errors.
pub fn apply(
    model: &mut dyn Classifier,
    pipeline: &TextPipeline,
    dir: &Path,
    dim: usize,
    config: &Path,
    device: &Device,
    quiet: bool,
) -> Result<()> {
    let words = &pipeline.words;
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
    // cnn's seeded rows are normal(0, 0.1) per component, a norm of about 0.1 * sqrt(dim);
    // the encoder's vectors are unit length. bow's rows start smaller (uniform in ±1/dim), but
    // its pooled mean is what the layers above read, and a mean of unit vectors at this
    // scale trains at the same learning rates as cnn's.
    let scale = 0.1 * (dim as f32).sqrt();
    let scaled: Vec<f32> = vectors.iter().map(|x| x * scale).collect();
    if !model.start_words(&scaled)? {
        return Err(Error::ConfigValue {
            path: config.to_path_buf(),
            key: "model.vectors".into(),
            message: "this model has no word table to start (a linear bow's table holds \
                      label columns)"
                .into(),
        });
    }
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
