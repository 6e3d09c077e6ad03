//! Turning one raw record into a [`Row`] or a [`BadRow`] that says why it was refused and
//! names its line: ragged rows, invalid UTF-8, unclosed quotes, lines that are not JSON
//! objects.

use super::cell::Cell;
use super::input::{BadRow, Record, Row};
use super::raw::ends_in_open_quote;
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

pub fn delimited_record(
    path: &Path,
    record: &csv::ByteRecord,
    bytes: &[u8],
    sep: u8,
    width: usize,
) -> Record {
    let line = record.position().map_or(0, |p| p.line());
    let raw = || {
        String::from_utf8_lossy(bytes)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    };
    if ends_in_open_quote(bytes, sep) {
        let reason = "a quote opened here is never closed; it runs to the end of the file";
        return Err(BadRow {
            line,
            reason: reason.into(),
            raw: raw(),
            error: Box::new(Error::Malformed {
                path: path.to_path_buf(),
                line,
                message: reason.into(),
            }),
        });
    }
    if record.len() != width {
        let error = Box::new(Error::RaggedRow {
            path: path.to_path_buf(),
            line,
            expected: width,
            found: record.len(),
        });
        return Err(BadRow {
            line,
            reason: format!("expected {width} fields, found {}", record.len()),
            raw: raw(),
            error,
        });
    }
    let mut cells = Vec::with_capacity(width);
    for field in record {
        match std::str::from_utf8(field) {
            Ok("") => cells.push(Cell::Null),
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

pub fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::io(path, source),
        csv::ErrorKind::Utf8 { .. } => Error::InvalidUtf8 {
            path: path.to_path_buf(),
            line,
        },
        other => Error::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}
