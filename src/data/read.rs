//! Reading a labelled table (csv, tsv, jsonl, parquet) into string columns, for training,
//! evaluation, `data check` and the importers.
//!
//! It collects the one streaming reader ([`crate::table::RowReader`]) that `classify` uses, so
//! a file is read the same way by every command: the strict csv reader's record boundaries,
//! line numbers and errors, parquet's values rendered exactly, jsonl values as written. The
//! first bad record stops the read with its file and line.

use crate::error::{Error, Result};
pub use crate::table::ReadOptions;
use crate::table::RowReader;
use std::path::Path;

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
    let mut reader = RowReader::open(path, opts)?;
    let columns = reader.columns().to_vec();
    let (mut data, mut lines) = (Vec::new(), Vec::new());
    while let Some(record) = reader.next_record()? {
        let row = record.map_err(|bad| *bad.error)?;
        lines.push(row.line);
        data.push(
            row.cells
                .iter()
                .map(|c| c.text().filter(|t| !t.is_empty()).map(|t| t.into_owned()))
                .collect(),
        );
    }
    Ok(Table {
        columns,
        data,
        lines,
    })
}
