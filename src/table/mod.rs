//! One table layer for every command: one reader ([`RowReader`], streaming; collected by
//! [`crate::data::read_table`]) and one writer ([`RowWriter`]), with the same format options
//! everywhere, so a file is read the same way by `data check`, `train`, `evaluate` and
//! `classify`.
//!
//! csv and tsv go through a strict RFC 4180 reader of our own ([`delimited`]), because record
//! boundaries decide whether a row is lost; parquet goes through polars and keeps its Arrow
//! types; jsonl keeps each value as written.

pub mod cell;
pub mod delimited;
mod parquet;
pub mod reader;
mod records;
pub mod writer;

#[cfg(test)]
mod tests;

pub use cell::Cell;
pub use cell::{BadRow, Record, Row};
pub use reader::RowReader;
pub use writer::{ColKind, RowWriter};

use crate::config::FileFormat;
use crate::error::Result;
use std::path::Path;

/// How to read one file. The options of a file come from that file (its extension) and from
/// the flags given for it, never from another file's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadOptions {
    pub format: FileFormat,
    /// Overrides the format's delimiter (`,` for csv, tab for tsv).
    pub delimiter: Option<u8>,
    /// `false` reads quote characters as ordinary text (SST-2 style TSV).
    pub quoting: bool,
}

impl ReadOptions {
    /// Plain options for `format`: its own delimiter, RFC 4180 quoting.
    pub fn of(format: FileFormat) -> ReadOptions {
        ReadOptions {
            format,
            delimiter: None,
            quoting: true,
        }
    }

    pub fn separator(&self) -> u8 {
        self.delimiter.unwrap_or(if self.format == FileFormat::Tsv {
            b'\t'
        } else {
            b','
        })
    }
}

/// Read options as a user gives them on the command line: the format may be left to the
/// file's extension (stdin defaults to csv).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableFlags {
    pub format: Option<FileFormat>,
    pub delimiter: Option<u8>,
    pub quoting: bool,
}

impl Default for TableFlags {
    fn default() -> Self {
        TableFlags {
            format: None,
            delimiter: None,
            quoting: true,
        }
    }
}

impl TableFlags {
    /// The options for reading `path`.
    pub fn resolve(&self, path: &Path) -> Result<ReadOptions> {
        let format = match self.format {
            Some(f) => f,
            None if path == Path::new("-") => FileFormat::Csv,
            None => FileFormat::resolve("auto", path)?,
        };
        Ok(ReadOptions {
            format,
            delimiter: self.delimiter,
            quoting: self.quoting,
        })
    }
}
