//! `[model]` as a table tagged by `kind`: each kind has its own keys, and a key that belongs to
//! another kind (`heads` under `kind = "bow"`) is an error that names both kinds, instead of
//! being accepted and ignored.
//!
//! The sections are typed per kind ([`ModelSection`]) for reading and writing; the rest of the
//! library reads the flat [`ModelConfig`] they convert into, so adding a key to one kind is a
//! field here and a field there.

use super::ModelConfig;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BowSection {
    pub dim: usize,
    /// One shared hidden layer (ReLU) between the pooled embedding and the heads; 0 = none.
    pub hidden: usize,
    pub dropout: f32,
    /// One table column per label, no head matrix: a linear model over the weighted bag.
    pub linear: bool,
    /// Probability of dropping each bag entry in training (n-gram dropout).
    pub ngram_dropout: f32,
    /// Linear mode: the biases' learning rate, as a factor on `train.lr`.
    pub bias_lr: f32,
    /// A local encoder folder whose word vectors start the word rows; empty = none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vectors: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CnnSection {
    pub dim: usize,
    pub dropout: f32,
    pub filters: usize,
    pub kernel_sizes: Vec<usize>,
    /// A local encoder folder whose word vectors start the word table; empty = none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub vectors: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerSection {
    pub dim: usize,
    pub dropout: f32,
    pub layers: usize,
    pub heads: usize,
    pub ff_dim: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PretrainedSection {
    pub path: String,
    pub mode: super::EncoderMode,
    pub pooling: super::Pooling,
    pub normalize: bool,
    pub max_seq_len: usize,
    pub finetune_layers: usize,
    pub cache_dir: String,
    /// The token states averaged before pooling: those of the last `pool_layers` layers.
    #[serde(skip_serializing_if = "is_one")]
    pub pool_layers: usize,
    /// `exact` (candle-transformers' bits) or `fast` (vectorised GELU, fused softmax).
    #[serde(skip_serializing_if = "is_exact")]
    pub kernels: super::Kernels,
    /// One hidden layer (ReLU) in each task's head; 0 = linear heads.
    pub hidden: usize,
    pub dropout: f32,
    /// Dropout masks per example in training, logits averaged (multi-sample dropout).
    #[serde(skip_serializing_if = "is_one")]
    pub dropout_samples: usize,
    /// Dropout inside the fine-tuned layers (0 = none).
    #[serde(skip_serializing_if = "is_zero_f32")]
    pub encoder_dropout: f32,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn is_zero_f32(x: &f32) -> bool {
    *x == 0.0
}

fn is_exact(k: &super::Kernels) -> bool {
    *k == super::Kernels::Exact
}

/// The `[model]` table as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSection {
    Bow(BowSection),
    Cnn(CnnSection),
    Transformer(TransformerSection),
    Pretrained(PretrainedSection),
}

macro_rules! section_defaults {
    ($($t:ident { $($f:ident),* }),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                let d = ModelConfig::default();
                $t { $($f: d.$f.clone()),* }
            }
        }
    )*};
}

section_defaults!(
    BowSection {
        dim,
        hidden,
        dropout,
        linear,
        ngram_dropout,
        bias_lr,
        vectors
    },
    CnnSection {
        dim,
        dropout,
        filters,
        kernel_sizes,
        vectors
    },
    TransformerSection {
        dim,
        dropout,
        layers,
        heads,
        ff_dim
    },
    PretrainedSection {
        path,
        mode,
        pooling,
        normalize,
        max_seq_len,
        finetune_layers,
        cache_dir,
        pool_layers,
        kernels,
        hidden,
        dropout,
        dropout_samples,
        encoder_dropout
    }
);

/// The keys of each kind, for messages.
const KINDS: [(&str, &[&str]); 4] = [
    (
        "bow",
        &[
            "dim",
            "hidden",
            "dropout",
            "linear",
            "ngram_dropout",
            "bias_lr",
            "vectors",
        ],
    ),
    (
        "cnn",
        &["dim", "dropout", "filters", "kernel_sizes", "vectors"],
    ),
    (
        "transformer",
        &["dim", "dropout", "layers", "heads", "ff_dim"],
    ),
    (
        "pretrained",
        &[
            "path",
            "mode",
            "pooling",
            "normalize",
            "max_seq_len",
            "finetune_layers",
            "cache_dir",
            "pool_layers",
            "kernels",
            "hidden",
            "dropout",
            "dropout_samples",
            "encoder_dropout",
        ],
    ),
];

impl From<ModelSection> for ModelConfig {
    fn from(s: ModelSection) -> Self {
        let d = ModelConfig::default();
        match s {
            ModelSection::Bow(b) => ModelConfig {
                kind: "bow".into(),
                dim: b.dim,
                hidden: b.hidden,
                dropout: b.dropout,
                linear: b.linear,
                ngram_dropout: b.ngram_dropout,
                bias_lr: b.bias_lr,
                vectors: b.vectors,
                ..d
            },
            ModelSection::Cnn(c) => ModelConfig {
                kind: "cnn".into(),
                dim: c.dim,
                dropout: c.dropout,
                filters: c.filters,
                kernel_sizes: c.kernel_sizes,
                vectors: c.vectors,
                ..d
            },
            ModelSection::Transformer(t) => ModelConfig {
                kind: "transformer".into(),
                dim: t.dim,
                dropout: t.dropout,
                layers: t.layers,
                heads: t.heads,
                ff_dim: t.ff_dim,
                ..d
            },
            ModelSection::Pretrained(p) => ModelConfig {
                kind: "pretrained".into(),
                path: p.path,
                mode: p.mode,
                pooling: p.pooling,
                normalize: p.normalize,
                max_seq_len: p.max_seq_len,
                finetune_layers: p.finetune_layers,
                cache_dir: p.cache_dir,
                pool_layers: p.pool_layers,
                kernels: p.kernels,
                hidden: p.hidden,
                dropout: p.dropout,
                dropout_samples: p.dropout_samples,
                encoder_dropout: p.encoder_dropout,
                ..d
            },
        }
    }
}

