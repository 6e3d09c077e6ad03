//! The reports training writes for its own dev and test splits (`report-dev/`, `report-test/`
//! in the run folder), from the best checkpoint, through the same path as `evaluate`.

use super::build::{evaluate_rows, ReportSettings};
use super::input::rows_from_records;
use super::write::write_report;
use crate::checkpoint::LoadedModel;
use crate::config::ValidConfig;
use crate::data::{load_corpus, Part};
use crate::distill::Agreement;
use crate::error::Result;
use crate::train::TrainSummary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default bootstrap for reports written without a command line.
pub const DEFAULT_RESAMPLES: usize = 1000;

/// Write the dev and test reports of a finished training run, from its `model-best`, and
/// record their folders in `summary`. Training leaves this to its caller, so the trainer does
/// not depend on reports.
pub fn write_run_reports(summary: &mut TrainSummary) -> Result<()> {
    let Some(cfg) = &summary.config else {
        return Ok(());
    };
    if summary.dev.is_empty() && summary.test.is_empty() {
        return Ok(()); // no held-out split to report on
    }
    let best = crate::checkpoint::load(
        &summary.run_dir.join("model-best"),
        &candle_core::Device::Cpu,
    )?;
    let agreement = summary.teacher_agreement.clone();
    summary.reports = write_split_reports(cfg, &summary.run_dir, &best, &agreement)?;
    Ok(())
}

/// Write `report-dev/` and `report-test/` under `run_dir` for the splits that have rows, with
/// the already loaded best `model` (and, for a distilled student, its agreement with the
/// teacher per split and task); returns the folders written.
pub fn write_split_reports(
    cfg: &ValidConfig,
    run_dir: &Path,
    model: &LoadedModel,
    agreement: &BTreeMap<String, BTreeMap<String, Agreement>>,
) -> Result<Vec<PathBuf>> {
    let corpus = load_corpus(cfg)?;
    let settings = ReportSettings {
        thresholds: true,
        resamples: DEFAULT_RESAMPLES,
        seed: 0,
        slice_by: (!cfg.sources.is_empty()).then(|| "source".to_string()),
    };
    let mut written = Vec::new();
    for (part, name) in [(Part::Dev, "dev"), (Part::Test, "test")] {
        let Some(split) = corpus.split(part) else {
            continue;
        };
        let Some(first) = split.records.first() else {
            continue;
        };
        let input = rows_from_records(cfg, &split.records, corpus.file(first), name);
        let mut ev = evaluate_rows(model, input, &settings)?;
        ev.report.teacher_agreement = agreement.get(name).cloned().unwrap_or_default();
        let dir = run_dir.join(format!("report-{name}"));
        write_report(&dir, &ev)?;
        written.push(dir);
    }
    Ok(written)
}
