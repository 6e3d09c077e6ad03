//! One reader per annotation tool: each turns that tool's export records into answers
//! (item, text, annotator, task -> label), skipping what carries no label with a reason.
//! The shapes read are the tools' documented JSON exports (see `data import --help`).

use super::{Answer, Found, TaskArg};
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn missing(path: &Path, line: u64, field: &str, message: &str) -> Error {
    Error::BadValue {
        path: path.to_path_buf(),
        line,
        column: field.to_string(),
        message: message.to_string(),
    }
}

/// A string or a number as text (ids and user ids come as either).
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `obj.text`, or the only string field of `obj`.
fn text_field(obj: Option<&Value>) -> Option<String> {
    let obj = obj?.as_object()?;
    if let Some(Value::String(s)) = obj.get("text") {
        return Some(s.clone());
    }
    let strings: Vec<&str> = obj.values().filter_map(Value::as_str).collect();
    match strings.as_slice() {
        [only] => Some(only.to_string()),
        _ => None,
    }
}

fn wanted(tasks: &[TaskArg], name: &str) -> bool {
    tasks.is_empty() || tasks.iter().any(|t| t.name == name)
}

/// Label Studio's JSON export: a list of tasks, each with `data` and `annotations`, whose
/// `result` holds `choices` per control (`from_name` is the task).
pub(super) fn label_studio(
    path: &Path,
    records: &[(u64, Value)],
    tasks: &[TaskArg],
) -> Result<Found> {
    let mut found = Found::default();
    for (line, rec) in records {
        let text = text_field(rec.get("data"))
            .ok_or_else(|| missing(path, *line, "data.text", "no text in the task's data"))?;
        let item = scalar(rec.pointer("/data/id"))
            .or_else(|| scalar(rec.get("id")))
            .ok_or_else(|| missing(path, *line, "id", "the task has no id"))?;
        let annotations = rec
            .get("annotations")
            .or_else(|| rec.get("completions"))
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty());
        let Some(annotations) = annotations else {
            found.skip("task without annotations");
            continue;
        };
        for ann in annotations {
            if ann.get("was_cancelled").and_then(Value::as_bool) == Some(true) {
                found.skip("annotation cancelled (skipped in Label Studio)");
                continue;
            }
            let by = ann.get("completed_by");
            let annotator = scalar(by.and_then(|b| b.get("email")))
                .or_else(|| scalar(by.and_then(|b| b.get("id"))))
                .or_else(|| scalar(by))
                .unwrap_or_else(|| "unknown".into());
            let mut labels = BTreeMap::new();
            for r in ann
                .get("result")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(task), Some(choices)) = (
                    r.get("from_name").and_then(Value::as_str),
                    r.pointer("/value/choices").and_then(Value::as_array),
                ) else {
                    continue;
                };
                if !wanted(tasks, task) {
                    continue;
                }
                match choices.as_slice() {
                    [one] => {
                        if let Some(l) = scalar(Some(one)) {
                            found.task(task);
                            labels.insert(task.to_string(), l);
                        }
                    }
                    _ => found.skip("several choices for one task"),
                }
            }
            push(&mut found, *line, &item, &text, annotator, labels);
        }
    }
    Ok(found)
}

fn push(
    found: &mut Found,
    line: u64,
    item: &str,
    text: &str,
    annotator: String,
    labels: BTreeMap<String, String>,
) {
    if labels.is_empty() {
        found.skip("answer without a choice");
        return;
    }
    found.answers.push(Answer {
        line,
        item: item.to_string(),
        text: text.to_string(),
        annotator,
        labels,
    });
}

