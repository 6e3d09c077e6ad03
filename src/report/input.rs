//! What gets evaluated: rows with a text and one gold label per task, read from a labelled
//! file with the checkpoint's columns (or overrides), or taken from a training split.
//!
//! Gold labels go through the task's label map and `unknown = "map:<label>"` policy exactly as
//! in training, but an evaluation never fails or silently skips on a bad label: empty cells
//! become [`Gold::Missing`], labels the model does not know become [`Gold::Unknown`], and both
//! are counted in the report.

use crate::config::{TaskSpec, ValidConfig};
use crate::data::{read_table, Record};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub enum Gold {
    Label(u32),
    Missing,
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The id column's value, or the 0-based row index.
    pub id: String,
    /// `None` for an empty text: such rows are not predicted.
    pub text: Option<String>,
    /// One per task, in the checkpoint's task order.
    pub gold: Vec<Gold>,
    /// The `--slice-by` column's value (`None` for an empty cell).
    pub slice: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EvalInput {
    pub path: PathBuf,
    pub split: Option<String>,
    pub text_column: String,
    pub label_columns: Vec<String>,
    pub rows: Vec<Row>,
}

/// Column choices for `evaluate`; `None` and empty mean "as in the checkpoint's config".
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub text: Option<String>,
    /// `(task, column)` overrides.
    pub labels: Vec<(String, String)>,
    /// How to read the evaluated file: from its extension and these flags, never from the
    /// checkpoint's training-data settings.
    pub read: crate::table::TableFlags,
    pub slice_by: Option<String>,
}

/// Map one raw gold cell through the task's label map and policy, never failing.
pub fn gold_of(task: &TaskSpec, raw: Option<&str>) -> Gold {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Gold::Missing;
    };
    match task.resolve(raw) {
        Some(i) => Gold::Label(i),
        None => Gold::Unknown(raw.to_string()),
    }
}

/// Parse `task=column` overrides, checking the task names against the config.
pub fn parse_label_columns(cfg: &ValidConfig, specs: &[String]) -> Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|s| {
            let (task, col) = s.split_once('=').ok_or_else(|| {
                Error::Input(format!(
                    "--label-column {s}: expected TASK=COLUMN, e.g. stance=label"
                ))
            })?;
            if !cfg.tasks.iter().any(|t| t.name == task) {
                let names: Vec<&str> = cfg.tasks.iter().map(|t| t.name.as_str()).collect();
                return Err(Error::Input(format!(
                    "--label-column {s}: the model has no task `{task}` (tasks: {})",
                    names.join(", ")
                )));
            }
            Ok((task.to_string(), col.to_string()))
        })
        .collect()
}

/// Read a labelled file for evaluation with the checkpoint's config `cfg`.
pub fn read_eval_file(cfg: &ValidConfig, path: &Path, columns: &Columns) -> Result<EvalInput> {
    let table = read_table(path, columns.read.resolve(path)?)?;
    let text_column = columns
        .text
        .clone()
        .unwrap_or_else(|| cfg.raw.data.text_column.clone());
    let label_columns: Vec<String> = cfg
        .tasks
        .iter()
        .map(|t| {
            columns
                .labels
                .iter()
                .find(|(task, _)| *task == t.name)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| t.column.clone())
        })
        .collect();
    let text = table.column_index(path, &text_column)?;
    let labels: Vec<usize> = label_columns
        .iter()
        .map(|c| table.column_index(path, c))
        .collect::<Result<_>>()?;
    let id = cfg
        .raw
        .data
        .id_column
        .as_deref()
        .and_then(|c| table.columns.iter().position(|x| x == c));
    let slice = columns
        .slice_by
        .as_deref()
        .map(|c| table.column_index(path, c))
        .transpose()?;
    let rows = table
        .data
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let get = |c: usize| row.get(c).cloned().flatten();
            Row {
                id: id.and_then(get).unwrap_or_else(|| i.to_string()),
                text: get(text).filter(|t| !t.trim().is_empty()),
                gold: cfg
                    .tasks
                    .iter()
                    .zip(&labels)
                    .map(|(t, &c)| gold_of(t, get(c).as_deref()))
                    .collect(),
                slice: slice.and_then(get),
            }
        })
        .collect();
    Ok(EvalInput {
        path: path.to_path_buf(),
        split: None,
        text_column,
        label_columns,
        rows,
    })
}

/// Rows of a corpus split (the records training read), for the reports written after training.
pub fn rows_from_records(
    cfg: &ValidConfig,
    records: &[Record],
    path: &Path,
    split: &str,
) -> EvalInput {
    let names = cfg.source_names();
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, r)| Row {
            id: r.id.clone().unwrap_or_else(|| i.to_string()),
            text: r.text.clone().filter(|t| !t.trim().is_empty()),
            // Gold as the row's own source maps it; missing where it does not label the task.
            gold: (0..cfg.tasks.len())
                .map(|t| match cfg.task_of(r.source, t) {
                    Some(spec) => gold_of(spec, r.labels[t].as_deref()),
                    None => Gold::Missing,
                })
                .collect(),
            // With several sources, reports break every figure down by source.
            slice: (names.len() > 1).then(|| names[r.source].clone()),
        })
        .collect();
    EvalInput {
        path: path.to_path_buf(),
        split: Some(split.to_string()),
        text_column: cfg.raw.data.text_column.clone(),
        label_columns: cfg.tasks.iter().map(|t| t.column.clone()).collect(),
        rows,
    }
}
