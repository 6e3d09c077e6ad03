//! Extra labelled sources (`[[data.sources]]`): more files to train from beside `[data]`, each
//! with its own columns, label maps, unknown-label policy and loss weight, for example the
//! embedded corpus plus a user's own annotations, or a PLOVER-coded corpus mapped onto our
//! stance scheme.
//!
//! Each source is split on its own (grouped by its own group column, with the same `[split]`
//! fractions and seed), or goes whole into training (`split = "train"`), so no group straddles
//! splits and the primary source's dev and test sets stay what they are.

use super::types::TaskSpec;
use super::Config;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Unique; names the source in `data check` and in reports.
    pub name: String,
    pub path: PathBuf,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub quoting: bool,
    pub text_column: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// `split`: split like `[data]` by `[split]`; `train`: every row trains.
    pub split: super::SplitMode,
    /// Multiplies the loss of this source's rows.
    pub weight: f32,
    /// The tasks this source labels (default: all); the others add no loss for its rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
    /// Task -> label column (default: the task's column).
    pub columns: BTreeMap<String, String>,
    /// Task -> { raw label -> label }, applied before the task's own label_map.
    pub label_map: BTreeMap<String, BTreeMap<String, String>>,
    /// Task -> unknown-label policy (`error`, `drop`, `map:<label>`), overriding the task's.
    pub unknown: BTreeMap<String, String>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            name: String::new(),
            path: PathBuf::new(),
            format: "auto".into(),
            delimiter: None,
            quoting: true,
            text_column: "text".into(),
            group_column: None,
            id_column: None,
            split: super::SplitMode::Split,
            weight: 1.0,
            tasks: None,
            columns: BTreeMap::new(),
            label_map: BTreeMap::new(),
            unknown: BTreeMap::new(),
        }
    }
}

/// A checked extra source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub name: String,
    pub path: PathBuf,
    pub format: String,
    pub delimiter: Option<u8>,
    pub quoting: bool,
    pub text_column: String,
    pub group_column: Option<String>,
    pub id_column: Option<String>,
    /// `false`: every row goes to training.
    pub split: bool,
    pub weight: f32,
    /// One per config task: `None` where this source does not label the task.
    pub tasks: Vec<Option<TaskSpec>>,
}

/// One ASCII delimiter (or `\t`), as `data.delimiter` takes it.
pub fn parse_delimiter(s: &Option<String>) -> std::result::Result<Option<u8>, String> {
    match s {
        None => Ok(None),
        Some(s) if s == "\\t" || s == "\t" => Ok(Some(b'\t')),
        Some(s) if s.len() == 1 && s.is_ascii() => Ok(Some(s.as_bytes()[0])),
        Some(s) => Err(format!(
            "expected one ASCII character (or \"\\t\"), got `{s}`"
        )),
    }
}

/// Check `[[data.sources]]` against the tasks; `err(key, message)` builds the error.
pub fn validate_sources(
    c: &mut Config,
    tasks: &[TaskSpec],
    primary: &str,
    resolve: &dyn Fn(&Path) -> PathBuf,
    err: &dyn Fn(&str, String) -> crate::Error,
) -> Result<Vec<SourceSpec>> {
    let mut names = vec![primary.to_string()];
    let mut out = Vec::new();
    for (i, s) in c.data.sources.iter_mut().enumerate() {
        let key = |k: &str| format!("data.sources[{i}].{k}");
        if s.name.trim().is_empty() || names.contains(&s.name) {
            return Err(err(
                &key("name"),
                format!(
                    "every source needs a unique name (taken: {})",
                    names.join(", ")
                ),
            ));
        }
        names.push(s.name.clone());
        if s.path.as_os_str().is_empty() {
            return Err(err(&key("path"), "name the source's labelled file".into()));
        }
        s.path = resolve(&s.path);
        let delimiter = parse_delimiter(&s.delimiter).map_err(|m| err(&key("delimiter"), m))?;
        let split = s.split == super::SplitMode::Split;
        if !(s.weight.is_finite() && s.weight >= 0.0) {
            return Err(err(
                &key("weight"),
                format!("expected a weight >= 0, got {}", s.weight),
            ));
        }
        let known = |t: &String| tasks.iter().any(|x| &x.name == t);
        let named = s.tasks.iter().flatten();
        let keys = named
            .chain(s.columns.keys())
            .chain(s.label_map.keys())
            .chain(s.unknown.keys());
        if let Some(t) = keys.into_iter().find(|t| !known(t)) {
            return Err(err(&key("tasks"), format!("`{t}` is not a task name")));
        }
        let mut specs = Vec::new();
        for t in tasks {
            let labelled = s.tasks.as_ref().is_none_or(|l| l.contains(&t.name));
            if !labelled {
                specs.push(None);
                continue;
            }
            let mut spec = t.clone();
            if let Some(col) = s.columns.get(&t.name) {
                spec.column = col.clone();
            }
            for (from, to) in s.label_map.get(&t.name).into_iter().flatten() {
                if !t.labels.contains(to) {
                    return Err(err(
                        &key("label_map"),
                        format!(
                            "`{from}` maps to `{to}`, which is not a label of task `{}`",
                            t.name
                        ),
                    ));
                }
                spec.label_map.insert(from.clone(), to.clone());
            }
            if let Some(u) = s.unknown.get(&t.name) {
                spec.unknown = super::UnknownPolicy::parse(u, &t.labels)
                    .map_err(|m| err(&key("unknown"), format!("task `{}`: {m}", t.name)))?;
            }
            specs.push(Some(spec));
        }
        out.push(SourceSpec {
            name: s.name.clone(),
            path: s.path.clone(),
            format: s.format.clone(),
            delimiter,
            quoting: s.quoting,
            text_column: s.text_column.clone(),
            group_column: s.group_column.clone(),
            id_column: s.id_column.clone(),
            split,
            weight: s.weight,
            tasks: specs,
        });
    }
    Ok(out)
}
