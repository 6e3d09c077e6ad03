//! The thresholds part of a report: for a checkpoint with stored per-class thresholds, the
//! metrics of plain argmax next to those of the thresholded labels on the same rows, so a
//! reader sees what the thresholds bought in precision and what they cost in coverage.

use super::input::{Gold, Row};
use crate::checkpoint::TaskLabels;
use crate::eval::thresholds::{decide, metrics};
use crate::eval::{ClassMetrics, Predictions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdFigures {
    pub macro_f1: f64,
    /// Over all rows; abstentions count as wrong.
    pub accuracy: f64,
    /// Rows that got a label (not `abstain`).
    pub coverage: f64,
    pub abstained: usize,
    pub classes: Vec<ClassMetrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdReport {
    pub task: String,
    pub objective: String,
    /// Label -> threshold.
    pub values: BTreeMap<String, f32>,
    pub evaluated: usize,
    /// Argmax.
    pub before: ThresholdFigures,
    /// With the thresholds applied.
    pub after: ThresholdFigures,
}

fn figures(labels: &[String], gold: &[u32], pred: &[Option<u32>]) -> ThresholdFigures {
    let m = metrics(labels, gold, pred);
    let abstained = pred.iter().filter(|p| p.is_none()).count();
    ThresholdFigures {
        macro_f1: m.macro_f1,
        accuracy: m.accuracy,
        coverage: 1.0 - abstained as f64 / gold.len().max(1) as f64,
        abstained,
        classes: m.classes,
    }
}

/// Before/after figures for every task that has stored thresholds.
pub fn reports(
    tasks: &[TaskLabels],
    rows: &[Row],
    scored: &[Option<usize>],
    probs: &Predictions,
) -> Vec<ThresholdReport> {
    let mut out = Vec::new();
    for (t, task) in tasks.iter().enumerate() {
        let Some(th) = &task.thresholds else { continue };
        let (mut gold, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
        for (row, s) in rows.iter().zip(scored) {
            if let (Gold::Label(g), Some(s)) = (&row.gold[t], s) {
                let p = &probs.probs[t][*s];
                gold.push(*g);
                before.push(Some(crate::eval::predict::argmax(p)));
                after.push(decide(p, &th.values));
            }
        }
        out.push(ThresholdReport {
            task: task.name.clone(),
            objective: th.objective.clone(),
            values: task
                .labels
                .iter()
                .cloned()
                .zip(th.values.iter().copied())
                .collect(),
            evaluated: gold.len(),
            before: figures(&task.labels, &gold, &before),
            after: figures(&task.labels, &gold, &after),
        });
    }
    out
}

/// The thresholds section as Markdown (empty without thresholds).
pub fn markdown(reports: &[ThresholdReport]) -> String {
    let mut s = String::new();
    for r in reports {
        let _ = writeln!(
            s,
            "\n## Thresholds for `{}` ({}, tuned on dev)\n\nArgmax vs thresholded labels on the same {} rows; an abstention counts against recall and accuracy.\n\n| | macro-F1 | accuracy | coverage | abstained |\n|---|---:|---:|---:|---:|",
            r.task, r.objective, r.evaluated
        );
        for (name, f) in [("argmax", &r.before), ("thresholds", &r.after)] {
            let _ = writeln!(
                s,
                "| {name} | {:.4} | {:.4} | {:.4} | {} |",
                f.macro_f1, f.accuracy, f.coverage, f.abstained
            );
        }
        s.push_str("\n| label | threshold | precision before | precision after | recall before | recall after | F1 before | F1 after |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (b, a) in r.before.classes.iter().zip(&r.after.classes) {
            let th = r.values.get(&b.label).copied().unwrap_or(0.0);
            let _ = writeln!(
                s,
                "| {} | {th:.2} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
                b.label, b.precision, a.precision, b.recall, a.recall, b.f1, a.f1
            );
        }
    }
    s
}

/// One line per task for a terminal.
pub fn summary_lines(reports: &[ThresholdReport]) -> String {
    let mut s = String::new();
    for r in reports {
        let _ = writeln!(
            s,
            "  {} thresholds ({}): macro-F1 {:.4} -> {:.4}, accuracy {:.4} -> {:.4}, coverage {:.1}%",
            r.task,
            r.objective,
            r.before.macro_f1,
            r.after.macro_f1,
            r.before.accuracy,
            r.after.accuracy,
            100.0 * r.after.coverage
        );
    }
    s
}

/// The thresholds section as HTML (empty without thresholds).
pub fn html(reports: &[ThresholdReport]) -> String {
    let esc = super::svg::esc;
    let mut s = String::new();
    for r in reports {
        let _ = write!(
            s,
            "<h2>Thresholds for <code>{}</code> ({}, tuned on dev)</h2><p class=\"meta\">Argmax vs thresholded labels on the same {} rows; an abstention counts against recall and accuracy.</p><table><tr><th></th><th>macro-F1</th><th>accuracy</th><th>coverage</th><th>abstained</th></tr>",
            esc(&r.task),
            esc(&r.objective),
            r.evaluated
        );
        for (name, f) in [("argmax", &r.before), ("thresholds", &r.after)] {
            let _ = write!(
                s,
                "<tr><td>{name}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td class=\"n\">{}</td></tr>",
                f.macro_f1, f.accuracy, f.coverage, f.abstained
            );
        }
        s.push_str("</table><table><tr><th>label</th><th>threshold</th><th>precision</th><th>recall</th><th>F1</th></tr>");
        for (b, a) in r.before.classes.iter().zip(&r.after.classes) {
            let th = r.values.get(&b.label).copied().unwrap_or(0.0);
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=\"n\">{th:.2}</td><td class=\"n\">{:.4} &rarr; {:.4}</td><td class=\"n\">{:.4} &rarr; {:.4}</td><td class=\"n\">{:.4} &rarr; {:.4}</td></tr>",
                esc(&b.label), b.precision, a.precision, b.recall, a.recall, b.f1, a.f1
            );
        }
        s.push_str("</table>");
    }
    s
}
