//! Learning curves from the training log (`train-log.jsonl` in the run folder), so a report
//! shows how the model got where it is. A missing log gives no curve; unreadable lines are
//! skipped because the log is appended during training and may end in a partial line.

use super::CurvePoint;
use crate::train::log::read_records;
use std::path::Path;

pub fn read_log(path: &Path, tasks: &[String]) -> Vec<CurvePoint> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    parse_log(&text, tasks)
}

/// The points of a log written by training (`train::log::LogRecord`), with each task's dev
/// macro-F1 in `tasks` order.
pub fn parse_log(text: &str, tasks: &[String]) -> Vec<CurvePoint> {
    read_records(text)
        .map(|r| CurvePoint {
            step: r.step,
            loss: Some(r.loss),
            dev_loss: r.dev_loss,
            dev_macro_f1: tasks
                .iter()
                .map(|t| r.dev.as_ref().and_then(|d| d.get(t)).map(|f| f.macro_f1))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_become_points_and_a_partial_line_is_skipped() {
        let log = r#"{"step":10,"epoch":1,"lr":0.1,"loss":0.9,"dev_loss":0.8,"dev":{"stance":{"accuracy":0.6,"macro_f1":0.5,"weighted_f1":0.55}},"elapsed":1.0}
{"step":20,"epoch":2,"lr":0.1,"loss":0.5,"elapsed":2.0}
{"step":30,"lo"#;
        let pts = parse_log(log, &["stance".to_string()]);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[0].dev_macro_f1, vec![Some(0.5)]);
        assert_eq!(
            (pts[1].step, pts[1].loss, pts[1].dev_loss),
            (20, Some(0.5), None)
        );
    }
}