/// Prodigy's `db-out` JSONL: one answer per line with `text`, `answer`, `_annotator_id`, and
/// either `accept` (choice interfaces) or `label` (binary interfaces).
pub(super) fn prodigy(path: &Path, records: &[(u64, Value)], tasks: &[TaskArg]) -> Result<Found> {
    let mut found = Found::default();
    let default_task = [TaskArg {
        name: "label".into(),
        labels: Vec::new(),
    }];
    let tasks = if tasks.is_empty() {
        &default_task[..]
    } else {
        tasks
    };
    if tasks.len() > 1 && tasks.iter().any(|t| t.labels.is_empty()) {
        return Err(Error::Input(
            "prodigy: with several --task columns, give each its labels (--task NAME=A,B,C) so \
             each accepted option can be routed to its task"
                .into(),
        ));
    }
    for (line, rec) in records {
        let text = scalar(rec.get("text"))
            .ok_or_else(|| missing(path, *line, "text", "no text in the answer"))?;
        let item = scalar(rec.pointer("/meta/id"))
            .or_else(|| scalar(rec.get("_input_hash")))
            .ok_or_else(|| missing(path, *line, "meta.id", "no meta.id or _input_hash"))?;
        let annotator = scalar(rec.get("_annotator_id"))
            .or_else(|| scalar(rec.get("_session_id")))
            .unwrap_or_else(|| "unknown".into());
        let answer = rec
            .get("answer")
            .and_then(Value::as_str)
            .unwrap_or("accept");
        let binary = rec.get("label").and_then(Value::as_str);
        match (answer, binary) {
            ("ignore", _) => {
                found.skip("answer ignored");
                continue;
            }
            ("reject", Some(_)) => {
                found.skip("binary suggestion rejected (names no class)");
                continue;
            }
            ("reject", None) => {
                found.skip("answer rejected");
                continue;
            }
            _ => {}
        }
        let chosen: Vec<String> = match (rec.get("accept").and_then(Value::as_array), binary) {
            (Some(a), _) => a.iter().filter_map(|v| scalar(Some(v))).collect(),
            (None, Some(l)) => vec![l.to_string()],
            (None, None) => Vec::new(),
        };
        let mut labels: BTreeMap<String, String> = BTreeMap::new();
        let mut several = false;
        for label in chosen {
            let task = match tasks {
                [only] if only.labels.is_empty() => only,
                _ => tasks
                    .iter()
                    .find(|t| t.labels.contains(&label))
                    .ok_or_else(|| {
                        missing(
                            path,
                            *line,
                            "accept",
                            &format!("label `{label}` is in no --task list"),
                        )
                    })?,
            };
            found.task(&task.name);
            several |= labels.insert(task.name.clone(), label).is_some();
        }
        if several {
            found.skip("several choices for one task");
            continue;
        }
        push(&mut found, *line, &item, &text, annotator, labels);
    }
    Ok(found)
}

/// Argilla records: `fields` with the text and `responses` either per question (Argilla 2:
/// `{"stance": [{"user_id", "value", "status"}]}`) or per user (Argilla 1: `[{"user_id",
/// "values": {"stance": {"value"}}, "status"}]`).
pub(super) fn argilla(path: &Path, records: &[(u64, Value)], tasks: &[TaskArg]) -> Result<Found> {
    let mut found = Found::default();
    for (line, rec) in records {
        let text = text_field(rec.get("fields"))
            .ok_or_else(|| missing(path, *line, "fields.text", "no text in the record's fields"))?;
        let item = scalar(rec.get("external_id"))
            .or_else(|| scalar(rec.pointer("/metadata/id")))
            .or_else(|| scalar(rec.get("id")))
            .ok_or_else(|| missing(path, *line, "id", "the record has no id"))?;
        // (user, question, value, status) in the order found.
        let mut responses: Vec<(String, String, Value, String)> = Vec::new();
        match rec.get("responses") {
            Some(Value::Object(by_question)) => {
                for (q, list) in by_question {
                    for r in list.as_array().into_iter().flatten() {
                        let user = scalar(r.get("user_id")).unwrap_or_else(|| "unknown".into());
                        let status = r
                            .get("status")
                            .and_then(Value::as_str)
                            .unwrap_or("submitted");
                        let value = r.get("value").cloned().unwrap_or(Value::Null);
                        responses.push((user, q.clone(), value, status.to_string()));
                    }
                }
            }
            Some(Value::Array(by_user)) => {
                for r in by_user {
                    let user = scalar(r.get("user_id")).unwrap_or_else(|| "unknown".into());
                    let status = r
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("submitted");
                    for (q, v) in r
                        .get("values")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let value = v.get("value").cloned().unwrap_or(Value::Null);
                        responses.push((user.clone(), q.clone(), value, status.to_string()));
                    }
                }
            }
            _ => {}
        }
        if responses.is_empty() {
            found.skip("record without responses");
            continue;
        }
        let mut users: Vec<String> = Vec::new();
        let mut by_user: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (user, q, value, status) in responses {
            if status != "submitted" {
                found.skip(&format!("response {status} (not submitted)"));
                continue;
            }
            if !users.contains(&user) {
                users.push(user.clone());
            }
            let labels = by_user.entry(user).or_default();
            if !wanted(tasks, &q) {
                continue;
            }
            let label = match &value {
                Value::Array(a) if a.len() == 1 => scalar(a.first()),
                Value::Array(_) => {
                    found.skip("several choices for one task");
                    continue;
                }
                v => scalar(Some(v)),
            };
            if let Some(l) = label {
                found.task(&q);
                labels.insert(q, l);
            }
        }
        for user in users {
            let labels = by_user.remove(&user).unwrap_or_default();
            push(&mut found, *line, &item, &text, user, labels);
        }
    }
    Ok(found)
}
