//! Importers for the exports of annotation tools (Label Studio, Prodigy, Argilla), so the rows
//! an analyst coded there come back as one canonical CSV: `id`, `text`, `annotator`, then one
//! column per task, one row per statement and annotator. That file feeds `data agreement`
//! directly, and training once adjudicated.
//!
//! Nothing is dropped silently: cancelled, ignored or rejected answers, answers without a
//! choice, repeated answers by one annotator and conflicting ones are counted in the report.

#[path = "annotations_tools.rs"]
mod tools;

use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// The annotation tools whose exports `data import` reads.
pub const TOOLS: [&str; 3] = ["label-studio", "prodigy", "argilla"];

/// A task column named on the command line as `NAME` or `NAME=LABEL,LABEL,...`. The labels route
/// Prodigy's accepted options, which carry no task name, to their task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskArg {
    pub name: String,
    pub labels: Vec<String>,
}

impl std::str::FromStr for TaskArg {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (name, labels) = match s.split_once('=') {
            Some((n, l)) => (n, l.split(',').map(|x| x.trim().to_string()).collect()),
            None => (s, Vec::new()),
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("`{s}`: expected NAME or NAME=LABEL,LABEL,..."));
        }
        Ok(TaskArg {
            name: name.to_string(),
            labels,
        })
    }
}

/// One coded row: an item as one annotator labelled it (`None`: that task left uncoded).
#[derive(Debug, Clone, PartialEq)]
pub struct CodedRow {
    pub item: String,
    pub text: String,
    pub annotator: String,
    pub labels: Vec<Option<String>>,
}

/// The canonical table.
#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    pub tasks: Vec<String>,
    pub rows: Vec<CodedRow>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AnnotationReport {
    pub tool: String,
    /// Records (tasks, lines, records) in the export.
    pub records_in: usize,
    /// Answers found in them, before merging.
    pub annotations_in: usize,
    pub rows_out: usize,
    pub items: usize,
    pub annotators: Vec<String>,
    /// An annotator gave an item the same labels twice: kept once.
    pub merged: usize,
    /// An annotator gave an item different labels: the later answer kept.
    pub conflicting: usize,
    /// Reason -> count, for records and answers that carry no label.
    pub skipped: BTreeMap<String, usize>,
    /// Per task, the items whose annotators chose different labels (for `data agreement`).
    pub items_disagreeing: BTreeMap<String, usize>,
    /// Per task, label -> rows.
    pub labels: BTreeMap<String, BTreeMap<String, usize>>,
}

/// One answer as a tool exported it, before merging.
#[derive(Debug, Clone)]
struct Answer {
    line: u64,
    item: String,
    text: String,
    annotator: String,
    labels: BTreeMap<String, String>,
}

/// What a tool's reader hands back.
#[derive(Default)]
struct Found {
    answers: Vec<Answer>,
    skipped: BTreeMap<String, usize>,
    /// Task names in order of first appearance.
    tasks: Vec<String>,
}

impl Found {
    fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_string()).or_default() += 1;
    }
    fn task(&mut self, name: &str) {
        if !self.tasks.iter().any(|t| t == name) {
            self.tasks.push(name.to_string());
        }
    }
}

/// Import `tool`'s export at `path`. `tasks` restricts and orders the task columns (all tasks
/// found, in order of appearance, when empty).
pub fn import_annotations(
    tool: &str,
    path: &Path,
    tasks: &[TaskArg],
) -> Result<(Coded, AnnotationReport)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let records = records(path, &text)?;
    let found = match tool {
        "label-studio" => tools::label_studio(path, &records, tasks)?,
        "prodigy" => tools::prodigy(path, &records, tasks)?,
        "argilla" => tools::argilla(path, &records, tasks)?,
        other => {
            return Err(Error::Input(format!(
                "unknown annotation tool `{other}` (expected one of: {})",
                TOOLS.join(", ")
            )))
        }
    };
    let mut report = AnnotationReport {
        tool: tool.to_string(),
        records_in: records.len(),
        annotations_in: found.answers.len(),
        skipped: found.skipped.clone(),
        ..Default::default()
    };
    let columns: Vec<String> = match tasks.is_empty() {
        true => found.tasks.clone(),
        false => tasks.iter().map(|t| t.name.clone()).collect(),
    };
    let coded = assemble(path, found.answers, columns, &mut report)?;
    Ok((coded, report))
}

