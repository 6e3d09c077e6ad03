//! Importers: turn the public corpora our users compare against into one canonical CSV
//! (`id`, `group`, `text`, then one column per task), so every config and benchmark reads them
//! the same way. Each importer's label map is documented in `datasets/CATALOG.md`.
//!
//! Importers never drop a row silently: duplicates, conflicts and skipped rows are counted in
//! the report.

use crate::config::FileFormat;
use crate::data::{read_table, ReadOptions, Table};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The corpora stancekit can import.
pub const NAMES: [&str; 5] = ["plv", "kil-quadclass", "kil-relevance", "newsmtsc", "sst2"];

/// Rows in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// Task columns after `id`, `group`, `text`.
    pub tasks: Vec<String>,
    /// `(id, group, text, labels)` per row.
    pub rows: Vec<(String, String, String, Vec<String>)>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    pub corpus: String,
    pub rows_in: usize,
    pub rows_out: usize,
    /// Repeated texts with the same labels, kept once.
    pub duplicates_merged: usize,
    /// Rows whose repeated texts carry different labels: all copies dropped.
    pub conflicts_dropped: usize,
    /// Rows skipped for another stated reason (e.g. NewsMTSC targets that disagree).
    pub skipped: usize,
    pub skipped_reason: String,
    /// Per task, label -> count.
    pub labels: BTreeMap<String, BTreeMap<String, usize>>,
}

/// PLOVER root codes mapped to stancekit's stance classes (see datasets/CATALOG.md).
pub fn plover_to_stance(code: &str) -> &'static str {
    match code {
        "ACCUSE" => "condemnation",
        "AGREE" | "CONSULT" | "COOPERATE" | "SUPPORT" | "AID" => "cooperation",
        _ => "other",
    }
}

const QUAD: [&str; 5] = [
    "irrelevant",
    "material_conflict",
    "material_cooperation",
    "verbal_conflict",
    "verbal_cooperation",
];

/// Import corpus `name` from `from`.
pub fn import(name: &str, from: &Path) -> Result<(Imported, ImportReport)> {
    let (imported, mut report) = match name {
        "plv" => plv(from)?,
        "kil-quadclass" => kil(from, "QuadClass", "quad", &QUAD)?,
        "kil-relevance" => kil(from, "Relevant", "relevance", &["irrelevant", "relevant"])?,
        "newsmtsc" => newsmtsc(from)?,
        "sst2" => sst2(from)?,
        other => {
            return Err(Error::Input(format!(
                "unknown corpus `{other}` (expected one of: {})",
                NAMES.join(", ")
            )))
        }
    };
    report.corpus = name.to_string();
    report.rows_out = imported.rows.len();
    for (t, task) in imported.tasks.iter().enumerate() {
        let counts = report.labels.entry(task.clone()).or_default();
        for row in &imported.rows {
            *counts.entry(row.3[t].clone()).or_default() += 1;
        }
    }
    Ok((imported, report))
}

fn tsv(path: &Path, quoting: bool) -> Result<Table> {
    read_table(
        path,
        ReadOptions {
            format: FileFormat::Tsv,
            delimiter: None,
            quoting,
        },
    )
}

fn cell(t: &Table, row: usize, col: usize) -> &str {
    t.data[row][col].as_deref().unwrap_or("")
}

fn bad(path: &Path, line: u64, column: &str, message: String) -> Error {
    Error::BadValue {
        path: path.to_path_buf(),
        line,
        column: column.to_string(),
        message,
    }
}

/// PLV: one row per sentence-actor pair; keep one row per sentence. Sentences whose copies
/// disagree on the gold code are dropped entirely (and counted).
fn plv(path: &Path) -> Result<(Imported, ImportReport)> {
    let t = tsv(path, true)?;
    let (id, text, root, penta) = (
        t.column_index(path, "sentence_id")?,
        t.column_index(path, "sentence")?,
        t.column_index(path, "gold_root")?,
        t.column_index(path, "gold_penta")?,
    );
    let mut order: Vec<&str> = Vec::new();
    let mut seen: HashMap<&str, (usize, bool, usize)> = HashMap::new(); // first row, conflict, copies
    for r in 0..t.height() {
        let s = cell(&t, r, text);
        if s.trim().is_empty() {
            return Err(bad(path, t.lines[r], "sentence", "empty sentence".into()));
        }
        match seen.get_mut(s) {
            None => {
                order.push(s);
                seen.insert(s, (r, false, 1));
            }
            Some((first, conflict, copies)) => {
                *copies += 1;
                if cell(&t, *first, root) != cell(&t, r, root)
                    || cell(&t, *first, penta) != cell(&t, r, penta)
                {
                    *conflict = true;
                }
            }
        }
    }
    let mut report = ImportReport {
        rows_in: t.height(),
        ..ImportReport::default()
    };
    let mut rows = Vec::new();
    for s in order {
        let (r, conflict, copies) = seen[s];
        if conflict {
            report.conflicts_dropped += copies;
            continue;
        }
        report.duplicates_merged += copies - 1;
        let code = cell(&t, r, root).to_string();
        let sid = cell(&t, r, id).to_string();
        rows.push((
            sid.clone(),
            sid,
            s.to_string(),
            vec![
                code.clone(),
                plover_to_stance(&code).to_string(),
                cell(&t, r, penta).to_string(),
            ],
        ));
    }
    Ok((
        Imported {
            tasks: vec!["plover".into(), "stance".into(), "penta".into()],
            rows,
        },
        report,
    ))
}

