//! Turning one raw record into a [`Row`] or a [`BadRow`] that says why it was refused and
//! names its line: ragged rows, blank lines in a file of several columns, invalid UTF-8,
//! quotes left open or closed in the middle of a field, lines that are not JSON objects.

use super::cell::Cell;
use super::cell::{BadRow, Record, Row};
use super::delimited::RawRecord;
use crate::error::Error;
use std::path::Path;

pub fn malformed(path: &Path, line: u64, reason: String, raw: String) -> BadRow {
    BadRow {
        line,
        error: Box::new(Error::Malformed {
            path: path.to_path_buf(),
            line,
            message: reason.clone(),
        }),
        reason,
        raw,
    }
}

/// Parse one JSON line into (key, value) pairs in the order written.
pub fn parse_object(
    path: &Path,
    line: u64,
    text: &str,
) -> std::result::Result<Vec<(String, Cell)>, BadRow> {
    match serde_json::from_str::<super::cell::OrderedObject>(text) {
        Ok(obj) => Ok(obj.0),
        Err(e) => Err(malformed(
            path,
            line,
            format!("expected one JSON object per line: {e}"),
            text.to_string(),
        )),
    }
}

/// A delimited record as a row of `width` text cells, or why it is not one. An empty field
/// is an empty text, never a null: csv cannot tell them apart, and the value must come out
/// as it went in.
pub fn delimited_record(path: &Path, rec: &RawRecord, width: usize) -> Record {
    let line = rec.line;
    let raw = || String::from_utf8_lossy(&rec.raw).into_owned();
    if let Some(p) = &rec.problem {
        return Err(malformed(path, line, p.reason(), raw()));
    }
    if rec.blank && width > 1 {
        let error = Box::new(Error::BlankLine {
            path: path.to_path_buf(),
            line,
            columns: width,
        });
        return Err(BadRow {
            line,
            reason: format!("blank line in a file of {width} columns"),
            raw: String::new(),
            error,
        });
    }
    if rec.len() != width {
        let error = Box::new(Error::RaggedRow {
            path: path.to_path_buf(),
            line,
            expected: width,
            found: rec.len(),
        });
        return Err(BadRow {
            line,
            reason: format!("expected {width} fields, found {}", rec.len()),
            raw: raw(),
            error,
        });
    }
    let mut cells = Vec::with_capacity(width);
    for field in rec.fields() {
        match std::str::from_utf8(field) {
            Ok(s) => cells.push(Cell::Text(s.to_string())),
            Err(_) => {
                return Err(BadRow {
                    line,
                    reason: "invalid UTF-8".into(),
                    raw: raw(),
                    error: Box::new(Error::InvalidUtf8 {
                        path: path.to_path_buf(),
                        line,
                    }),
                })
            }
        }
    }
    Ok(Row { line, cells })
}
