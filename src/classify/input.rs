//! Reading a table record by record (csv, tsv, jsonl) or slice by slice (parquet), so that
//! `classify` and `segment` keep memory flat however large the file is.
//!
//! Every record is either a [`Row`] or a [`BadRow`] that names its line; the caller decides
//! whether a bad row stops the run or goes to the rejected file. Nothing is skipped here.

use super::cell::Cell;
use super::output::ColKind;
use super::raw::{tee, RawTail};
use super::records::{csv_error, delimited_record, malformed, parse_object};
use crate::config::FileFormat;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One good record: its values in column order and the line it starts on (row number for
/// parquet).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<Cell>,
}

/// A record that cannot be read as a row: why, the record as far as it could be read, and the
/// error to raise when bad rows are not skipped.
#[derive(Debug)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
    pub raw: String,
    pub error: Box<Error>,
}

pub type Record = std::result::Result<Row, BadRow>;

enum Source {
    Delimited {
        rdr: csv::Reader<super::raw::TeeReader<Box<dyn Read>>>,
        record: csv::ByteRecord,
        sep: u8,
        raw: RawTail,
    },
    Jsonl {
        rdr: BufReader<Box<dyn Read>>,
        line: u64,
        bytes: u64,
        buf: Vec<u8>,
    },
    /// Read one slice at a time from disk, so memory does not grow with the file.
    Parquet {
        file: PathBuf,
        total: usize,
        kinds: Vec<(String, ColKind)>,
        next: usize,
        // Keeps a buffered stdin alive until the reader is dropped.
        _tmp: Option<tempfile::NamedTempFile>,
    },
}

/// A table opened for reading in order.
pub struct RowReader {
    path: PathBuf,
    columns: Vec<String>,
    source: Source,
    pending: VecDeque<Record>,
}

const PARQUET_SLICE: usize = 8192;

fn open_read(path: &Path) -> Result<Box<dyn Read>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(Box::new(f))
}

impl RowReader {
    /// Open `path` (`-` for stdin) and read its header (the first object's keys for jsonl).
    pub fn open(path: &Path, format: FileFormat) -> Result<RowReader> {
        let mut r = match format {
            FileFormat::Csv | FileFormat::Tsv => {
                let sep = if format == FileFormat::Tsv {
                    b'\t'
                } else {
                    b','
                };
                let (source, raw) = tee(open_read(path)?);
                let mut rdr = csv::ReaderBuilder::new()
                    .delimiter(sep)
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(source);
                let header = rdr.byte_headers().map_err(|e| csv_error(path, e))?.clone();
                raw.take(0, rdr.position().byte());
                let mut columns = Vec::with_capacity(header.len());
                for field in &header {
                    columns.push(
                        std::str::from_utf8(field)
                            .map_err(|_| Error::InvalidUtf8 {
                                path: path.to_path_buf(),
                                line: 1,
                            })?
                            .to_string(),
                    );
                }
                RowReader {
                    path: path.to_path_buf(),
                    columns,
                    source: Source::Delimited {
                        rdr,
                        record: csv::ByteRecord::new(),
                        sep,
                        raw,
                    },
                    pending: VecDeque::new(),
                }
            }
            FileFormat::Jsonl => RowReader {
                path: path.to_path_buf(),
                columns: Vec::new(),
                source: Source::Jsonl {
                    rdr: BufReader::with_capacity(1 << 16, open_read(path)?),
                    line: 0,
                    bytes: 0,
                    buf: Vec::new(),
                },
                pending: VecDeque::new(),
            },
            FileFormat::Parquet => open_parquet(path)?,
        };
        if let Source::Jsonl { .. } = r.source {
            r.read_first_object()?;
        }
        Ok(r)
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Column names with how to store them: parquet keeps its numeric types; text formats
    /// give text (jsonl numbers still come back unquoted in jsonl).
    pub fn column_kinds(&self) -> Vec<(String, ColKind)> {
        match &self.source {
            Source::Parquet { kinds, .. } => kinds.clone(),
            _ => self
                .columns
                .iter()
                .map(|c| (c.clone(), ColKind::Text))
                .collect(),
        }
    }

    /// Index of `column`, or an error listing the columns that exist.
    pub fn column_index(&self, column: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| Error::MissingColumn {
                path: self.path.clone(),
                column: column.to_string(),
                found: self.columns.join(", "),
            })
    }

