//! Quality gates (`--fail-below metric=value`): CI fails a build when a model's figure drops
//! below a bar. A bar without a task applies to every task.

use super::Report;
use crate::error::{Error, Result};
use serde::Serialize;

/// Metrics a bar can name: higher is better for all of them.
pub const GATED: [&str; 8] = [
    "accuracy",
    "macro_f1",
    "micro_f1",
    "weighted_f1",
    "macro_precision",
    "macro_recall",
    "weighted_precision",
    "weighted_recall",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub task: Option<String>,
    pub metric: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateFailure {
    pub task: String,
    pub metric: String,
    pub value: f64,
    pub bar: f64,
}

/// Parse `macro_f1=0.8` or `stance.macro_f1=0.8`.
pub fn parse_bar(spec: &str) -> Result<Bar> {
    let bad = |why: String| Error::Input(format!("--fail-below {spec}: {why}"));
    let (name, value) = spec.split_once('=').ok_or_else(|| {
        bad("expected METRIC=VALUE, e.g. macro_f1=0.80 or stance.macro_f1=0.8".into())
    })?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| bad(format!("`{value}` is not a number")))?;
    // A NaN bar never compares below anything, and an infinite one always or never fails.
    if !value.is_finite() {
        return Err(bad(format!(
            "`{value}` is not a finite number; give a bar such as 0.8"
        )));
    }
    let (task, metric) = match name.rsplit_once('.') {
        Some((t, m)) => (Some(t.to_string()), m.to_string()),
        None => (None, name.to_string()),
    };
    if !GATED.contains(&metric.as_str()) {
        return Err(bad(format!(
            "unknown metric `{metric}` (expected one of {})",
            GATED.join(", ")
        )));
    }
    Ok(Bar {
        task,
        metric,
        value,
    })
}

fn metric(m: &crate::eval::Metrics, name: &str) -> Option<f64> {
    match name {
        "macro_precision" => Some(m.macro_precision),
        "macro_recall" => Some(m.macro_recall),
        "weighted_precision" => Some(m.weighted_precision),
        "weighted_recall" => Some(m.weighted_recall),
        other => m.get(other),
    }
}

/// The figures below their bars; an unknown task is an input error.
pub fn check(report: &Report, bars: &[Bar]) -> Result<Vec<GateFailure>> {
    let mut failures = Vec::new();
    for bar in bars {
        if let Some(t) = &bar.task {
            if !report.tasks.iter().any(|r| &r.name == t) {
                let names: Vec<&str> = report.tasks.iter().map(|r| r.name.as_str()).collect();
                return Err(Error::Input(format!(
                    "--fail-below {t}.{}: the report has no task `{t}` (tasks: {})",
                    bar.metric,
                    names.join(", ")
                )));
            }
        }
        for task in &report.tasks {
            if bar.task.as_ref().is_some_and(|t| t != &task.name) {
                continue;
            }
            let value = metric(&task.metrics, &bar.metric).unwrap_or(0.0);
            // A NaN figure (nothing evaluated) fails the bar rather than slipping past it.
            if value.is_nan() || value < bar.value {
                failures.push(GateFailure {
                    task: task.name.clone(),
                    metric: bar.metric.clone(),
                    value,
                    bar: bar.value,
                });
            }
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_parse_with_and_without_a_task() {
        assert_eq!(
            parse_bar("stance.macro_f1=0.8").unwrap(),
            Bar {
                task: Some("stance".into()),
                metric: "macro_f1".into(),
                value: 0.8
            }
        );
        assert_eq!(parse_bar("accuracy=0.75").unwrap().task, None);
        assert!(parse_bar("macro_f1").is_err());
        assert!(parse_bar("ece=0.1").is_err());
        assert!(parse_bar("accuracy=high").is_err());
    }
}
