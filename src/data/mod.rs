//! Corpus reading, splitting and label maps.
//!
//! Loading keeps labels as the raw strings found in the file, so that `data check` can report
//! what is really there. `encode` then applies each task's label map and policies and turns a
//! split into examples with label indices, or fails naming the row.

pub mod annotations;
pub mod import;
pub mod import_render;
pub mod read;
mod sources;
pub mod split;

use crate::config::{DataSource, MissingPolicy, TaskSpec, UnknownPolicy, ValidConfig};
use crate::error::{Error, Result};
pub use read::{read_table, ReadOptions, Table};
pub use split::{grouped_split, Part};
use std::path::{Path, PathBuf};

/// One row as found in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub path_index: usize,
    /// 0 for `[data]`, `i + 1` for `[[data.sources]]` entry `i`.
    pub source: usize,
    pub line: u64,
    pub id: Option<String>,
    pub group: Option<String>,
    /// `None` for a null or empty cell.
    pub text: Option<String>,
    /// One raw label per task, trimmed; `None` when the cell is empty.
    pub labels: Vec<Option<String>>,
}

/// The rows of one split.
#[derive(Debug, Clone)]
pub struct SplitRecords {
    pub part: Part,
    pub records: Vec<Record>,
}

/// Every split of a corpus, with the files it came from.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub files: Vec<PathBuf>,
    /// Source names, the primary first (index = `Record::source`).
    pub sources: Vec<String>,
    pub splits: Vec<SplitRecords>,
}

impl Corpus {
    pub fn split(&self, part: Part) -> Option<&SplitRecords> {
        self.splits.iter().find(|s| s.part == part)
    }

    pub fn file(&self, r: &Record) -> &Path {
        &self.files[r.path_index]
    }
}

pub fn read_options(cfg: &ValidConfig, path: &Path) -> Result<ReadOptions> {
    Ok(ReadOptions {
        format: cfg.format_of(path)?,
        delimiter: cfg.delimiter,
        quoting: cfg.raw.data.quoting,
    })
}

/// The columns one source is read with: text, id, group, and one label column per task
/// (`None` where the source does not label the task).
pub struct Columns<'a> {
    pub text: &'a str,
    pub id: Option<&'a str>,
    pub group: Option<&'a str>,
    pub labels: Vec<Option<&'a str>>,
}

/// Read a file's rows with the columns named by `cfg`'s `[data]`.
pub fn read_records(cfg: &ValidConfig, path: &Path, path_index: usize) -> Result<Vec<Record>> {
    let d = &cfg.raw.data;
    let cols = Columns {
        text: &d.text_column,
        id: d.id_column.as_deref(),
        group: d.group_column.as_deref(),
        labels: cfg.tasks.iter().map(|t| Some(t.column.as_str())).collect(),
    };
    read_with(path, read_options(cfg, path)?, &cols, path_index, 0)
}

/// Read a file's rows with `cols`, as rows of source `source`.
pub fn read_with(
    path: &Path,
    opts: ReadOptions,
    cols: &Columns,
    path_index: usize,
    source: usize,
) -> Result<Vec<Record>> {
    let table = read_table(path, opts)?;
    let text = table.column_index(path, cols.text)?;
    let find = |c: Option<&str>| c.map(|c| table.column_index(path, c)).transpose();
    let id = find(cols.id)?;
    let group = find(cols.group)?;
    let labels: Vec<Option<usize>> = cols
        .labels
        .iter()
        .map(|c| find(*c))
        .collect::<Result<_>>()?;
    let records = table
        .data
        .into_iter()
        .zip(table.lines)
        .map(|(row, line)| {
            // Cloned, not moved: one column may serve twice (PLV groups by its text column).
            let get = |i: usize| row.get(i).cloned().flatten();
            let labels = labels
                .iter()
                .map(|i| {
                    i.and_then(get)
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                })
                .collect();
            Record {
                path_index,
                source,
                line,
                id: id.and_then(get),
                group: group.and_then(get),
                text: get(text),
                labels,
            }
        })
        .collect();
    Ok(records)
}

