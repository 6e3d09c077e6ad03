//! Writing the selected rows: as CSV with the model's predictions as pre-annotations, or as
//! import files for the annotation tools our users run (Label Studio, Prodigy, Argilla).

use super::Selected;
use crate::error::Result;
use serde_json::{json, Value};
use std::path::Path;

/// `--to`: the output's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Export {
    /// Every pool column, then per task `pred_<task>` (label), `pred_<task>_score` and
    /// `pred_<task>_margin`, and `select_rank` / `select_score`.
    Csv,
    /// A JSON array of Label Studio tasks, predictions as `choices` results.
    LabelStudio,
    /// Prodigy JSONL: `text`, `meta`, and the predicted labels in `accept`.
    Prodigy,
    /// Argilla records (JSON array): `fields.text`, `suggestions` per task, `metadata`.
    Argilla,
}

pub fn write(
    path: &Path,
    to: Export,
    rows: &[Selected],
    columns: &[String],
    tasks: &[&str],
) -> Result<()> {
    match to {
        Export::Csv => write_csv(path, rows, columns, tasks),
        Export::LabelStudio => {
            let tasks: Vec<Value> = rows.iter().map(label_studio).collect();
            json_file(path, &Value::Array(tasks))
        }
        Export::Argilla => {
            let records: Vec<Value> = rows.iter().map(argilla).collect();
            json_file(path, &Value::Array(records))
        }
        Export::Prodigy => crate::io::write_atomic_with(path, |w| {
            for r in rows {
                writeln!(w, "{}", prodigy(r))?;
            }
            Ok(())
        }),
    }
}

fn json_file(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_vec_pretty(v).map_err(|e| crate::Error::Input(e.to_string()))?;
    crate::io::write_atomic(path, &text)
}

/// The columns the CSV output adds after the pool's: per task the predicted label, its
/// probability and the margin, then the rank and the strategy's score.
pub fn added_columns(tasks: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tasks {
        out.extend([
            format!("pred_{t}"),
            format!("pred_{t}_score"),
            format!("pred_{t}_margin"),
        ]);
    }
    out.extend(["select_rank".to_string(), "select_score".to_string()]);
    out
}

fn write_csv(path: &Path, rows: &[Selected], columns: &[String], tasks: &[&str]) -> Result<()> {
    let mut header: Vec<String> = columns.to_vec();
    header.extend(added_columns(tasks));
    crate::io::write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        for r in rows {
            let mut rec: Vec<String> = r
                .cells
                .iter()
                .map(|c| c.clone().unwrap_or_default())
                .collect();
            for p in &r.predictions {
                rec.extend([
                    p.label.clone(),
                    format!("{:.6}", p.score),
                    format!("{:.6}", p.margin),
                ]);
            }
            rec.extend([r.rank.to_string(), format!("{:.6}", r.score)]);
            out.write_record(&rec)?;
        }
        out.flush()
    })
}

fn meta(r: &Selected) -> Value {
    json!({"id": r.id, "select_rank": r.rank, "select_score": r.score})
}

fn label_studio(r: &Selected) -> Value {
    let result: Vec<Value> = r
        .predictions
        .iter()
        .map(|p| {
            json!({"from_name": p.task, "to_name": "text", "type": "choices",
                   "value": {"choices": [p.label]}, "score": p.score})
        })
        .collect();
    json!({"data": {"text": r.text, "id": r.id},
           "predictions": [{"model_version": "stancekit", "result": result}],
           "meta": meta(r)})
}

fn prodigy(r: &Selected) -> Value {
    let accept: Vec<&str> = r.predictions.iter().map(|p| p.label.as_str()).collect();
    let mut m = meta(r);
    for p in &r.predictions {
        m[format!("{}_score", p.task)] = json!(p.score);
    }
    json!({"text": r.text, "accept": accept, "meta": m})
}

fn argilla(r: &Selected) -> Value {
    let suggestions: Vec<Value> = r
        .predictions
        .iter()
        .map(|p| json!({"question_name": p.task, "value": p.label, "score": p.score, "agent": "stancekit"}))
        .collect();
    json!({"id": r.id, "fields": {"text": r.text}, "suggestions": suggestions, "metadata": meta(r)})
}
