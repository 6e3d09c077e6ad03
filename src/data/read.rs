//! Reading a labelled table (csv, tsv, jsonl, parquet) into string columns.
//!
//! polars does the parsing. For delimited text we first walk the file with the `csv` crate,
//! because polars pads short rows with nulls and reports bad bytes without a line number: the
//! walk turns ragged rows, unclosed quotes and invalid UTF-8 into errors that name the line, and
//! records the line on which each row starts so later errors can name it too.

use crate::config::FileFormat;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::fs::File;
use std::path::Path;

/// How to read one file.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    pub format: FileFormat,
    /// Overrides the format's delimiter (`,` for csv, tab for tsv).
    pub delimiter: Option<u8>,
    /// `false` reads quote characters as ordinary text (SST-2 style TSV).
    pub quoting: bool,
}

/// A file read into memory: its column names, and for every data row its values as strings
/// (`None` for null or empty) and the line it starts on.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<String>,
    pub data: Vec<Vec<Option<String>>>,
    /// 1-based line of each row in the file (row index for parquet).
    pub lines: Vec<u64>,
}

impl Table {
    pub fn height(&self) -> usize {
        self.lines.len()
    }

    /// Index of `column`, or an error naming the file and the columns that do exist.
    pub fn column_index(&self, path: &Path, column: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                column: column.to_string(),
                found: self.columns.join(", "),
            })
    }
}

pub fn read_table(path: &Path, opts: ReadOptions) -> Result<Table> {
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        ));
    }
    let (df, lines) = match opts.format {
        FileFormat::Csv | FileFormat::Tsv => {
            let sep = opts.delimiter.unwrap_or(if opts.format == FileFormat::Tsv {
                b'\t'
            } else {
                b','
            });
            let lines = scan_delimited(path, sep, opts.quoting)?;
            let quote = opts.quoting.then_some(b'"');
            let df = CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .with_raise_if_empty(false)
                .map_parse_options(|p| p.with_separator(sep).with_quote_char(quote))
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .and_then(|r| r.finish())
                .map_err(|e| table_error(path, e))?;
            (df, lines)
        }
        FileFormat::Jsonl => {
            let lines = scan_jsonl(path)?;
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let df = JsonReader::new(file)
                .with_json_format(JsonFormat::JsonLines)
                .finish()
                .map_err(|e| table_error(path, e))?;
            (df, lines)
        }
        FileFormat::Parquet => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let df = ParquetReader::new(file)
                .finish()
                .map_err(|e| table_error(path, e))?;
            let lines = (1..=df.height() as u64).collect();
            (df, lines)
        }
    };
    if df.height() != lines.len() {
        return Err(Error::Table {
            path: path.to_path_buf(),
            message: format!(
                "parsed {} rows but the file has {} records; check data.delimiter and data.quoting",
                df.height(),
                lines.len()
            ),
        });
    }
    to_table(path, &df, lines)
}

fn table_error(path: &Path, e: PolarsError) -> Error {
    Error::Table {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn to_table(path: &Path, df: &DataFrame, lines: Vec<u64>) -> Result<Table> {
    let mut columns = Vec::new();
    let mut data = vec![Vec::with_capacity(df.width()); df.height()];
    for col in df.columns() {
        columns.push(col.name().to_string());
        let s = col
            .cast(&DataType::String)
            .map_err(|e| table_error(path, e))?;
        let ca = s.str().map_err(|e| table_error(path, e))?;
        for (row, v) in ca.iter().enumerate() {
            data[row].push(v.filter(|v| !v.is_empty()).map(str::to_string));
        }
    }
    Ok(Table {
        columns,
        data,
        lines,
    })
}

/// Walk a delimited file record by record; return the start line of each data row.
fn scan_delimited(path: &Path, sep: u8, quoting: bool) -> Result<Vec<u64>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sep)
        .quoting(quoting)
        .has_headers(true)
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let expected = match rdr.byte_headers() {
        Ok(h) => {
            if std::str::from_utf8(h.as_slice()).is_err() {
                return Err(Error::InvalidUtf8 {
                    path: path.to_path_buf(),
                    line: 1,
                });
            }
            h.len()
        }
        Err(e) => return Err(csv_error(path, e, 0)),
    };
    let mut lines = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                if std::str::from_utf8(record.as_slice()).is_err() {
                    return Err(Error::InvalidUtf8 {
                        path: path.to_path_buf(),
                        line,
                    });
                }
                lines.push(line);
            }
            Err(e) => return Err(csv_error(path, e, expected)),
        }
    }
    Ok(lines)
}

fn csv_error(path: &Path, e: csv::Error, expected: usize) -> Error {
    let path = path.to_path_buf();
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::UnequalLengths { pos, len, .. } => Error::RaggedRow {
            path,
            line: pos.map(|p| p.line()).unwrap_or(line),
            expected,
            found: len as usize,
        },
        csv::ErrorKind::Utf8 { pos, .. } => Error::InvalidUtf8 {
            path,
            line: pos.map(|p| p.line()).unwrap_or(line),
        },
        csv::ErrorKind::Io(source) => Error::Io { path, source },
        other => Error::Malformed {
            path,
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Check that every non-blank line is one JSON object; return their line numbers.
fn scan_jsonl(path: &Path) -> Result<Vec<u64>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut lines = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let text = std::str::from_utf8(raw).map_err(|_| Error::InvalidUtf8 {
            path: path.to_path_buf(),
            line,
        })?;
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => lines.push(line),
            Ok(_) => {
                return Err(Error::Malformed {
                    path: path.to_path_buf(),
                    line,
                    message: "expected one JSON object per line".into(),
                })
            }
            Err(e) => {
                return Err(Error::Malformed {
                    path: path.to_path_buf(),
                    line,
                    message: format!("invalid JSON: {e}"),
                })
            }
        }
    }
    Ok(lines)
}
