//! `report.md`: the report's tables in Markdown, ready to paste into a paper's appendix or a
//! README.

use super::{Interval, Report, TaskReport};
use std::fmt::Write;

/// A table cell: no pipes, line breaks or raw HTML from statements.
pub fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn ci(i: &Interval) -> String {
    format!("[{:.3}, {:.3}]", i.low, i.high)
}

fn defined(v: f64, ok: bool) -> String {
    if ok {
        format!("{v:.3}")
    } else {
        format!("{v:.3}*")
    }
}

pub fn overall_table(r: &Report) -> String {
    let mut s = String::from(
        "| task | n | accuracy (95% CI) | macro-F1 (95% CI) | weighted-F1 (95% CI) | micro-F1 | macro-P | macro-R | weighted-P | weighted-R | missing gold | unknown gold |\n|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for t in &r.tasks {
        let (m, i) = (&t.metrics, &t.intervals);
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} {} | {:.3} {} | {:.3} {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} |",
            cell(&t.name),
            t.evaluated,
            m.accuracy,
            ci(&i.accuracy),
            m.macro_f1,
            ci(&i.macro_f1),
            m.weighted_f1,
            ci(&i.weighted_f1),
            m.micro_f1,
            m.macro_precision,
            m.macro_recall,
            m.weighted_precision,
            m.weighted_recall,
            t.missing_gold,
            t.unknown_gold
        );
    }
    s
}

pub fn class_table(t: &TaskReport) -> String {
    let mut s = String::from(
        "| label | precision | recall | F1 (95% CI) | support | predicted |\n|---|---:|---:|---|---:|---:|\n",
    );
    for (c, iv) in t.metrics.classes.iter().zip(&t.intervals.class_f1) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.3} {} | {} | {} |",
            cell(&c.label),
            defined(c.precision, c.precision_defined),
            defined(c.recall, c.recall_defined),
            c.f1,
            ci(iv),
            c.support,
            c.predicted
        );
    }
    s
}

fn confusion_table(t: &TaskReport) -> String {
    let mut s = String::from("| gold \\ predicted |");
    for l in &t.labels {
        let _ = write!(s, " {} |", cell(l));
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(t.labels.len()));
    s.push('\n');
    for (l, row) in t.labels.iter().zip(&t.metrics.confusion) {
        let _ = write!(s, "| **{}** |", cell(l));
        for c in row {
            let _ = write!(s, " {c} |");
        }
        s.push('\n');
    }
    s
}

pub fn render(r: &Report) -> String {
    let mut s = String::from("# Evaluation report\n\n");
    let d = &r.data;
    let _ = writeln!(
        s,
        "- model: `{}` (step {}, seed {}, {} model, stancekit {})",
        r.model, r.manifest.step, r.manifest.seed, r.manifest.model_kind, r.stancekit_version
    );
    let split = d
        .split
        .as_deref()
        .map(|x| format!(" ({x} split)"))
        .unwrap_or_default();
    let _ = writeln!(s, "- data: `{}`{split}, sha256 `{}`", d.path, d.sha256);
    let _ = writeln!(
        s,
        "- rows: {} ({} with an empty text, not predicted)",
        d.rows, d.empty_text
    );
    let _ = writeln!(
        s,
        "- intervals: {:.0}% {} bootstrap, {} resamples, seed {}\n",
        r.bootstrap.confidence * 100.0,
        r.bootstrap.method,
        r.bootstrap.resamples,
        r.bootstrap.seed
    );
    s.push_str("## Overall\n\n");
    s.push_str(&overall_table(r));
    s.push_str("\nRows with missing or unknown gold labels are excluded from that task's metrics and counted above.\n");
    for t in &r.tasks {
        let _ = writeln!(s, "\n## Task `{}`\n\n### Per class\n", cell(&t.name));
        s.push_str(&class_table(t));
        s.push_str("\n\\* undefined (class never predicted, or absent from gold): reported as 0.\n\n### Confusion matrix\n\n");
        s.push_str(&confusion_table(t));
        s.push_str("\n### Most confused pairs\n\n");
        if t.most_confused.is_empty() {
            s.push_str("No errors.\n");
        }
        for p in &t.most_confused {
            let _ = writeln!(
                s,
                "- **{}** predicted as **{}**: {}",
                cell(&p.gold),
                cell(&p.predicted),
                super::rows(p.count)
            );
            for e in &p.examples {
                let _ = writeln!(s, "  - {}", cell(e));
            }
        }
        let c = &t.calibration;
        let _ = writeln!(s, "\n### Calibration\n\nECE (15 bins, top label) {:.4}; Brier (multi-class, sum over labels, 0 to 2) {:.4}.\n", c.ece, c.brier);
        s.push_str(
            "| confidence bin | rows | mean confidence | accuracy |\n|---|---:|---:|---:|\n",
        );
        for b in c.bins.iter().filter(|b| b.count > 0) {
            let _ = writeln!(
                s,
                "| {:.3}–{:.3} | {} | {:.3} | {:.3} |",
                b.lower, b.upper, b.count, b.confidence, b.accuracy
            );
        }
    }
    s.push_str(&super::thresholds::markdown(&r.thresholds));
    s.push_str(&super::teacher::markdown(&r.teacher_agreement));
    if !r.learning_curve.is_empty() {
        s.push_str("\n## Learning curve\n\nDev macro-F1 of the same config trained on nested fractions of the training split.\n\n| fraction | labels |");
        for t in &r.tasks {
            let _ = write!(s, " {} |", cell(&t.name));
        }
        s.push_str("\n|---:|---:|");
        s.push_str(&"---:|".repeat(r.tasks.len()));
        s.push('\n');
        for p in &r.learning_curve {
            let _ = write!(s, "| {:.2} | {} |", p.fraction, p.train_examples);
            for t in &r.tasks {
                let v = p.dev_macro_f1.get(&t.name).copied().unwrap_or(0.0);
                let _ = write!(s, " {v:.4} |");
            }
            s.push('\n');
        }
    }
    if let Some(col) = &r.slice_by {
        let _ = writeln!(s, "\n## Slices by `{}`\n", cell(col));
        s.push_str("| value | task | rows | n | accuracy | macro-F1 | weighted-F1 | missing gold | unknown gold |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for sl in &r.slices {
            for t in &sl.tasks {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {} | {} |",
                    cell(&sl.value),
                    cell(&t.task),
                    sl.rows,
                    t.evaluated,
                    t.accuracy,
                    t.macro_f1,
                    t.weighted_f1,
                    t.missing_gold,
                    t.unknown_gold
                );
            }
        }
    }
    s.push_str("\n## Definitions\n\n");
    for d in &r.definitions {
        let _ = writeln!(s, "- {d}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b\n<c> & d"), "a\\|b &lt;c&gt; &amp; d");
    }
}