    /// Rows in a parquet file (0 for other formats, which are not counted ahead).
    pub fn total_rows(&self) -> u64 {
        match &self.source {
            Source::Parquet { total, .. } => *total as u64,
            _ => 0,
        }
    }

    /// Bytes read so far (rows for parquet), for progress.
    pub fn position(&self) -> u64 {
        match &self.source {
            Source::Delimited { rdr, .. } => rdr.position().byte(),
            Source::Jsonl { bytes, .. } => *bytes,
            Source::Parquet { next, .. } => *next as u64,
        }
    }

    /// The next record, or `None` at the end of the file. `Err` only for failures that make
    /// the rest of the file unreadable (I/O).
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if let Some(r) = self.pending.pop_front() {
            return Ok(Some(r));
        }
        match &mut self.source {
            Source::Delimited {
                rdr,
                record,
                sep,
                raw,
            } => match rdr.read_byte_record(record) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let start = record.position().map_or(0, |p| p.byte());
                    let bytes = raw.take(start, rdr.position().byte());
                    Ok(Some(delimited_record(
                        &self.path,
                        record,
                        &bytes,
                        *sep,
                        self.columns.len(),
                    )))
                }
                Err(e) => Err(csv_error(&self.path, e)),
            },
            Source::Jsonl { .. } => self.next_json(),
            Source::Parquet {
                file, total, next, ..
            } => {
                if *next >= *total {
                    return Ok(None);
                }
                let slice = read_parquet(&self.path, file, Some((*next, PARQUET_SLICE)))?;
                let first_line = *next as u64 + 1;
                *next += slice.height();
                let rows = parquet_rows(&self.path, &slice, first_line)?;
                self.pending.extend(rows.into_iter().map(Ok));
                Ok(self.pending.pop_front())
            }
        }
    }

    /// Read lines up to the first JSON object and take its keys as the columns; bad lines
    /// before it are kept as bad rows.
    fn read_first_object(&mut self) -> Result<()> {
        while let Some((line, text)) = self.next_json_line()? {
            match text.and_then(|t| parse_object(&self.path, line, &t)) {
                Ok(pairs) => {
                    self.columns = pairs.iter().map(|(k, _)| k.clone()).collect();
                    let cells = pairs.into_iter().map(|(_, v)| v).collect();
                    self.pending.push_back(Ok(Row { line, cells }));
                    return Ok(());
                }
                Err(bad) => self.pending.push_back(Err(bad)),
            }
        }
        Ok(())
    }

    fn next_json(&mut self) -> Result<Option<Record>> {
        let Some((line, text)) = self.next_json_line()? else {
            return Ok(None);
        };
        let text = match text {
            Ok(t) => t,
            Err(bad) => return Ok(Some(Err(bad))),
        };
        let pairs = match parse_object(&self.path, line, &text) {
            Ok(p) => p,
            Err(bad) => return Ok(Some(Err(bad))),
        };
        let mut cells = vec![Cell::Null; self.columns.len()];
        for (key, value) in pairs {
            match self.columns.iter().position(|c| *c == key) {
                Some(i) => cells[i] = value,
                None => {
                    let reason = format!(
                        "key `{key}` is not among the first object's keys ({})",
                        self.columns.join(", ")
                    );
                    return Ok(Some(Err(malformed(&self.path, line, reason, text))));
                }
            }
        }
        Ok(Some(Ok(Row { line, cells })))
    }

    /// The next non-blank line with its number; a line that is not UTF-8 is a bad row.
    #[allow(clippy::type_complexity)]
    fn next_json_line(&mut self) -> Result<Option<(u64, std::result::Result<String, BadRow>)>> {
        let Source::Jsonl {
            rdr,
            line,
            bytes,
            buf,
        } = &mut self.source
        else {
            return Ok(None);
        };
        loop {
            buf.clear();
            let n = rdr
                .read_until(b'\n', buf)
                .map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            *line += 1;
            *bytes += n as u64;
            return Ok(Some(match std::str::from_utf8(buf) {
                Ok(s) if s.trim().is_empty() => continue,
                Ok(s) => (*line, Ok(s.trim_end().to_string())),
                Err(_) => (
                    *line,
                    Err(BadRow {
                        line: *line,
                        reason: "invalid UTF-8".into(),
                        raw: String::from_utf8_lossy(buf).trim_end().to_string(),
                        error: Box::new(Error::InvalidUtf8 {
                            path: self.path.clone(),
                            line: *line,
                        }),
                    }),
                ),
            }));
        }
    }
}

