//! Assembling a report: predict once through the shared forward path, then compute every
//! figure from (gold, predicted, probabilities) with pure functions.

use super::input::{EvalInput, Gold, Row};
use super::{
    bootstrap, calibration, confused, curve, definitions, BootstrapSettings, EvaluatedData, Report,
    Slice, SliceTask, TaskReport,
};
use crate::checkpoint::{sha256_file, LoadedModel, TaskLabels};
use crate::error::Result;
use crate::eval::{Metrics, Predictions};
use std::collections::BTreeMap;

const BATCH: usize = 256;
const CONFUSED_PAIRS: usize = 10;
pub const MISSING_SLICE: &str = "(missing)";

#[derive(Debug, Clone)]
pub struct ReportSettings {
    pub resamples: usize,
    pub seed: u64,
    pub slice_by: Option<String>,
    /// Report the checkpoint's stored per-class thresholds (before/after); false for
    /// `--thresholds none`.
    pub thresholds: bool,
}

/// A report with the per-row predictions behind it (for `predictions.csv`).
pub struct Evaluation {
    pub report: Report,
    pub input: EvalInput,
    /// Probabilities for the rows that have a text, in row order.
    pub probs: Predictions,
    /// For every input row, its index in `probs` (`None` for an empty text).
    pub scored: Vec<Option<usize>>,
}

/// Predict `input` with `model` and build the full report.
pub fn evaluate_rows(
    model: &LoadedModel,
    input: EvalInput,
    settings: &ReportSettings,
) -> Result<Evaluation> {
    let mut scored = Vec::with_capacity(input.rows.len());
    let mut texts: Vec<&str> = Vec::new();
    for r in &input.rows {
        scored.push(r.text.as_deref().map(|t| {
            texts.push(t);
            texts.len() - 1
        }));
    }
    let mut probs = model.predict(&texts, BATCH)?.probs;
    // No rows to predict gives no task vectors at all; keep indexing uniform.
    probs.probs.resize(model.tasks.len(), Vec::new());
    let (tasks, slices) = assemble(&model.tasks, &input.rows, &scored, &probs, settings);
    let names: Vec<String> = model.tasks.iter().map(|t| t.name.clone()).collect();
    let training_curve = model
        .dir
        .parent()
        .map(|run| curve::read_log(&run.join(crate::layout::LOG_FILE), &names))
        .unwrap_or_default();
    let report = Report {
        stancekit_version: env!("CARGO_PKG_VERSION").to_string(),
        model: model.dir.display().to_string(),
        manifest: model.manifest.clone(),
        data: EvaluatedData {
            path: input.path.display().to_string(),
            sha256: sha256_file(&input.path)?,
            split: input.split.clone(),
            rows: input.rows.len(),
            empty_text: scored.iter().filter(|s| s.is_none()).count(),
            text_column: input.text_column.clone(),
            label_columns: input.label_columns.clone(),
        },
        bootstrap: BootstrapSettings {
            resamples: settings.resamples,
            seed: settings.seed,
            confidence: 0.95,
            method: "percentile".to_string(),
        },
        definitions: definitions(),
        tasks,
        slice_by: settings.slice_by.clone(),
        slices,
        training_curve,
        learning_curve: model
            .dir
            .parent()
            .map(crate::train::learning::read_curve)
            .unwrap_or_default(),
        thresholds: match settings.thresholds {
            true => super::thresholds::reports(&model.tasks, &input.rows, &scored, &probs),
            false => Vec::new(),
        },
        teacher_agreement: Default::default(),
        quantized: model.quantized,
    };
    Ok(Evaluation {
        report,
        input,
        probs,
        scored,
    })
}

/// Gold, predicted and counts for task `t` over `rows` (indices into `all`).
struct TaskRows<'a> {
    idx: Vec<usize>,
    gold: Vec<u32>,
    pred: Vec<u32>,
    probs: Vec<&'a [f32]>,
    missing: usize,
    unknown: usize,
}

fn task_rows<'a>(
    t: usize,
    rows: &[Row],
    which: &[usize],
    scored: &[Option<usize>],
    probs: &'a Predictions,
) -> TaskRows<'a> {
    let mut out = TaskRows {
        idx: Vec::new(),
        gold: Vec::new(),
        pred: Vec::new(),
        probs: Vec::new(),
        missing: 0,
        unknown: 0,
    };
    for &i in which {
        let Some(s) = scored[i] else { continue };
        match &rows[i].gold[t] {
            Gold::Label(g) => {
                let p = probs.probs[t][s].as_slice();
                out.idx.push(i);
                out.gold.push(*g);
                out.pred.push(crate::eval::predict::argmax(p));
                out.probs.push(p);
            }
            Gold::Missing => out.missing += 1,
            Gold::Unknown(_) => out.unknown += 1,
        }
    }
    out
}