/// keep-it-local: text in `en`, a numeric class in `label_col`, named by `names`.
fn kil(
    path: &Path,
    label_col: &str,
    task: &str,
    names: &[&str],
) -> Result<(Imported, ImportReport)> {
    let t = tsv(path, true)?;
    let (text, label) = (
        t.column_index(path, "en")?,
        t.column_index(path, label_col)?,
    );
    let mut rows = Vec::new();
    for r in 0..t.height() {
        let raw = cell(&t, r, label);
        let name = raw
            .parse::<usize>()
            .ok()
            .and_then(|i| names.get(i))
            .ok_or_else(|| {
                bad(
                    path,
                    t.lines[r],
                    label_col,
                    format!("expected a class number 0-{}, got `{raw}`", names.len() - 1),
                )
            })?;
        let n = (r + 1).to_string();
        rows.push((
            n.clone(),
            n,
            cell(&t, r, text).to_string(),
            vec![name.to_string()],
        ));
    }
    let report = ImportReport {
        rows_in: t.height(),
        ..ImportReport::default()
    };
    Ok((
        Imported {
            tasks: vec![task.into()],
            rows,
        },
        report,
    ))
}

/// NewsMTSC: a sentence-level sentiment where all targets agree (2 negative, 4 neutral,
/// 6 positive); sentences whose targets disagree are skipped and counted.
fn newsmtsc(path: &Path) -> Result<(Imported, ImportReport)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut report = ImportReport {
        skipped_reason: "targets disagree on polarity".into(),
        ..ImportReport::default()
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let lineno = i as u64 + 1;
        report.rows_in += 1;
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::Malformed {
            path: path.to_path_buf(),
            line: lineno,
            message: format!("invalid JSON: {e}"),
        })?;
        let sentence = v["sentence_normalized"].as_str().ok_or_else(|| {
            bad(
                path,
                lineno,
                "sentence_normalized",
                "expected a string".into(),
            )
        })?;
        let targets = v["targets"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad(path, lineno, "targets", "expected a non-empty array".into()))?;
        let mut polarity = None;
        let mut agree = true;
        for target in targets {
            let p = target["polarity"]
                .as_f64()
                .ok_or_else(|| bad(path, lineno, "targets.polarity", "expected a number".into()))?;
            agree &= polarity.is_none_or(|q| q == p);
            polarity = Some(p);
        }
        if !agree {
            report.skipped += 1;
            continue;
        }
        let label = match polarity {
            Some(2.0) => "negative",
            Some(4.0) => "neutral",
            Some(6.0) => "positive",
            other => {
                return Err(bad(
                    path,
                    lineno,
                    "targets.polarity",
                    format!("expected 2.0, 4.0 or 6.0, got {other:?}"),
                ))
            }
        };
        let id = v["primary_gid"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| lineno.to_string());
        rows.push((
            id.clone(),
            id,
            sentence.to_string(),
            vec![label.to_string()],
        ));
    }
    Ok((
        Imported {
            tasks: vec!["sentiment".into()],
            rows,
        },
        report,
    ))
}

/// SST-2: TSV with no quoting, label first; the text column is `sentence` in train and
/// `content` in dev.
fn sst2(path: &Path) -> Result<(Imported, ImportReport)> {
    let t = tsv(path, false)?;
    let label = t.column_index(path, "label")?;
    let text = t
        .columns
        .iter()
        .position(|c| c == "sentence" || c == "content")
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: "sentence (or content)".into(),
            found: t.columns.join(", "),
        })?;
    let mut rows = Vec::new();
    for r in 0..t.height() {
        let name = match cell(&t, r, label) {
            "0" => "negative",
            "1" => "positive",
            raw => {
                return Err(bad(
                    path,
                    t.lines[r],
                    "label",
                    format!("expected 0 or 1, got `{raw}`"),
                ))
            }
        };
        let n = (r + 1).to_string();
        rows.push((
            n.clone(),
            n,
            cell(&t, r, text).to_string(),
            vec![name.to_string()],
        ));
    }
    Ok((
        Imported {
            tasks: vec!["sentiment".into()],
            rows,
        },
        ImportReport {
            rows_in: t.height(),
            ..ImportReport::default()
        },
    ))
}

/// Write the canonical CSV atomically; refuses to overwrite the source.
pub fn write_csv(imported: &Imported, from: &Path, out: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (from.canonicalize(), out.canonicalize()) {
        if a == b {
            return Err(Error::Input(format!(
                "refusing to overwrite the input {}",
                from.display()
            )));
        }
    }
    crate::io::write_atomic_with(out, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["id", "group", "text"];
        header.extend(imported.tasks.iter().map(String::as_str));
        csv.write_record(&header)?;
        for (id, group, text, labels) in &imported.rows {
            let mut rec = vec![id.as_str(), group.as_str(), text.as_str()];
            rec.extend(labels.iter().map(String::as_str));
            csv.write_record(&rec)?;
        }
        csv.flush()
    })
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
