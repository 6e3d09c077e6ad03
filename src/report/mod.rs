//! Evaluation reports: everything a researcher needs to publish a model's numbers honestly,
//! from one labelled file and one checkpoint.
//!
//! The pipeline is: `input` turns a file (or a training split) into rows with gold labels per
//! task, counting unknown and missing ones instead of dropping them; `build` predicts through
//! the one forward path and assembles a [`Report`] from pure functions (`calibration`,
//! `bootstrap`, `confused`) that are tested against hand-computed values; `write` renders
//! `report.json`, `report.md`, `report.html` and `predictions.csv`. `compare` and `gate` read
//! reports back for CI.
//!
//! Definitions (also in the report's `definitions` field):
//! - ECE: 15 equal-width bins over top-label confidence, `sum_b (n_b / n) |acc_b - conf_b|`.
//! - Brier: multi-class, the mean over rows of `sum_k (p_k - onehot_k)^2` (range 0 to 2).
//! - Confidence intervals: 95% percentile bootstrap over rows (resample n rows with
//!   replacement, recompute, take the 2.5th and 97.5th percentiles with linear interpolation
//!   between order statistics), seeded so that a report is reproducible.

pub mod bootstrap;
pub mod build;
pub mod calibration;
pub mod compare;
pub mod confused;
pub mod curve;
pub mod evaluate;
pub mod gate;
mod html;
pub mod input;
mod markdown;
pub mod splits;
mod svg;
mod teacher;
pub mod thresholds;
pub mod write;

use crate::checkpoint::Manifest;
use crate::eval::Metrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use build::{assemble, evaluate_rows, Evaluation, ReportSettings};
pub use input::{read_eval_file, rows_from_records, Columns, EvalInput, Gold, Row};
pub use write::{write_report, REPORT_JSON};

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSettings {
    pub resamples: usize,
    pub seed: u64,
    pub confidence: f64,
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    pub accuracy: Interval,
    pub macro_f1: Interval,
    pub weighted_f1: Interval,
    /// Per class, in label order.
    pub class_f1: Vec<Interval>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean top-label confidence in the bin (0 when empty).
    pub confidence: f64,
    /// Share of the bin's rows predicted correctly (0 when empty).
    pub accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub ece: f64,
    pub brier: f64,
    pub bins: Vec<ReliabilityBin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusedPair {
    pub gold: String,
    pub predicted: String,
    pub count: usize,
    /// Up to 5 statements, in file order.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    pub name: String,
    pub labels: Vec<String>,
    /// Rows scored for this task.
    pub evaluated: usize,
    /// Rows whose gold label cell was empty (excluded from this task's metrics).
    pub missing_gold: usize,
    /// Rows whose gold label is not one of the model's labels (excluded likewise).
    pub unknown_gold: usize,
    pub metrics: Metrics,
    pub intervals: Intervals,
    pub most_confused: Vec<ConfusedPair>,
    pub calibration: Calibration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceTask {
    pub task: String,
    pub evaluated: usize,
    pub missing_gold: usize,
    pub unknown_gold: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// The column's value; `(missing)` for an empty cell.
    pub value: String,
    pub rows: usize,
    pub tasks: Vec<SliceTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatedData {
    pub path: String,
    pub sha256: String,
    /// `dev` or `test` for the reports written at the end of training.
    pub split: Option<String>,
    pub rows: usize,
    /// Rows with an empty text: not predicted, excluded from every task.
    pub empty_text: usize,
    pub text_column: String,
    pub label_columns: Vec<String>,
}

/// One step of the training log, for learning curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    pub loss: Option<f64>,
    pub dev_loss: Option<f64>,
    /// Dev macro-F1 per task, in task order.
    pub dev_macro_f1: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub stancekit_version: String,
    pub model: String,
    pub manifest: Manifest,
    pub data: EvaluatedData,
    pub bootstrap: BootstrapSettings,
    pub definitions: Vec<String>,
    pub tasks: Vec<TaskReport>,
    pub slice_by: Option<String>,
    pub slices: Vec<Slice>,
    pub training_curve: Vec<CurvePoint>,
    /// `train --learning-curve`: the run's points (dev macro-F1 against training labels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learning_curve: Vec<crate::train::learning::LearningPoint>,
    /// Before/after figures for tasks with stored per-class thresholds (absent with
    /// `--thresholds none` and in reports written before thresholds existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<thresholds::ThresholdReport>,
    /// A distilled student's agreement with its teacher on these rows, per task (the reports
    /// training writes; `evaluate` has no teacher to compare with).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teacher_agreement: BTreeMap<String, crate::distill::Agreement>,
    /// `evaluate --quantize int8`: the scores are the int8 model's, not the trained one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantized: Option<crate::model::int8::Quantize>,
}

/// "1 row", "2 rows".
pub(crate) fn rows(n: usize) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

pub fn definitions() -> Vec<String> {
    [
        "ece: expected calibration error over 15 equal-width bins of top-label confidence, sum over bins of (bin rows / rows) * |bin accuracy - bin mean confidence|",
        "brier: multi-class Brier score, mean over rows of the sum over labels of (probability - one-hot gold)^2; 0 is perfect, 2 is worst",
        "intervals: 95% percentile bootstrap over rows (rows resampled with replacement; 2.5th and 97.5th percentiles, linear interpolation between order statistics)",
        "macro averages run over the classes present in gold or predictions; undefined precision or recall counts as 0",
        "rows with missing or unknown gold labels are excluded from that task's metrics and counted",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
