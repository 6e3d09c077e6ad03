//! `data check`: a corpus report that catches what silently ruins a classifier before any
//! training starts: leakage between splits, conflicting labels, labels the config does not know,
//! duplicates and empty texts.
//!
//! Errors (exit 1) are findings that make scores wrong; warnings are worth a look but are
//! sometimes intended.

use crate::config::{MissingPolicy, UnknownPolicy, ValidConfig};
use crate::data::{Corpus, Record};
use crate::text::dedup_key;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable identifier, e.g. `leakage_text`, for scripts.
    pub kind: &'static str,
    pub message: String,
    pub count: usize,
    /// Up to five `file:line` locations or values.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LengthStats {
    pub min: usize,
    pub mean: f64,
    pub median: usize,
    pub p95: usize,
    pub max: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SplitSummary {
    pub split: String,
    pub rows: usize,
    /// Per task: label (after the label map) -> count. Missing labels count under "".
    pub labels: BTreeMap<String, BTreeMap<String, usize>>,
    pub chars: Option<LengthStats>,
    pub words: Option<LengthStats>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    pub files: Vec<String>,
    pub splits: Vec<SplitSummary>,
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.errors == 0
    }

    pub fn finding(&self, kind: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.kind == kind)
    }
}

struct Collector<'a> {
    corpus: &'a Corpus,
    findings: Vec<Finding>,
}

impl Collector<'_> {
    fn loc(&self, r: &Record) -> String {
        format!("{}:{}", self.corpus.file(r).display(), r.line)
    }

    fn add(
        &mut self,
        severity: Severity,
        kind: &'static str,
        count: usize,
        message: String,
        examples: Vec<String>,
    ) {
        if count > 0 {
            self.findings.push(Finding {
                severity,
                kind,
                message,
                count,
                examples: examples.into_iter().take(5).collect(),
            });
        }
    }
}

