//! Writing a report folder: `report.json`, `report.md`, `report.html` and `predictions.csv`,
//! each atomically so a crash never leaves a half-written report behind.

use super::build::Evaluation;
use super::input::Gold;
use super::{html, markdown, TaskReport};
use crate::error::{Error, Result};
use crate::eval::thresholds::{decide, ABSTAIN};
use crate::io::{write_atomic, write_atomic_with};
use std::path::{Path, PathBuf};

pub const REPORT_JSON: &str = "report.json";
pub const REPORT_MD: &str = "report.md";
pub const REPORT_HTML: &str = "report.html";
pub const PREDICTIONS_CSV: &str = "predictions.csv";
/// Every file a report folder holds.
pub const REPORT_FILES: [&str; 4] = [REPORT_JSON, REPORT_MD, REPORT_HTML, PREDICTIONS_CSV];

/// Write the four files into `dir` (created); returns their paths.
pub fn write_report(dir: &Path, ev: &Evaluation) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_vec_pretty(&ev.report).map_err(|e| Error::Input(e.to_string()))?;
    let paths: Vec<PathBuf> = REPORT_FILES.iter().map(|f| dir.join(f)).collect();
    write_atomic(&paths[0], &json)?;
    write_atomic(&paths[1], markdown::render(&ev.report).as_bytes())?;
    write_atomic(&paths[2], html::render(&ev.report).as_bytes())?;
    write_predictions(&paths[3], ev)?;
    Ok(paths)
}

/// The thresholds this report applied to `task`, if any.
fn thresholds(ev: &Evaluation, task: &TaskReport) -> Option<Vec<f32>> {
    let r = ev.report.thresholds.iter().find(|r| r.task == task.name)?;
    task.labels
        .iter()
        .map(|l| r.values.get(l).copied())
        .collect()
}

fn thresholded(ev: &Evaluation, task: &TaskReport) -> bool {
    thresholds(ev, task).is_some()
}

/// One row per input row: id, text, then per task gold, predicted (and thresholded when the
/// model has thresholds) and a probability per label.
fn write_predictions(path: &Path, ev: &Evaluation) -> Result<()> {
    let tasks = &ev.report.tasks;
    let mut header = vec!["id".to_string(), "text".to_string()];
    for t in tasks {
        header.push(format!("{}_gold", t.name));
        header.push(format!("{}_pred", t.name));
        if thresholded(ev, t) {
            header.push(format!("{}_pred_thresholded", t.name));
        }
        header.extend(t.labels.iter().map(|l| format!("{}_p_{l}", t.name)));
    }
    write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        for (row, scored) in ev.input.rows.iter().zip(&ev.scored) {
            let mut rec = vec![row.id.clone(), row.text.clone().unwrap_or_default()];
            for (t, task) in tasks.iter().enumerate() {
                rec.push(match &row.gold[t] {
                    Gold::Label(g) => task.labels[*g as usize].clone(),
                    Gold::Missing => String::new(),
                    Gold::Unknown(raw) => raw.clone(),
                });
                match scored.map(|s| &ev.probs.probs[t][s]) {
                    Some(p) => {
                        let best = crate::eval::predict::argmax(p) as usize;
                        rec.push(task.labels[best].clone());
                        if let Some(th) = thresholds(ev, task) {
                            rec.push(match decide(p, &th) {
                                Some(i) => task.labels[i as usize].clone(),
                                None => ABSTAIN.to_string(),
                            });
                        }
                        rec.extend(p.iter().map(|v| format!("{v:.6}")));
                    }
                    None => {
                        let n = 1 + usize::from(thresholded(ev, task)) + task.labels.len();
                        rec.extend(std::iter::repeat_n(String::new(), n))
                    }
                }
            }
            out.write_record(&rec)?;
        }
        out.flush()?;
        Ok(())
    })
}
