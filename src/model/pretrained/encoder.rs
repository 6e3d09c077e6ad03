//! Finding, hashing and loading a pretrained encoder folder (Hugging Face layout).
//!
//! A checkpoint of a pretrained model stores only what training changed, so it is only as
//! good as the encoder it is loaded with: the folder's files are hashed at training time,
//! recorded in the manifest, and checked again at every load.

use crate::config::PretrainedSpec;
use crate::error::{Error, Result};
use crate::tensors::sha256_hex;
use crate::text::EncoderTokenizer;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::Config as BertConfig;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILES: [&str; 2] = ["tokenizer.json", "vocab.txt"];

/// The encoder files a model was trained with, as recorded in its checkpoint manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EncoderRecord {
    /// The folder the encoder was loaded from at training time.
    pub path: String,
    pub weights_sha256: String,
    pub config_sha256: String,
    /// `tokenizer.json` or `vocab.txt`.
    pub tokenizer_file: String,
    pub tokenizer_sha256: String,
}

impl EncoderRecord {
    /// Which files differ from `other`, by name (empty when they are the same encoder).
    pub fn differences(&self, other: &EncoderRecord) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.weights_sha256 != other.weights_sha256 {
            out.push(WEIGHTS_FILE);
        }
        if self.config_sha256 != other.config_sha256 {
            out.push(CONFIG_FILE);
        }
        if self.tokenizer_sha256 != other.tokenizer_sha256
            || self.tokenizer_file != other.tokenizer_file
        {
            out.push("the tokenizer");
        }
        out
    }
}

/// The files of an encoder folder.
#[derive(Debug, Clone)]
pub struct EncoderFiles {
    pub dir: PathBuf,
    pub tokenizer_file: &'static str,
}

impl EncoderFiles {
    /// Check that `dir` holds `config.json`, a tokenizer and `model.safetensors`.
    pub fn locate(dir: &Path) -> Result<Self> {
        let bad = |message: String| Error::Encoder {
            path: dir.to_path_buf(),
            message,
        };
        if !dir.is_dir() {
            return Err(bad(
                "folder not found (expected a local Hugging Face model folder with config.json, tokenizer.json or vocab.txt, and model.safetensors; nothing is downloaded)".into(),
            ));
        }
        for f in [CONFIG_FILE, WEIGHTS_FILE] {
            if !dir.join(f).is_file() {
                return Err(bad(format!("missing {f}")));
            }
        }
        let tokenizer_file = TOKENIZER_FILES
            .into_iter()
            .find(|f| dir.join(f).is_file())
            .ok_or_else(|| bad("missing tokenizer.json (or vocab.txt)".into()))?;
        Ok(EncoderFiles {
            dir: dir.to_path_buf(),
            tokenizer_file,
        })
    }

    /// The files to copy when bundling the encoder into a checkpoint.
    pub fn file_names(&self) -> [&'static str; 3] {
        [CONFIG_FILE, WEIGHTS_FILE, self.tokenizer_file]
    }
}

/// An encoder read into memory: its weights, architecture, tokenizer and hashes.
pub struct LoadedEncoder {
    pub files: EncoderFiles,
    pub record: EncoderRecord,
    pub config: BertConfig,
    pub tensors: HashMap<String, Tensor>,
    pub tokenizer: EncoderTokenizer,
}

impl LoadedEncoder {
    /// Load the encoder in `dir` for the settings in `spec`.
    pub fn load(dir: &Path, spec: &PretrainedSpec, device: &Device) -> Result<Self> {
        let files = EncoderFiles::locate(dir)?;
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| Error::io(&p, e))
        };
        let bad = |name: &str, message: String| Error::Encoder {
            path: dir.join(name),
            message,
        };
        let config_bytes = read(CONFIG_FILE)?;
        let config: BertConfig = serde_json::from_slice(&config_bytes).map_err(|e| {
            bad(
                CONFIG_FILE,
                format!("not a BERT-family config candle can load: {e}"),
            )
        })?;
        if let Some(t) = config
            .model_type
            .as_deref()
            .filter(|t| t.contains("roberta") || *t == "camembert")
        {
            return Err(bad(
                CONFIG_FILE,
                format!("model_type `{t}`: RoBERTa-style models number positions from padding_idx + 1, which candle-transformers' BertModel does not do, so its embeddings would be silently wrong; use a BERT-type encoder (BERT, MiniLM, ConfliBERT)"),
            ));
        }
        if spec.max_seq_len > config.max_position_embeddings {
            return Err(Error::Encoder {
                path: dir.to_path_buf(),
                message: format!(
                    "model.max_seq_len = {} exceeds the encoder's max_position_embeddings ({})",
                    spec.max_seq_len, config.max_position_embeddings
                ),
            });
        }
        let weights = read(WEIGHTS_FILE)?;
        let weights_sha256 = sha256_hex(&weights);
        let tensors = candle_core::safetensors::load_buffer(&weights, device)
            .map_err(|e| bad(WEIGHTS_FILE, format!("cannot read safetensors: {e}")))?;
        drop(weights);
        let tensors = tensors
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_dtype(DType::F32)?)))
            .collect::<Result<HashMap<_, _>>>()?;
        let tokenizer_sha256 = sha256_hex(&read(files.tokenizer_file)?);
        let tokenizer = EncoderTokenizer::load(&dir.join(files.tokenizer_file), spec.max_seq_len)?;
        Ok(LoadedEncoder {
            record: EncoderRecord {
                path: dir.display().to_string(),
                weights_sha256,
                config_sha256: sha256_hex(&config_bytes),
                tokenizer_file: files.tokenizer_file.to_string(),
                tokenizer_sha256,
            },
            files,
            config,
            tensors,
            tokenizer,
        })
    }

    /// The prefix of the encoder's tensor names: "" or e.g. "bert." in checkpoints saved from
    /// a task model.
    pub fn prefix(&self) -> Result<String> {
        let mut candidates = vec![String::new(), "bert.".to_string()];
        if let Some(t) = &self.config.model_type {
            candidates.push(format!("{t}."));
        }
        candidates
            .into_iter()
            .find(|p| {
                self.tensors
                    .contains_key(&format!("{p}embeddings.word_embeddings.weight"))
            })
            .ok_or_else(|| Error::Encoder {
                path: self.files.dir.join(WEIGHTS_FILE),
                message: "no embeddings.word_embeddings.weight tensor: not a BERT-family model"
                    .into(),
            })
    }
}
