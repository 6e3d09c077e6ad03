//! `stancekit evaluate` as a library call: load a checkpoint, read a labelled file with its
//! columns, build the report and write the report folder.

use super::build::{evaluate_rows, Evaluation, ReportSettings};
use super::input::{parse_label_columns, read_eval_file, Columns};
use super::write::{write_report, REPORT_FILES};
use crate::checkpoint;
use crate::error::Result;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct EvaluateRequest {
    pub model: PathBuf,
    pub data: PathBuf,
    pub out: PathBuf,
    pub text_column: Option<String>,
    /// `task=column` overrides, as typed.
    pub label_columns: Vec<String>,
    pub read: crate::table::TableFlags,
    pub slice_by: Option<String>,
    pub resamples: usize,
    pub seed: u64,
    /// Report the stored per-class thresholds (`--thresholds stored`).
    pub thresholds: bool,
    /// `--quantize int8`: run the encoder in int8.
    pub quantize: Option<crate::model::int8::Quantize>,
}

/// Run an evaluation and write its four files; returns the evaluation and the files.
pub fn evaluate_file(req: &EvaluateRequest) -> Result<(Evaluation, Vec<PathBuf>)> {
    let mut model = checkpoint::load(&req.model, &candle_core::Device::Cpu)?;
    if req.quantize.is_some() {
        model.quantize_int8()?;
    }
    let protected = model.protected().file(&req.data);
    for f in REPORT_FILES {
        protected.check("--out", &req.out.join(f))?;
    }
    let columns = Columns {
        text: req.text_column.clone(),
        labels: parse_label_columns(&model.config, &req.label_columns)?,
        read: req.read,
        slice_by: req.slice_by.clone(),
    };
    let input = read_eval_file(&model.config, &req.data, &columns)?;
    let settings = ReportSettings {
        thresholds: req.thresholds,
        resamples: req.resamples,
        seed: req.seed,
        slice_by: req.slice_by.clone(),
    };
    let ev = evaluate_rows(&model, input, &settings)?;
    let files = write_report(&req.out, &ev)?;
    Ok((ev, files))
}

/// The evaluation summary for a terminal: one line per task, then the files written.
pub fn render_summary(report: &super::Report, files: &[PathBuf]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "evaluated {} rows of {} ({} with an empty text); 95% CIs from {} bootstrap resamples (seed {})",
        report.data.rows,
        report.data.path,
        report.data.empty_text,
        report.bootstrap.resamples,
        report.bootstrap.seed
    );
    for t in &report.tasks {
        let (m, i) = (&t.metrics, &t.intervals);
        let _ = writeln!(
            s,
            "{:<12} n {:>5}  accuracy {:.4} [{:.4}, {:.4}]  macro-F1 {:.4} [{:.4}, {:.4}]  ECE {:.4}  ({} missing, {} unknown gold)",
            t.name, t.evaluated, m.accuracy, i.accuracy.low, i.accuracy.high, m.macro_f1,
            i.macro_f1.low, i.macro_f1.high, t.calibration.ece, t.missing_gold, t.unknown_gold
        );
    }
    s.push_str(&super::thresholds::summary_lines(&report.thresholds));
    for f in files {
        let _ = writeln!(s, "wrote {}", f.display());
    }
    s
}
