//! The end-of-training report, as the binary prints it.

use super::TrainSummary;
use std::fmt::Write as _;

impl TrainSummary {
    /// The human-readable summary: steps, throughput, what was left out, best and held-out
    /// metrics, the weights' hash and the report folders.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "run: {}", self.run_dir.display());
        let _ = writeln!(
            out,
            "trained {} steps ({} epochs) on {} examples in {:.2} s ({:.0} examples/s, {} threads)",
            self.steps,
            self.epochs,
            self.train_examples,
            self.train_seconds,
            self.examples_per_second,
            self.threads
        );
        let d = &self.dropped;
        if d.dropped_empty_text + d.dropped_unknown > 0 {
            let _ = writeln!(
                out,
                "left out: {} rows with empty text, {} rows with unknown labels (unknown = \"drop\")",
                d.dropped_empty_text, d.dropped_unknown
            );
        }
        if let Some(best) = self.best_value {
            let _ = writeln!(
                out,
                "best {} = {best:.4} at step {}",
                self.early_stopping_metric, self.best_step
            );
        }
        if let Some(a) = &self.averaged {
            let value = a
                .dev_value
                .map(|v| format!(": dev {} = {v:.4}", self.early_stopping_metric))
                .unwrap_or_default();
            let verdict = match (a.checkpoints, a.chosen) {
                (0, _) => "none: training ended before that epoch",
                (_, true) => "model-best is the average",
                (_, false) => "not better than the best single checkpoint; kept in model-swa",
            };
            let _ = writeln!(
                out,
                "weight averaging from epoch {}: {} checkpoints{value}; {verdict}",
                a.from_epoch, a.checkpoints
            );
        }
        for (split, metrics) in [("dev", &self.dev), ("test", &self.test)] {
            for (task, m) in metrics {
                let _ = writeln!(
                    out,
                    "{split:>4} {task:<12} accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  (n = {})",
                    m.accuracy, m.macro_f1, m.weighted_f1, m.n
                );
            }
        }
        for (split, tasks) in &self.teacher_agreement {
            for (task, a) in tasks {
                let classes: Vec<String> = a
                    .per_class
                    .iter()
                    .map(|(l, c)| format!("{l} {:.3} ({})", c.agreement, c.n))
                    .collect();
                let _ = writeln!(
                    out,
                    "{split:>4} {task:<12} agreement with the teacher {:.4} (n = {}); per teacher label: {}",
                    a.agreement,
                    a.n,
                    classes.join(", ")
                );
            }
        }
        for (task, t) in &self.thresholds {
            let values: Vec<String> = t
                .values
                .iter()
                .map(|(l, v)| format!("{l} {v:.2}"))
                .collect();
            let _ = writeln!(
                out,
                "thresholds {task} ({}, stored in model-best): {}; dev macro-F1 {:.4} -> {:.4}, {:.1}% of rows labelled",
                t.objective,
                values.join(", "),
                t.dev_macro_f1_before,
                t.dev_macro_f1_after,
                100.0 * t.dev_coverage_after
            );
        }
        let _ = writeln!(out, "model-best weights sha256 {}", self.weights_sha256);
        for dir in &self.reports {
            let _ = writeln!(out, "report: {}", dir.join("report.html").display());
        }
        out
    }
}
