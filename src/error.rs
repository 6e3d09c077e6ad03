//! Typed errors for the whole library.
//!
//! Every variant that comes from user input names where the problem is (file, line or row,
//! column, config key) and what was expected, so the CLI can print it as is and map it to an
//! exit code without string matching.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: cannot read config: {message}")]
    ConfigSyntax { path: PathBuf, message: String },

    #[error("{path}: unknown key `{key}`{}{}", section_hint(.section), suggestion_hint(.suggestion))]
    UnknownKey {
        path: PathBuf,
        key: String,
        section: String,
        suggestion: Option<String>,
    },

    #[error("{path}: config key `{key}`: {message}")]
    ConfigValue {
        path: PathBuf,
        key: String,
        message: String,
    },

    #[error("--set {assignment}: {message}")]
    BadOverride { assignment: String, message: String },

    #[error("{path}: missing column `{column}` (found: {found})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        found: String,
    },

    #[error("{path}, line {line}: expected {expected} fields, found {found}{}", ragged_hint(*.found, *.expected))]
    RaggedRow {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },

    #[error("{path}, line {line}: blank line in a file of {columns} columns (remove it; an empty text is written \"\" or as an empty field)")]
    BlankLine {
        path: PathBuf,
        line: u64,
        columns: usize,
    },

    #[error("{path}, line {line}: invalid UTF-8 (expected UTF-8 text; re-encode the file)")]
    InvalidUtf8 { path: PathBuf, line: u64 },

    #[error("{path}, line {line}: {message}")]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },

    #[error("{path}, line {line}, column `{column}`: {message}")]
    BadValue {
        path: PathBuf,
        /// The line the record starts on (after any multi-line cells before it).
        line: u64,
        column: String,
        message: String,
    },

    #[error("{path}: {message}")]
    Table { path: PathBuf, message: String },

    #[error("{path}: unknown file format `{format}` (expected csv, tsv, jsonl or parquet; set data.format)")]
    UnknownFormat { path: PathBuf, format: String },

    #[error("{0}")]
    Input(String),

    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },

    /// A pretrained encoder folder that is missing, incomplete or not the one expected.
    #[error("encoder {path}: {message}")]
    Encoder { path: PathBuf, message: String },

    #[error("training stopped at step {step}: loss is {value} ({hint})")]
    NonFiniteLoss {
        step: usize,
        value: f32,
        hint: String,
    },

    #[error("row check failed: {rows_in} rows in, but {rows_out} written and {rejected} rejected; no output was kept")]
    RowCount {
        rows_in: u64,
        rows_out: u64,
        rejected: u64,
    },

    #[error("interrupted")]
    Interrupted,

    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),

    #[error("{0}")]
    Polars(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error was caused by the user's input (exit code 2) rather than by a
    /// failure inside the tool.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            Error::Candle(_) | Error::Interrupted | Error::RowCount { .. }
        )
    }
}

impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Self {
        Error::Polars(e.to_string())
    }
}

fn section_hint(section: &str) -> String {
    if section.is_empty() {
        String::new()
    } else {
        format!(" in [{section}]")
    }
}

fn suggestion_hint(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

fn ragged_hint(found: usize, expected: usize) -> &'static str {
    if found < expected {
        " (a short row, or an unclosed quote that swallowed the following lines)"
    } else {
        " (an unquoted delimiter inside a field?)"
    }
}