/// Read the configured data and split it (seeded, grouped, stratified) when it is one file.
pub fn load_corpus(cfg: &ValidConfig) -> Result<Corpus> {
    match &cfg.source {
        DataSource::Files { train, dev, test } => {
            let mut files = vec![train.clone()];
            let mut splits = vec![SplitRecords {
                part: Part::Train,
                records: read_records(cfg, train, 0)?,
            }];
            for (part, path) in [(Part::Dev, dev), (Part::Test, test)] {
                if let Some(p) = path {
                    files.push(p.clone());
                    splits.push(SplitRecords {
                        part,
                        records: read_records(cfg, p, files.len() - 1)?,
                    });
                }
            }
            let mut corpus = Corpus {
                files,
                sources: cfg.source_names(),
                splits,
            };
            sources::add_sources(cfg, &mut corpus)?;
            sources::apply_fold(cfg, &mut corpus);
            Ok(corpus)
        }
        DataSource::Single(path) => {
            let records = read_records(cfg, path, 0)?;
            let parts = sources::split_parts(cfg, &cfg.tasks[cfg.stratify_task], &records);
            let mut splits: Vec<SplitRecords> = [Part::Train, Part::Dev, Part::Test]
                .into_iter()
                .map(|part| SplitRecords {
                    part,
                    records: Vec::new(),
                })
                .collect();
            for (r, p) in records.into_iter().zip(parts) {
                splits[p as usize].records.push(r);
            }
            let mut corpus = Corpus {
                files: vec![path.clone()],
                sources: cfg.source_names(),
                splits,
            };
            sources::add_sources(cfg, &mut corpus)?;
            corpus
                .splits
                .retain(|s| s.part == Part::Train || !s.records.is_empty());
            sources::apply_fold(cfg, &mut corpus);
            Ok(corpus)
        }
    }
}

/// The outcome of mapping one raw label through a task's map and policy.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelOutcome {
    Label(u32),
    /// Empty cell, allowed by `missing = "ignore"`: the row adds no loss for this task.
    Missing,
    /// Unknown label under `unknown = "drop"`: the whole row is dropped.
    DropRow,
}

/// Map one raw label. Errors name the file, line and column.
pub fn map_label(
    task: &TaskSpec,
    raw: Option<&str>,
    file: &Path,
    line: u64,
) -> Result<LabelOutcome> {
    let bad = |message: String| Error::BadValue {
        path: file.to_path_buf(),
        line,
        column: task.column.clone(),
        message,
    };
    let Some(raw) = raw else {
        return match task.missing {
            MissingPolicy::Ignore => Ok(LabelOutcome::Missing),
            MissingPolicy::Error => Err(bad(format!(
                "empty label for task `{}` (expected one of {:?}; set missing = \"ignore\" to allow unlabelled rows)",
                task.name, task.labels
            ))),
        };
    };
    if let Some(i) = task.resolve(raw) {
        return Ok(LabelOutcome::Label(i));
    }
    match &task.unknown {
        UnknownPolicy::Drop => Ok(LabelOutcome::DropRow),
        UnknownPolicy::Error | UnknownPolicy::Map(_) => Err(bad(format!(
            "unknown label `{raw}` for task `{}` (expected one of {:?}; add it to label_map, or set unknown = \"drop\" or \"map:<label>\")",
            task.name, task.labels
        ))),
    }
}

/// A row ready for training or evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    /// Per task; `None` adds no loss for that task.
    pub labels: Vec<Option<u32>>,
    /// Multiplies this row's loss (its source's weight; 1 for `[data]`).
    pub weight: f32,
}

/// What `encode` left out, so callers can say so.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EncodeReport {
    pub dropped_unknown: usize,
    pub dropped_empty_text: usize,
}

/// Map labels and drop what the config says to drop; counts every row left out.
pub fn encode(
    cfg: &ValidConfig,
    corpus: &Corpus,
    split: &SplitRecords,
) -> Result<(Vec<Example>, EncodeReport)> {
    let mut out = Vec::with_capacity(split.records.len());
    let mut report = EncodeReport::default();
    'rows: for r in &split.records {
        let mut labels = Vec::with_capacity(cfg.tasks.len());
        for (t, raw) in r.labels.iter().enumerate() {
            // A source that does not label this task adds no loss for it.
            let Some(task) = cfg.task_of(r.source, t) else {
                labels.push(None);
                continue;
            };
            match map_label(task, raw.as_deref(), corpus.file(r), r.line)? {
                LabelOutcome::Label(l) => labels.push(Some(l)),
                LabelOutcome::Missing => labels.push(None),
                LabelOutcome::DropRow => {
                    report.dropped_unknown += 1;
                    continue 'rows;
                }
            }
        }
        match r.text.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => out.push(Example {
                text: t.to_string(),
                labels,
                weight: cfg.source_weight(r.source),
            }),
            None => report.dropped_empty_text += 1,
        }
    }
    Ok((out, report))
}

#[cfg(test)]
mod tests;