/// Read `slice` (offset, rows) of a parquet file; `path` names it in errors.
fn read_parquet(path: &Path, file: &Path, slice: Option<(usize, usize)>) -> Result<DataFrame> {
    let f = std::fs::File::open(file).map_err(|e| Error::io(path, e))?;
    ParquetReader::new(f)
        .with_slice(slice)
        .finish()
        .map_err(|e| Error::Table {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

fn open_parquet(path: &Path) -> Result<RowReader> {
    let (file_path, tmp) = if path == Path::new("-") {
        let mut tmp = tempfile::NamedTempFile::new().map_err(|e| Error::io("stdin", e))?;
        std::io::copy(&mut std::io::stdin(), tmp.as_file_mut())
            .map_err(|e| Error::io("stdin", e))?;
        (tmp.path().to_path_buf(), Some(tmp))
    } else {
        (path.to_path_buf(), None)
    };
    // Only the schema (a zero-row slice) and the row count are read up front.
    let head = read_parquet(path, &file_path, Some((0, 0)))?;
    let total = std::fs::File::open(&file_path)
        .map_err(|e| Error::io(path, e))
        .and_then(|f| {
            ParquetReader::new(f).num_rows().map_err(|e| Error::Table {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        })?;
    Ok(RowReader {
        path: path.to_path_buf(),
        columns: head
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        source: Source::Parquet {
            kinds: head
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), kind_of(c.dtype())))
                .collect(),
            file: file_path,
            total,
            next: 0,
            _tmp: tmp,
        },
        pending: VecDeque::new(),
    })
}

/// How a parquet column is written back: numbers stay numbers.
fn kind_of(dtype: &DataType) -> ColKind {
    if dtype.is_float() {
        ColKind::Float
    } else if dtype.is_integer() {
        ColKind::Int
    } else {
        ColKind::Text
    }
}

fn parquet_rows(path: &Path, df: &DataFrame, first_line: u64) -> Result<Vec<Row>> {
    let table_err = |e: PolarsError| Error::Table {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut rows: Vec<Row> = (0..df.height())
        .map(|i| Row {
            line: first_line + i as u64,
            cells: Vec::with_capacity(df.width()),
        })
        .collect();
    for col in df.columns() {
        let typed = kind_of(col.dtype()) != ColKind::Text || col.dtype() == &DataType::Boolean;
        let s = col.cast(&DataType::String).map_err(table_err)?;
        let ca = s.str().map_err(table_err)?;
        for (row, v) in rows.iter_mut().zip(ca.iter()) {
            row.cells.push(match v {
                None => Cell::Null,
                Some(v) if typed => Cell::Raw(v.to_string()),
                Some(v) => Cell::Text(v.to_string()),
            });
        }
    }
    Ok(rows)
}
