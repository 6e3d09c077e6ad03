//! Reading a table record by record (csv, tsv, jsonl) or slice by slice (parquet), so that
//! memory stays flat however large the file is. `classify` and `segment` stream through it;
//! [`crate::data::read_table`] collects it for training, evaluation and `data check`.
//!
//! Every record is either a `Row` or a `BadRow` that names its line; the caller decides
//! whether a bad row stops the run or goes to the rejected file. Nothing is skipped here.

use super::cell::{BadRow, Cell, Record, Row};
use super::delimited::{DelimitedReader, RawRecord};
use super::parquet::ParquetSource;
use super::records::{delimited_record, malformed, parse_object};
use super::writer::ColKind;
use super::ReadOptions;
use crate::config::FileFormat;
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

enum Source {
    Delimited {
        rdr: DelimitedReader<Box<dyn Read>>,
        record: RawRecord,
    },
    Jsonl {
        rdr: BufReader<Box<dyn Read>>,
        line: u64,
        bytes: u64,
        buf: Vec<u8>,
    },
    Parquet(ParquetSource),
}

/// A table opened for reading in order.
pub struct RowReader {
    path: PathBuf,
    columns: Vec<String>,
    source: Source,
    pending: VecDeque<Record>,
}

pub(super) fn open_read(path: &Path) -> Result<Box<dyn Read>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(Box::new(f))
}

fn empty_file(path: &Path, what: &str) -> Error {
    Error::Table {
        path: path.to_path_buf(),
        message: format!("the file is empty: no {what} to take the column names from"),
    }
}

impl RowReader {
    /// Open `path` (`-` for stdin) and read its header (the first object's keys for jsonl).
    pub fn open(path: &Path, opts: ReadOptions) -> Result<RowReader> {
        let mut r = match opts.format {
            FileFormat::Csv | FileFormat::Tsv => {
                let sep = opts.separator();
                let mut rdr = DelimitedReader::new(open_read(path)?, sep, opts.quoting);
                let mut header = RawRecord::default();
                if !rdr.read(&mut header).map_err(|e| Error::io(path, e))? {
                    return Err(empty_file(path, "header line"));
                }
                let columns = match delimited_record(path, &header, header.len()) {
                    Ok(row) => row
                        .cells
                        .iter()
                        .map(|c| c.text().unwrap_or_default().into_owned())
                        .collect(),
                    Err(bad) => return Err(*bad.error),
                };
                RowReader {
                    path: path.to_path_buf(),
                    columns,
                    source: Source::Delimited {
                        rdr,
                        record: RawRecord::default(),
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
            FileFormat::Parquet => {
                let source = ParquetSource::open(path)?;
                RowReader {
                    path: path.to_path_buf(),
                    columns: source.columns(),
                    source: Source::Parquet(source),
                    pending: VecDeque::new(),
                }
            }
        };
        if let Source::Jsonl { .. } = r.source {
            r.read_first_object()?;
        }
        Ok(r)
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Column names with how to store them: parquet keeps its Arrow types; text formats give
    /// text (jsonl literals still come back unquoted in jsonl).
    pub fn column_kinds(&self) -> Vec<(String, ColKind)> {
        match &self.source {
            Source::Parquet(p) => p.kinds(),
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
            Source::Parquet(p) => p.total() as u64,
            _ => 0,
        }
    }

    /// Bytes read so far (rows for parquet), for progress.
    pub fn position(&self) -> u64 {
        match &self.source {
            Source::Delimited { rdr, .. } => rdr.position(),
            Source::Jsonl { bytes, .. } => *bytes,
            Source::Parquet(p) => p.next_row() as u64,
        }
    }

    /// The next record, or `None` at the end of the file. `Err` only for failures that make
    /// the rest of the file unreadable (I/O).
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if let Some(r) = self.pending.pop_front() {
            return Ok(Some(r));
        }
        match &mut self.source {
            Source::Delimited { rdr, record } => {
                if !rdr.read(record).map_err(|e| Error::io(&self.path, e))? {
                    return Ok(None);
                }
                Ok(Some(delimited_record(
                    &self.path,
                    record,
                    self.columns.len(),
                )))
            }
            Source::Jsonl { .. } => self.next_json(),
            Source::Parquet(p) => {
                let rows = p.next_slice()?;
                self.pending.extend(rows.into_iter().map(Ok));
                Ok(self.pending.pop_front())
            }
        }
    }

    /// Read lines up to the first JSON object and take its keys as the columns; bad lines
    /// before it are kept as bad rows. With no object at all there are no columns, and the
    /// first bad line (or the emptiness of the file) is the error.
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
        match self.pending.pop_front() {
            Some(Err(bad)) => Err(*bad.error),
            _ => Err(empty_file(&self.path, "JSON object")),
        }
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

    /// The next non-blank line with its number (a byte-order mark at the start of the file
    /// is dropped); a line that is not UTF-8 is a bad row.
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
            if *line == 0 && buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
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
