//! Checks for `[model] kind = "pretrained"`, kept apart from the general validation because
//! only this kind reads these keys.

use super::types::{EncoderMode, PretrainedSpec};
use super::Config;
use crate::error::Error;
use std::path::{Path, PathBuf};

impl Config {
    /// The checked encoder settings. The folder's existence is checked when the encoder is
    /// loaded (a bundled checkpoint must load even where the original folder is gone).
    pub(super) fn pretrained_spec(
        &self,
        resolve: &dyn Fn(&Path) -> PathBuf,
        err: &dyn Fn(&str, String) -> Error,
    ) -> Result<PretrainedSpec, Error> {
        let m = &self.model;
        if m.path.trim().is_empty() {
            return Err(err(
                "model.path",
                "kind = \"pretrained\" needs the encoder folder (config.json, tokenizer.json or vocab.txt, model.safetensors)".into(),
            ));
        }
        let (mode, pooling) = (m.mode, m.pooling);
        if m.max_seq_len < 2 {
            return Err(err(
                "model.max_seq_len",
                format!(
                    "expected at least 2 tokens ([CLS] and [SEP]), got {}",
                    m.max_seq_len
                ),
            ));
        }
        if m.pool_layers == 0 {
            return Err(err(
                "model.pool_layers",
                "expected at least 1 (1 = the last layer alone)".into(),
            ));
        }
        if m.dropout_samples == 0 {
            return Err(err(
                "model.dropout_samples",
                "expected at least 1 (1 = one dropout mask, as usual)".into(),
            ));
        }
        if !(0.0..1.0).contains(&m.encoder_dropout) {
            return Err(err(
                "model.encoder_dropout",
                format!(
                    "expected a probability in [0, 1), got {}",
                    m.encoder_dropout
                ),
            ));
        }
        if mode == EncoderMode::Frozen && m.encoder_dropout > 0.0 {
            return Err(err(
                "model.encoder_dropout",
                "drops inside tuned layers; with mode = \"frozen\" nothing is tuned (use model.dropout for the heads)".into(),
            ));
        }
        let t = &self.train;
        if mode == EncoderMode::Finetune && !(t.encoder_lr.is_finite() && t.encoder_lr > 0.0) {
            return Err(err(
                "train.encoder_lr",
                format!("expected a learning rate > 0, got {}", t.encoder_lr),
            ));
        }
        let cache_dir = if m.cache_dir.trim().is_empty() {
            resolve(&self.run.output_dir).join("embedding-cache")
        } else {
            resolve(Path::new(&m.cache_dir))
        };
        Ok(PretrainedSpec {
            path: resolve(Path::new(&m.path)),
            mode,
            pooling,
            normalize: m.normalize,
            max_seq_len: m.max_seq_len,
            finetune_layers: if mode == EncoderMode::Frozen {
                0
            } else {
                m.finetune_layers
            },
            cache_dir,
            pool_layers: m.pool_layers,
            kernels: m.kernels,
            encoder_dropout: m.encoder_dropout,
        })
    }
}
