//! Learning curves from the training log (`train-log.jsonl` in the run folder), so a report
//! shows how the model got where it is. A missing log gives no curve; unreadable lines are
//! skipped because the log is appended during training and may end in a partial line.

use super::CurvePoint;
use serde_json::Value;
use std::path::Path;

pub fn read_log(path: &Path, tasks: &[String]) -> Vec<CurvePoint> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    parse_log(&text, tasks)
}

pub fn parse_log(text: &str, tasks: &[String]) -> Vec<CurvePoint> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let step = v.get("step")?.as_u64()? as usize;
            Some(CurvePoint {
                step,
                loss: v.get("loss").and_then(Value::as_f64),
                dev_loss: v.get("dev_loss").and_then(Value::as_f64),
                dev_macro_f1: tasks
                    .iter()
                    .map(|t| {
                        v.get("dev")
                            .and_then(|d| d.get(t))
                            .and_then(|m| m.get("macro_f1"))
                            .and_then(Value::as_f64)
                    })
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_become_points_and_a_partial_line_is_skipped() {
        let log = r#"{"step":10,"loss":0.9,"dev_loss":0.8,"dev":{"stance":{"macro_f1":0.5}}}
{"step":20,"loss":0.5}
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
