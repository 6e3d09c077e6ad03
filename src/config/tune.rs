//! `[tune]`: the search space of `stancekit tune`, typed. Each entry names a config key
//! (`"train.lr"`) and the distribution its values are drawn from. Only keys of `[text]`,
//! `[model]` and `[train]` may be searched: the data, the split and the tasks define the
//! problem, and a search that moved them would compare scores on different questions.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TuneConfig {
    /// Cross-validation folds of the training split each trial is scored on.
    pub folds: usize,
    /// Key to distribution; empty = the defaults for the model kind (`tune::space`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub space: BTreeMap<String, Dist>,
}

impl Default for TuneConfig {
    fn default() -> Self {
        TuneConfig {
            folds: 3,
            space: BTreeMap::new(),
        }
    }
}

impl TuneConfig {
    pub fn is_default(&self) -> bool {
        *self == TuneConfig::default()
    }
}

/// Where one key's values come from, written `{ log_uniform = [0.001, 0.1] }` and so on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// One of the listed values, each equally likely.
    Choice(Vec<toml::Value>),
    /// A float uniform in [low, high].
    Uniform([f64; 2]),
    /// A float whose logarithm is uniform in [ln low, ln high] (learning rates, decays).
    LogUniform([f64; 2]),
    /// An integer uniform in [low, high], both included.
    Int([i64; 2]),
}

/// Sections whose keys a search may change.
pub const TUNABLE_SECTIONS: [&str; 3] = ["text", "model", "train"];

impl Dist {
    /// What is wrong with this distribution, if anything.
    pub fn problem(&self) -> Option<String> {
        match self {
            Dist::Choice(v) if v.is_empty() => Some("choice needs at least one value".into()),
            Dist::Uniform([a, b]) if !(a.is_finite() && b.is_finite() && a <= b) => {
                Some(format!("uniform needs finite low <= high, got [{a}, {b}]"))
            }
            Dist::LogUniform([a, b]) if !(*a > 0.0 && b.is_finite() && a <= b) => {
                Some(format!("log_uniform needs 0 < low <= high, got [{a}, {b}]"))
            }
            Dist::Int([a, b]) if a > b => Some(format!("int needs low <= high, got [{a}, {b}]")),
            _ => None,
        }
    }
}