/// Every figure of the report from rows, their predictions and the settings.
pub fn assemble(
    tasks: &[TaskLabels],
    rows: &[Row],
    scored: &[Option<usize>],
    probs: &Predictions,
    settings: &ReportSettings,
) -> (Vec<TaskReport>, Vec<Slice>) {
    let all: Vec<usize> = (0..rows.len()).collect();
    let reports = tasks
        .iter()
        .enumerate()
        .map(|(t, task)| {
            let tr = task_rows(t, rows, &all, scored, probs);
            let texts: Vec<&str> = tr
                .idx
                .iter()
                .map(|&i| rows[i].text.as_deref().unwrap_or(""))
                .collect();
            TaskReport {
                name: task.name.clone(),
                labels: task.labels.clone(),
                evaluated: tr.gold.len(),
                missing_gold: tr.missing,
                unknown_gold: tr.unknown,
                metrics: Metrics::compute(&task.labels, &tr.gold, &tr.pred),
                intervals: bootstrap::intervals(
                    &task.labels,
                    &tr.gold,
                    &tr.pred,
                    settings.resamples,
                    settings.seed,
                    0.95,
                ),
                most_confused: confused::most_confused(
                    &task.labels,
                    &texts,
                    &tr.gold,
                    &tr.pred,
                    CONFUSED_PAIRS,
                ),
                calibration: calibration::calibration(&tr.probs, &tr.gold, &tr.pred),
            }
        })
        .collect();
    let slices = if settings.slice_by.is_some() {
        slices(tasks, rows, scored, probs)
    } else {
        Vec::new()
    };
    (reports, slices)
}

fn slices(
    tasks: &[TaskLabels],
    rows: &[Row],
    scored: &[Option<usize>],
    probs: &Predictions,
) -> Vec<Slice> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let key = r
            .slice
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| MISSING_SLICE.to_string());
        groups.entry(key).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(value, which)| Slice {
            value,
            rows: which.len(),
            tasks: tasks
                .iter()
                .enumerate()
                .map(|(t, task)| {
                    let tr = task_rows(t, rows, &which, scored, probs);
                    let m = Metrics::compute(&task.labels, &tr.gold, &tr.pred);
                    SliceTask {
                        task: task.name.clone(),
                        evaluated: m.n,
                        missing_gold: tr.missing,
                        unknown_gold: tr.unknown,
                        accuracy: m.accuracy,
                        macro_f1: m.macro_f1,
                        weighted_f1: m.weighted_f1,
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: Option<&str>, gold: Gold, slice: Option<&str>) -> Row {
        Row {
            id: String::new(),
            text: text.map(str::to_string),
            gold: vec![gold],
            slice: slice.map(str::to_string),
        }
    }

    fn setup() -> (Vec<TaskLabels>, Vec<Row>, Vec<Option<usize>>, Predictions) {
        let tasks = vec![TaskLabels {
            name: "stance".into(),
            labels: vec!["a".into(), "b".into()],
            thresholds: None,
        }];
        let rows = vec![
            row(Some("one"), Gold::Label(0), Some("x")), // predicted a: right
            row(Some("two"), Gold::Label(1), Some("x")), // predicted a: wrong
            row(Some("three"), Gold::Missing, Some("y")),
            row(Some("four"), Gold::Unknown("zz".into()), None),
            row(None, Gold::Label(0), Some("y")), // empty text: not predicted
            row(Some("six"), Gold::Label(1), Some("y")), // predicted b: right
        ];
        let scored = vec![Some(0), Some(1), Some(2), Some(3), None, Some(4)];
        let probs = Predictions {
            probs: vec![vec![
                vec![0.9, 0.1],
                vec![0.7, 0.3],
                vec![0.5, 0.5],
                vec![0.2, 0.8],
                vec![0.4, 0.6],
            ]],
        };
        (tasks, rows, scored, probs)
    }

    fn settings(slice: bool) -> ReportSettings {
        ReportSettings {
            thresholds: true,
            resamples: 50,
            seed: 0,
            slice_by: slice.then(|| "source".to_string()),
        }
    }

    #[test]
    fn missing_and_unknown_gold_are_counted_and_excluded() {
        let (tasks, rows, scored, probs) = setup();
        let (reports, slices) = assemble(&tasks, &rows, &scored, &probs, &settings(false));
        let r = &reports[0];
        assert_eq!((r.evaluated, r.missing_gold, r.unknown_gold), (3, 1, 1));
        assert_eq!(r.metrics.n, 3);
        assert!((r.metrics.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.metrics.confusion, vec![vec![1, 0], vec![1, 1]]);
        assert_eq!(r.most_confused[0].examples, vec!["two"]);
        assert_eq!(r.calibration.bins.iter().map(|b| b.count).sum::<usize>(), 3);
        assert!(slices.is_empty());
    }

    #[test]
    fn slices_give_metrics_per_value_with_missing_values_grouped() {
        let (tasks, rows, scored, probs) = setup();
        let (_, slices) = assemble(&tasks, &rows, &scored, &probs, &settings(true));
        let values: Vec<&str> = slices.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(values, vec![MISSING_SLICE, "x", "y"]);
        let missing = &slices[0].tasks[0];
        assert_eq!(
            (slices[0].rows, missing.evaluated, missing.unknown_gold),
            (1, 0, 1)
        );
        let x = &slices[1].tasks[0];
        assert_eq!((x.evaluated, x.accuracy), (2, 0.5));
        let y = &slices[2].tasks[0];
        // Rows three (missing gold), empty text, and six (right).
        assert_eq!(
            (slices[2].rows, y.evaluated, y.missing_gold, y.accuracy),
            (3, 1, 1, 1.0)
        );
    }
}