impl ModelConfig {
    /// The section of this config's kind (`None` for a kind that validation will refuse).
    pub fn section(&self) -> Option<ModelSection> {
        let m = self.clone();
        Some(match m.kind.as_str() {
            "bow" => ModelSection::Bow(BowSection {
                dim: m.dim,
                hidden: m.hidden,
                dropout: m.dropout,
                linear: m.linear,
                ngram_dropout: m.ngram_dropout,
                bias_lr: m.bias_lr,
                vectors: m.vectors,
            }),
            "cnn" => ModelSection::Cnn(CnnSection {
                dim: m.dim,
                dropout: m.dropout,
                filters: m.filters,
                kernel_sizes: m.kernel_sizes,
                vectors: m.vectors,
            }),
            "transformer" => ModelSection::Transformer(TransformerSection {
                dim: m.dim,
                dropout: m.dropout,
                layers: m.layers,
                heads: m.heads,
                ff_dim: m.ff_dim,
            }),
            "pretrained" => ModelSection::Pretrained(PretrainedSection {
                path: m.path,
                mode: m.mode,
                pooling: m.pooling,
                normalize: m.normalize,
                max_seq_len: m.max_seq_len,
                finetune_layers: m.finetune_layers,
                cache_dir: m.cache_dir,
                pool_layers: m.pool_layers,
                kernels: m.kernels,
                hidden: m.hidden,
                dropout: m.dropout,
                dropout_samples: m.dropout_samples,
                encoder_dropout: m.encoder_dropout,
            }),
            _ => return None,
        })
    }
}

/// Why a key is refused: the kinds it does belong to.
fn misplaced(kind: &str, key: &str) -> String {
    let own = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, keys)| keys.join(", "))
        .unwrap_or_default();
    let owners: Vec<&str> = KINDS
        .iter()
        .filter(|(_, keys)| keys.contains(&key))
        .map(|(k, _)| *k)
        .collect();
    let belongs = match owners.is_empty() {
        true => "no kind has it".to_string(),
        false => format!("it belongs to kind {}", owners.join(", ")),
    };
    format!("[model] kind = \"{kind}\" has no key \"{key}\" ({belongs}; {kind} keys: {own})")
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        // `kind` defaults to bow, as it did before sections were typed.
        let kind = match table.get("kind") {
            None => "bow".to_string(),
            Some(toml::Value::String(k)) => k.clone(),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "model.kind: expected a string such as \"bow\", got {other}"
                )))
            }
        };
        table.insert("kind".into(), toml::Value::String(kind.clone()));
        if !KINDS.iter().any(|(k, _)| *k == kind) {
            return Err(D::Error::custom(format!(
                "config key `model.kind`: expected bow, cnn, transformer or pretrained, got `{kind}`"
            )));
        }
        if let Some(key) = table.keys().find(|k| {
            *k != "kind"
                && !KINDS
                    .iter()
                    .any(|(x, keys)| *x == kind && keys.contains(&k.as_str()))
        }) {
            return Err(D::Error::custom(misplaced(&kind, key)));
        }
        let section: ModelSection = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| D::Error::custom(e.message().to_string()))?;
        Ok(section.into())
    }
}

impl Serialize for ModelConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.section() {
            Some(section) => section.serialize(s),
            None => Err(serde::ser::Error::custom(format!(
                "model.kind `{}` is not a kind",
                self.kind
            ))),
        }
    }
}

/// Keep only the keys of the section's own kind: checkpoints written before sections were
/// typed store every key of every kind in their `config.toml`.
pub fn drop_other_kinds(model: &mut toml::Table) {
    let kind = model
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("bow")
        .to_string();
    let Some((_, keys)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        return;
    };
    model.retain(|k, _| k == "kind" || keys.iter().any(|x| **x == *k));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ModelConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn a_key_of_another_kind_is_refused_naming_both_kinds() {
        let err = parse("kind = \"bow\"\ndim = 8\nheads = 4\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kind = \"bow\" has no key \"heads\""), "{msg}");
        assert!(msg.contains("belongs to kind transformer"), "{msg}");
        let err = parse("kind = \"cnn\"\nhidden = 4\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to kind bow, pretrained"), "{err}");
    }

    #[test]
    fn sections_read_and_write_only_their_own_keys() {
        let m = parse("kind = \"cnn\"\ndim = 32\nfilters = 7\n").unwrap();
        assert_eq!((m.kind.as_str(), m.dim, m.filters), ("cnn", 32, 7));
        let written = toml::to_string(&m).unwrap();
        assert!(
            written.contains("filters = 7") && !written.contains("heads"),
            "{written}"
        );
        assert_eq!(parse(&written).unwrap(), m);
        assert_eq!(
            parse("dim = 9\n").unwrap().kind,
            "bow",
            "kind defaults to bow"
        );
    }

    #[test]
    fn old_checkpoint_configs_with_every_key_still_load() {
        let mut t: toml::Table =
            toml::from_str("kind = \"bow\"\ndim = 8\nheads = 4\npath = \"\"\n").unwrap();
        drop_other_kinds(&mut t);
        let m: ModelConfig = toml::Value::Table(t).try_into().unwrap();
        assert_eq!(m.dim, 8);
    }
}
