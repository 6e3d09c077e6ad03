//! Per-split summaries (label counts, text lengths) and the human-readable report.

use super::{CheckReport, LengthStats, Severity, SplitSummary};
use crate::config::{UnknownPolicy, ValidConfig};
use crate::data::Record;
use std::collections::BTreeMap;

pub(super) fn summarise(cfg: &ValidConfig, split: String, records: &[Record]) -> SplitSummary {
    let mut labels = BTreeMap::new();
    for (t, task) in cfg.tasks.iter().enumerate() {
        let mut counts: BTreeMap<String, usize> =
            task.labels.iter().map(|l| (l.clone(), 0)).collect();
        for r in records {
            // Count labels as training will see them: mapped by the row's own source, and
            // unknown ones sent where `unknown = "map:<label>"` sends them.
            let Some(task) = cfg.task_of(r.source, t) else {
                continue;
            };
            let l = r.labels[t]
                .as_deref()
                .map(|l| {
                    let mapped = task.mapped(l);
                    match &task.unknown {
                        UnknownPolicy::Map(to) if !task.labels.iter().any(|x| x == mapped) => {
                            to.clone()
                        }
                        _ => mapped.to_string(),
                    }
                })
                .unwrap_or_default();
            *counts.entry(l).or_default() += 1;
        }
        labels.insert(task.name.clone(), counts);
    }
    let texts: Vec<&str> = records.iter().filter_map(|r| r.text.as_deref()).collect();
    SplitSummary {
        split,
        rows: records.len(),
        labels,
        chars: stats(texts.iter().map(|t| t.chars().count()).collect()),
        words: stats(texts.iter().map(|t| t.split_whitespace().count()).collect()),
    }
}

fn stats(mut v: Vec<usize>) -> Option<LengthStats> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(LengthStats {
        min: v[0],
        mean: v.iter().sum::<usize>() as f64 / n as f64,
        median: v[n / 2],
        p95: v[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1],
        max: v[n - 1],
    })
}

/// The human-readable report.
pub fn render(report: &CheckReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "files: {}", report.files.join(", "));
    for sp in &report.splits {
        let _ = writeln!(s, "\n[{}] {} rows", sp.split, sp.rows);
        for (task, counts) in &sp.labels {
            let parts: Vec<String> = counts
                .iter()
                .map(|(l, n)| format!("{}={n}", if l.is_empty() { "<missing>" } else { l }))
                .collect();
            let _ = writeln!(s, "  {task}: {}", parts.join("  "));
        }
        if let (Some(c), Some(w)) = (&sp.chars, &sp.words) {
            let _ = writeln!(
                s,
                "  length (chars): min {} median {} mean {:.1} p95 {} max {}",
                c.min, c.median, c.mean, c.p95, c.max
            );
            let _ = writeln!(
                s,
                "  length (words): min {} median {} mean {:.1} p95 {} max {}",
                w.min, w.median, w.mean, w.p95, w.max
            );
        }
    }
    let _ = writeln!(s);
    if report.findings.is_empty() {
        let _ = writeln!(s, "no findings");
    }
    for f in &report.findings {
        let tag = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(s, "{tag}[{}]: {}", f.kind, f.message);
        for e in &f.examples {
            let _ = writeln!(s, "    {e}");
        }
    }
    let _ = writeln!(
        s,
        "\n{} errors, {} warnings",
        report.errors, report.warnings
    );
    s
}
