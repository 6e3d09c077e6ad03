//! Comparing two reports: per task, the change in accuracy, macro-F1 and weighted-F1, marked
//! significant when the two bootstrap intervals do not overlap (a conservative test: overlap
//! does not prove there is no difference).

use super::{Interval, Report, REPORT_JSON};
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub metric: String,
    pub a: f64,
    pub a_interval: Interval,
    pub b: f64,
    pub b_interval: Interval,
    pub delta: f64,
    pub significant: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDeltas {
    pub task: String,
    pub deltas: Vec<Delta>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub tasks: Vec<TaskDeltas>,
    /// Tasks in only one of the two reports.
    pub unmatched: Vec<String>,
}

/// Read `report.json`, given the file or the folder holding it.
pub fn load_report(path: &Path) -> Result<Report> {
    let file = if path.is_dir() {
        path.join(REPORT_JSON)
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Table {
        path: file.clone(),
        message: format!("not a stancekit report.json: {e}"),
    })
}

pub fn compare(a: &Report, b: &Report, a_name: &str, b_name: &str) -> Comparison {
    let mut tasks = Vec::new();
    let mut unmatched = Vec::new();
    for ta in &a.tasks {
        let Some(tb) = b.tasks.iter().find(|t| t.name == ta.name) else {
            unmatched.push(ta.name.clone());
            continue;
        };
        let row = |metric: &str, a: f64, ai: Interval, b: f64, bi: Interval| Delta {
            metric: metric.to_string(),
            a,
            a_interval: ai,
            b,
            b_interval: bi,
            delta: b - a,
            significant: !ai.overlaps(&bi),
        };
        let (ma, mb, ia, ib) = (&ta.metrics, &tb.metrics, &ta.intervals, &tb.intervals);
        tasks.push(TaskDeltas {
            task: ta.name.clone(),
            deltas: vec![
                row(
                    "accuracy",
                    ma.accuracy,
                    ia.accuracy,
                    mb.accuracy,
                    ib.accuracy,
                ),
                row(
                    "macro_f1",
                    ma.macro_f1,
                    ia.macro_f1,
                    mb.macro_f1,
                    ib.macro_f1,
                ),
                row(
                    "weighted_f1",
                    ma.weighted_f1,
                    ia.weighted_f1,
                    mb.weighted_f1,
                    ib.weighted_f1,
                ),
            ],
        });
    }
    for tb in &b.tasks {
        if !a.tasks.iter().any(|t| t.name == tb.name) {
            unmatched.push(tb.name.clone());
        }
    }
    Comparison {
        a: a_name.to_string(),
        b: b_name.to_string(),
        tasks,
        unmatched,
    }
}

pub fn render(c: &Comparison) -> String {
    let iv = |i: &Interval| format!("[{:.4}, {:.4}]", i.low, i.high);
    let mut s = format!("A: {}\nB: {}\n", c.a, c.b);
    for t in &c.tasks {
        s.push_str(&format!(
            "\n{}\n  {:<12} {:>8} {:<18} {:>8} {:<18} {:>8}\n",
            t.task, "metric", "A", "95% CI", "B", "95% CI", "B - A"
        ));
        for d in &t.deltas {
            s.push_str(&format!(
                "  {:<12} {:>8.4} {:<18} {:>8.4} {:<18} {:>+8.4}{}\n",
                d.metric,
                d.a,
                iv(&d.a_interval),
                d.b,
                iv(&d.b_interval),
                d.delta,
                if d.significant {
                    "  significant (intervals do not overlap)"
                } else {
                    ""
                }
            ));
        }
    }
    for u in &c.unmatched {
        s.push_str(&format!("\ntask `{u}` is in only one of the reports\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_overlap_only_when_they_share_a_point() {
        let i = |low, high| Interval { low, high };
        assert!(i(0.1, 0.5).overlaps(&i(0.5, 0.9)));
        assert!(i(0.1, 0.9).overlaps(&i(0.3, 0.4)));
        assert!(!i(0.1, 0.4).overlaps(&i(0.5, 0.9)));
        assert!(!i(0.5, 0.9).overlaps(&i(0.1, 0.4)));
    }
}
