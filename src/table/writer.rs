//! Writing rows as they come, in csv, tsv, jsonl or parquet, so output never has to be held in
//! memory (parquet keeps one row group at a time). Values go out as they came in: parquet
//! columns keep their Arrow types, JSON literals are written as they were read, and an empty
//! csv text stays an empty text.

use super::cell::Cell;
use crate::config::FileFormat;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How a column is stored where the format has types (parquet; numbers unquoted in jsonl).
#[derive(Debug, Clone, PartialEq)]
pub enum ColKind {
    Text,
    /// A probability or score this tool computed (f32).
    Float,
    Int,
    /// An input parquet column, written back with its own type.
    Typed(DataType),
}

const PARQUET_ROW_GROUP: usize = 65_536;

enum Sink<'a> {
    Delimited(Box<csv::Writer<&'a mut dyn Write>>),
    Jsonl(&'a mut dyn Write),
    Parquet {
        writer: Box<polars::io::parquet::write::BatchedWriter<&'a mut dyn Write>>,
        buffered: Vec<Vec<Cell>>,
    },
}

pub struct RowWriter<'a> {
    path: PathBuf,
    columns: Vec<(String, ColKind)>,
    sink: Sink<'a>,
    rows: u64,
}

impl<'a> RowWriter<'a> {
    /// Start writing `columns` to `w`; `path` names the destination in errors.
    pub fn new(
        w: &'a mut dyn Write,
        path: &Path,
        format: FileFormat,
        columns: Vec<(String, ColKind)>,
    ) -> Result<RowWriter<'a>> {
        let sink = match format {
            FileFormat::Csv | FileFormat::Tsv => {
                let sep = if format == FileFormat::Tsv {
                    b'\t'
                } else {
                    b','
                };
                let mut wtr = csv::WriterBuilder::new().delimiter(sep).from_writer(w);
                wtr.write_record(columns.iter().map(|(n, _)| n.as_str()))
                    .map_err(|e| csv_io(path, e))?;
                Sink::Delimited(Box::new(wtr))
            }
            FileFormat::Jsonl => Sink::Jsonl(w),
            FileFormat::Parquet => {
                let schema: Schema = columns
                    .iter()
                    .map(|(n, k)| Field::new(n.as_str().into(), dtype(k)))
                    .collect();
                let writer = ParquetWriter::new(w)
                    .batched(&schema)
                    .map_err(|e| polars_io(path, e))?;
                Sink::Parquet {
                    writer: Box::new(writer),
                    buffered: Vec::new(),
                }
            }
        };
        Ok(RowWriter {
            path: path.to_path_buf(),
            columns,
            sink,
            rows: 0,
        })
    }

    pub fn write_rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<()> {
        self.rows += rows.len() as u64;
        let path = &self.path;
        match &mut self.sink {
            Sink::Delimited(w) => {
                for row in &rows {
                    for c in row {
                        let text = c.text();
                        w.write_field(text.as_deref().unwrap_or("").as_bytes())
                            .map_err(|e| csv_io(path, e))?;
                    }
                    w.write_record(None::<&[u8]>).map_err(|e| csv_io(path, e))?;
                }
            }
            Sink::Jsonl(w) => {
                let mut line = String::new();
                for row in &rows {
                    json_line(&self.columns, row, &mut line);
                    w.write_all(line.as_bytes())
                        .map_err(|e| Error::io(path, e))?;
                }
            }
            Sink::Parquet { writer, buffered } => {
                buffered.extend(rows);
                if buffered.len() >= PARQUET_ROW_GROUP {
                    let df = frame(&self.columns, std::mem::take(buffered))
                        .map_err(|e| polars_io(path, e))?;
                    writer.write_batch(&df).map_err(|e| polars_io(path, e))?;
                }
            }
        }
        Ok(())
    }

    /// Flush what is buffered; returns the number of rows written.
    pub fn finish(self) -> Result<u64> {
        let path = &self.path;
        match self.sink {
            Sink::Delimited(mut w) => w.flush().map_err(|e| Error::io(path, e))?,
            Sink::Jsonl(w) => w.flush().map_err(|e| Error::io(path, e))?,
            Sink::Parquet {
                mut writer,
                buffered,
            } => {
                if !buffered.is_empty() {
                    let df = frame(&self.columns, buffered).map_err(|e| polars_io(path, e))?;
                    writer.write_batch(&df).map_err(|e| polars_io(path, e))?;
                }
                writer.finish().map_err(|e| polars_io(path, e))?;
            }
        }
        Ok(self.rows)
    }
}

fn dtype(k: &ColKind) -> DataType {
    match k {
        ColKind::Text => DataType::String,
        ColKind::Float => DataType::Float32,
        ColKind::Int => DataType::Int64,
        ColKind::Typed(t) => t.clone(),
    }
}

fn frame(columns: &[(String, ColKind)], rows: Vec<Vec<Cell>>) -> PolarsResult<DataFrame> {
    let height = rows.len();
    let mut cols = Vec::with_capacity(columns.len());
    for (i, (name, kind)) in columns.iter().enumerate() {
        let cells = rows.iter().map(|r| r.get(i).unwrap_or(&Cell::Null));
        let texts = || cells.clone().map(Cell::text);
        let series = match kind {
            ColKind::Text => Series::new(name.as_str().into(), texts().collect::<Vec<_>>()),
            ColKind::Float => Series::new(
                name.as_str().into(),
                texts()
                    .map(|v| v.and_then(|v| v.parse::<f32>().ok()))
                    .collect::<Vec<_>>(),
            ),
            ColKind::Int => Series::new(
                name.as_str().into(),
                texts()
                    .map(|v| v.and_then(|v| v.parse::<i64>().ok()))
                    .collect::<Vec<_>>(),
            ),
            ColKind::Typed(dtype) => {
                let values: Vec<AnyValue> = cells
                    .clone()
                    .map(|c| match c {
                        Cell::Null => AnyValue::Null,
                        Cell::Typed(v) => v.clone(),
                        Cell::Text(s) | Cell::Raw(s) => AnyValue::StringOwned(s.as_str().into()),
                    })
                    .collect();
                Series::from_any_values_and_dtype(name.as_str().into(), &values, dtype, true)?
            }
        };
        cols.push(series.into_column());
    }
    DataFrame::new(height, cols)
}

fn json_line(columns: &[(String, ColKind)], row: &[Cell], out: &mut String) {
    out.clear();
    out.push('{');
    for (i, (name, _)) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(name.clone()).to_string());
        out.push(':');
        out.push_str(&row.get(i).unwrap_or(&Cell::Null).json());
    }
    out.push_str("}\n");
}

fn csv_io(path: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::io(path, source),
        other => Error::io(path, std::io::Error::other(format!("{other:?}"))),
    }
}

fn polars_io(path: &Path, e: PolarsError) -> Error {
    Error::Table {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