pub fn check_corpus(cfg: &ValidConfig, corpus: &Corpus) -> CheckReport {
    let mut c = Collector {
        corpus,
        findings: Vec::new(),
    };
    let all: Vec<(&'static str, &Record)> = corpus
        .splits
        .iter()
        .flat_map(|s| s.records.iter().map(move |r| (s.part.name(), r)))
        .collect();

    // Empty texts.
    let empty: Vec<String> = all
        .iter()
        .filter(|(_, r)| r.text.as_deref().is_none_or(|t| t.trim().is_empty()))
        .map(|(_, r)| c.loc(r))
        .collect();
    c.add(
        Severity::Warning,
        "empty_text",
        empty.len(),
        format!(
            "{} rows have an empty or whitespace-only text; training skips them",
            empty.len()
        ),
        empty,
    );

    // Duplicates, conflicts and leakage, keyed by exact and by normalised text.
    let mut exact: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut norm: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, r)) in all.iter().enumerate() {
        if let Some(t) = r.text.as_deref().filter(|t| !t.trim().is_empty()) {
            exact.entry(t).or_default().push(i);
            norm.entry(dedup_key(t)).or_default().push(i);
        }
    }
    let dup_rows = |m: &mut dyn Iterator<Item = &Vec<usize>>| -> (usize, Vec<String>) {
        let mut n = 0;
        let mut ex = Vec::new();
        for rows in m.filter(|v| v.len() > 1) {
            n += rows.len() - 1;
            ex.push(
                rows.iter()
                    .map(|&i| c.loc(all[i].1))
                    .collect::<Vec<_>>()
                    .join(" = "),
            );
        }
        ex.sort();
        (n, ex)
    };
    let (n_exact, ex_exact) = dup_rows(&mut exact.values());
    let (n_norm, ex_norm) = dup_rows(&mut norm.values());
    c.add(
        Severity::Warning,
        "exact_duplicates",
        n_exact,
        format!("{n_exact} rows repeat an earlier text exactly"),
        ex_exact,
    );
    c.add(Severity::Warning, "normalized_duplicates", n_norm, format!("{n_norm} rows repeat an earlier text after normalising case, whitespace and punctuation"), ex_norm);

    let mut keys: Vec<&String> = norm.keys().collect();
    keys.sort();
    for (t, task) in cfg.tasks.iter().enumerate() {
        let mut conflicts = Vec::new();
        for k in &keys {
            let rows = &norm[*k];
            // Each row's label as its own source maps it.
            let labels: BTreeSet<String> = rows
                .iter()
                .filter_map(|&i| {
                    let r = all[i].1;
                    let spec = cfg.task_of(r.source, t)?;
                    let l = r.labels[t].as_deref()?;
                    Some(
                        spec.label_map
                            .get(l)
                            .cloned()
                            .unwrap_or_else(|| l.to_string()),
                    )
                })
                .collect();
            if labels.len() > 1 {
                conflicts.push(format!(
                    "{} -> {}",
                    c.loc(all[rows[0]].1),
                    labels.into_iter().collect::<Vec<_>>().join(" / ")
                ));
            }
        }
        c.add(
            Severity::Error,
            "conflicting_labels",
            conflicts.len(),
            format!(
                "task `{}`: {} texts appear with different labels",
                task.name,
                conflicts.len()
            ),
            conflicts,
        );
    }

    let mut leaked = Vec::new();
    for k in &keys {
        let splits: BTreeSet<&str> = norm[*k].iter().map(|&i| all[i].0).collect();
        if splits.len() > 1 {
            leaked.push(format!(
                "{} in {}",
                c.loc(all[norm[*k][0]].1),
                splits.into_iter().collect::<Vec<_>>().join("+")
            ));
        }
    }
    c.add(
        Severity::Error,
        "leakage_text",
        leaked.len(),
        format!("{} texts occur in more than one split", leaked.len()),
        leaked,
    );

    let mut group_splits: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (split, r) in &all {
        if let Some(g) = r.group.as_deref() {
            group_splits.entry(g).or_default().insert(split);
        }
    }
    let straddle: Vec<String> = group_splits
        .iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(g, s)| format!("{g} in {}", s.iter().copied().collect::<Vec<_>>().join("+")))
        .collect();
    c.add(
        Severity::Error,
        "leakage_group",
        straddle.len(),
        format!("{} group ids straddle splits", straddle.len()),
        straddle,
    );

    // Labels against the config.
    for (t, task) in cfg.tasks.iter().enumerate() {
        let mut unknown: BTreeMap<&str, usize> = BTreeMap::new();
        let mut missing = Vec::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut fatal_unknown = false;
        for (_, r) in &all {
            // Rows of a source that does not label this task have nothing to check.
            let Some(spec) = cfg.task_of(r.source, t) else {
                continue;
            };
            match r.labels[t].as_deref() {
                None => missing.push(c.loc(r)),
                Some(l) => {
                    let mapped = spec.mapped(l);
                    if !task.labels.iter().any(|x| x == mapped) {
                        fatal_unknown |= spec.unknown == UnknownPolicy::Error;
                    }
                    if task.labels.iter().any(|x| x == mapped) {
                        seen.insert(mapped);
                    } else {
                        *unknown.entry(l).or_default() += 1;
                    }
                }
            }
        }
        let n_unknown: usize = unknown.values().sum();
        // An error where a row's own source refuses unknown labels; a warning where it maps
        // or drops them.
        let sev = if fatal_unknown {
            Severity::Error
        } else {
            Severity::Warning
        };
        c.add(
            sev,
            "unknown_labels",
            n_unknown,
            format!(
                "task `{}`: {n_unknown} rows have labels not in the config ({} distinct)",
                task.name,
                unknown.len()
            ),
            unknown.iter().map(|(l, n)| format!("{l} ({n})")).collect(),
        );
        let sev = if task.missing == MissingPolicy::Error {
            Severity::Error
        } else {
            Severity::Warning
        };
        c.add(
            sev,
            "missing_labels",
            missing.len(),
            format!(
                "task `{}`: {} rows have an empty label",
                task.name,
                missing.len()
            ),
            missing,
        );
        let unused: Vec<String> = task
            .labels
            .iter()
            .filter(|l| !seen.contains(l.as_str()))
            .cloned()
            .collect();
        c.add(
            Severity::Warning,
            "unused_labels",
            unused.len(),
            format!(
                "task `{}`: {} configured labels have no examples",
                task.name,
                unused.len()
            ),
            unused,
        );
    }

    let mut splits = Vec::new();
    for s in &corpus.splits {
        splits.push(summarise(cfg, s.part.name().to_string(), &s.records));
        // With several sources, each split is also broken down by source.
        if corpus.sources.len() > 1 {
            for (i, name) in corpus.sources.iter().enumerate() {
                let own: Vec<Record> = s
                    .records
                    .iter()
                    .filter(|r| r.source == i)
                    .cloned()
                    .collect();
                splits.push(summarise(cfg, format!("{} / {name}", s.part.name()), &own));
            }
        }
    }
    let mut findings = c.findings;
    findings.sort_by_key(|f| f.severity);
    CheckReport {
        files: corpus
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        splits,
        errors: findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count(),
        warnings: findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count(),
        findings,
    }
}

mod summary;

pub use summary::render;
use summary::summarise;

#[cfg(test)]
mod tests;