/// Merge answers per (item, annotator) in order of first appearance and count what happened.
fn assemble(
    path: &Path,
    answers: Vec<Answer>,
    tasks: Vec<String>,
    report: &mut AnnotationReport,
) -> Result<Coded> {
    let mut rows: Vec<CodedRow> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    let mut texts: HashMap<String, String> = HashMap::new();
    for a in answers {
        if let Some(t) = texts.get(&a.item) {
            if *t != a.text {
                return Err(Error::BadValue {
                    path: path.to_path_buf(),
                    line: a.line,
                    column: "text".into(),
                    message: format!(
                        "item `{}` appears with two different texts; give each statement its own id",
                        a.item
                    ),
                });
            }
        }
        texts.insert(a.item.clone(), a.text.clone());
        let labels: Vec<Option<String>> = tasks.iter().map(|t| a.labels.get(t).cloned()).collect();
        match at.get(&(a.item.clone(), a.annotator.clone())) {
            Some(&i) if rows[i].labels == labels => report.merged += 1,
            Some(&i) => {
                report.conflicting += 1;
                rows[i].labels = labels;
            }
            None => {
                at.insert((a.item.clone(), a.annotator.clone()), rows.len());
                rows.push(CodedRow {
                    item: a.item,
                    text: a.text,
                    annotator: a.annotator,
                    labels,
                });
            }
        }
    }
    let annotators: BTreeSet<&str> = rows.iter().map(|r| r.annotator.as_str()).collect();
    report.annotators = annotators.into_iter().map(String::from).collect();
    report.items = texts.len();
    report.rows_out = rows.len();
    for (t, task) in tasks.iter().enumerate() {
        let counts = report.labels.entry(task.clone()).or_default();
        let mut per_item: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for r in &rows {
            if let Some(l) = &r.labels[t] {
                *counts.entry(l.clone()).or_default() += 1;
                per_item.entry(&r.item).or_default().insert(l);
            }
        }
        let differing = per_item.values().filter(|s| s.len() > 1).count();
        report.items_disagreeing.insert(task.clone(), differing);
    }
    Ok(Coded { tasks, rows })
}

/// The export's records with the line each starts on: a JSON array, or JSON Lines.
fn records(path: &Path, text: &str) -> Result<Vec<(u64, Value)>> {
    let line_of = |offset: usize| 1 + text[..offset].bytes().filter(|&b| b == b'\n').count() as u64;
    let syntax = |line: u64, e: serde_json::Error| Error::Malformed {
        path: path.to_path_buf(),
        line,
        message: format!("invalid JSON: {e}"),
    };
    if text.trim_start().starts_with('[') {
        let raw: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| syntax(e.line() as u64, e))?;
        let mut out = Vec::with_capacity(raw.len());
        for r in raw {
            let line = line_of(r.get().as_ptr() as usize - text.as_ptr() as usize);
            out.push((
                line,
                serde_json::from_str(r.get()).map_err(|e| syntax(line, e))?,
            ));
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if !l.trim().is_empty() {
            out.push((
                i as u64 + 1,
                serde_json::from_str(l).map_err(|e| syntax(i as u64 + 1, e))?,
            ));
        }
    }
    Ok(out)
}

/// Write the canonical CSV atomically.
pub fn write_coded(coded: &Coded, out: &Path) -> Result<()> {
    crate::io::write_atomic_with(out, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["id", "text", "annotator"];
        header.extend(coded.tasks.iter().map(String::as_str));
        csv.write_record(&header)?;
        for r in &coded.rows {
            let mut rec = vec![r.item.as_str(), r.text.as_str(), r.annotator.as_str()];
            rec.extend(r.labels.iter().map(|l| l.as_deref().unwrap_or("")));
            csv.write_record(&rec)?;
        }
        csv.flush()
    })
}

#[cfg(test)]
#[path = "annotations_tests.rs"]
mod tests;
