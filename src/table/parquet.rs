//! Parquet input, one slice at a time, with every value kept in its Arrow type: a f64 stays a
//! f64 (1e300 is not squeezed into a f32), a u64 above i64::MAX stays a u64, booleans, dates,
//! timestamps and decimals stay what they are, so parquet in gives the same values out.

use super::cell::Cell;
use super::cell::Row;
use super::writer::ColKind;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};

const PARQUET_SLICE: usize = 8192;

pub struct ParquetSource {
    path: PathBuf,
    file: PathBuf,
    total: usize,
    kinds: Vec<(String, ColKind)>,
    next: usize,
    // Keeps a buffered stdin alive until the reader is dropped.
    _tmp: Option<tempfile::NamedTempFile>,
}

fn table_error(path: &Path, message: String) -> Error {
    Error::Table {
        path: path.to_path_buf(),
        message,
    }
}

/// Run a polars call, turning a panic inside it (an Arrow type it cannot read) into an error
/// that names the file, instead of an abort.
fn guarded<T>(path: &Path, f: impl FnOnce() -> PolarsResult<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(table_error(path, e.to_string())),
        Err(_) => Err(table_error(
            path,
            "cannot read this parquet file (a column type polars does not support?)".into(),
        )),
    }
}

/// Read `slice` (offset, rows) of a parquet file; `path` names it in errors.
fn read(path: &Path, file: &Path, slice: Option<(usize, usize)>) -> Result<DataFrame> {
    let f = std::fs::File::open(file).map_err(|e| Error::io(path, e))?;
    guarded(path, || ParquetReader::new(f).with_slice(slice).finish())
}

/// How a column is read: categoricals as their text, everything else as stored.
fn stored(dtype: &DataType) -> DataType {
    if dtype.is_categorical() || dtype.is_enum() {
        DataType::String
    } else {
        dtype.clone()
    }
}

impl ParquetSource {
    pub fn open(path: &Path) -> Result<ParquetSource> {
        let (file, tmp) = if path == Path::new("-") {
            let mut tmp = tempfile::NamedTempFile::new().map_err(|e| Error::io("stdin", e))?;
            std::io::copy(&mut std::io::stdin(), tmp.as_file_mut())
                .map_err(|e| Error::io("stdin", e))?;
            (tmp.path().to_path_buf(), Some(tmp))
        } else {
            (path.to_path_buf(), None)
        };
        // Only the schema (a zero-row slice) and the row count are read up front.
        let head = read(path, &file, Some((0, 0)))?;
        let f = std::fs::File::open(&file).map_err(|e| Error::io(path, e))?;
        let total = guarded(path, || ParquetReader::new(f).num_rows())?;
        let kinds = head
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), ColKind::Typed(stored(c.dtype()))))
            .collect();
        Ok(ParquetSource {
            path: path.to_path_buf(),
            file,
            total,
            kinds,
            next: 0,
            _tmp: tmp,
        })
    }

    pub fn columns(&self) -> Vec<String> {
        self.kinds.iter().map(|(n, _)| n.clone()).collect()
    }

    pub fn kinds(&self) -> Vec<(String, ColKind)> {
        self.kinds.clone()
    }

    pub fn total(&self) -> usize {
        self.total
    }

    pub fn next_row(&self) -> usize {
        self.next
    }

    /// The next slice's rows (empty at the end), numbered from 1 across the file.
    pub fn next_slice(&mut self) -> Result<Vec<Row>> {
        if self.next >= self.total {
            return Ok(Vec::new());
        }
        let df = read(&self.path, &self.file, Some((self.next, PARQUET_SLICE)))?;
        let first_line = self.next as u64 + 1;
        self.next += df.height().max(1);
        rows(&self.path, &df, first_line)
    }
}

fn rows(path: &Path, df: &DataFrame, first_line: u64) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = (0..df.height())
        .map(|i| Row {
            line: first_line + i as u64,
            cells: Vec::with_capacity(df.width()),
        })
        .collect();
    for col in df.columns() {
        let name = col.name().to_string();
        let err = |e: PolarsError| table_error(path, format!("column `{name}`: {e}"));
        let s = col.as_materialized_series();
        let dtype = stored(s.dtype());
        if dtype == DataType::String {
            let s = s.cast(&DataType::String).map_err(err)?;
            let ca = s.str().map_err(err)?;
            for (row, v) in rows.iter_mut().zip(ca.iter()) {
                row.cells
                    .push(v.map_or(Cell::Null, |v| Cell::Text(v.to_string())));
            }
        } else {
            // One guard for the whole column, not one per cell: this is the read loop.
            let values = guarded(path, || {
                (0..s.len())
                    .map(|i| s.get(i).map(AnyValue::into_static))
                    .collect::<PolarsResult<Vec<_>>>()
            })?;
            for (row, v) in rows.iter_mut().zip(values) {
                row.cells.push(match v {
                    AnyValue::Null => Cell::Null,
                    v => Cell::Typed(v),
                });
            }
        }
    }
    Ok(rows)
}
