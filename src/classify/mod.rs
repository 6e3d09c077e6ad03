//! `classify` and `segment`: label a file of statements (or of whole articles, split into
//! statements) with a trained checkpoint, streaming so that memory stays flat, and without
//! ever losing a row: empty texts get `status=empty_text`, bad records stop the run with their
//! line number or go to a rejected file, and the row count is checked at the end.

pub mod labels;
pub mod stages;
pub mod stream;
mod summary;

use crate::checkpoint::LoadedModel;
use crate::config::FileFormat;
use crate::error::{Error, Result};
pub use labels::{LabelOptions, TaskCounts, ABSTAIN};
use serde::Serialize;
use stages::{Chain, ClassifyStage, SegmentStage, SEGMENT_TEXT};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
pub use stream::{rejected_path, BadRowPolicy};
use stream::{run_stream, Stage, StreamCounts, StreamJob};

/// Input and output files and how to read them; shared by `classify` and `segment`.
#[derive(Debug, Clone)]
pub struct IoOptions {
    /// `-` for stdin.
    pub input: PathBuf,
    /// `-` for stdout.
    pub output: PathBuf,
    /// How to read the input: format (default from the extension), delimiter, quoting.
    pub read: crate::table::TableFlags,
    /// Overrides detection from the output's extension (stdout defaults to the input format).
    pub output_format: Option<FileFormat>,
    pub on_bad_row: BadRowPolicy,
    /// Where skipped bad rows go; default `<OUTPUT>.rejected.csv` (required for stdout).
    pub rejected: Option<PathBuf>,
    pub batch_size: usize,
    pub quiet: bool,
}

/// Splitting articles: the body and id columns.
#[derive(Debug, Clone)]
pub struct SegmentOptions {
    pub text_column: String,
    pub id_column: String,
}

#[derive(Debug, Clone, Default)]
pub struct ClassifyOptions {
    /// Default: the checkpoint config's `data.text_column` (ignored with `segment`).
    pub text_column: Option<String>,
    /// Task names to label; empty = all.
    pub tasks: Vec<String>,
    pub labels: LabelOptions,
    /// Split articles into statements first.
    pub segment: Option<SegmentOptions>,
}

/// End-of-run report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub input: String,
    pub output: String,
    /// Input records, good and bad.
    pub rows_in: u64,
    /// Output rows (statements when segmenting).
    pub rows_out: u64,
    /// Bad records written to the rejected file.
    pub rejected: u64,
    pub rejected_file: Option<PathBuf>,
    /// Whether `rows_in = rows accounted for + rejected` held (the run fails otherwise).
    pub rows_check: bool,
    pub segmented: bool,
    /// Articles without any text (each still gets one row).
    pub empty_articles: u64,
    /// Per task: rows per label and abstentions.
    pub tasks: BTreeMap<String, TaskCounts>,
    pub empty_text: u64,
    pub truncated: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

fn resolve_formats(io: &IoOptions) -> Result<(crate::table::ReadOptions, FileFormat)> {
    let input = io.read.resolve(&io.input)?;
    let output = match io.output_format {
        Some(f) => f,
        None if io.output == Path::new("-") => input.format,
        None => FileFormat::resolve("auto", &io.output)?,
    };
    Ok((input, output))
}

/// Rows read at a time for length-sorted (pretrained) models.
pub const SEQUENCE_WINDOW: usize = 4096;

fn job<'a>(
    io: &'a IoOptions,
    interrupt: Option<&'a AtomicBool>,
    label: &'a str,
) -> Result<StreamJob<'a>> {
    let (read, output_format) = resolve_formats(io)?;
    Ok(StreamJob {
        input: &io.input,
        output: &io.output,
        read,
        output_format,
        rejected: io.rejected.clone(),
        protected: crate::guard::Protected::new(),
        on_bad_row: io.on_bad_row,
        batch_size: io.batch_size.max(1),
        quiet: io.quiet,
        interrupt,
        label,
    })
}

fn summary(io: &IoOptions, c: &StreamCounts, segmented: bool) -> Summary {
    Summary {
        input: io.input.display().to_string(),
        output: io.output.display().to_string(),
        rows_in: c.rows_in,
        rows_out: c.rows_out,
        rejected: c.rejected,
        rejected_file: c.rejected_file.clone(),
        rows_check: c.rows_in == c.rows_covered + c.rejected,
        segmented,
        empty_articles: 0,
        tasks: BTreeMap::new(),
        empty_text: 0,
        truncated: 0,
        seconds: c.seconds,
        rows_per_second: c.rows_in as f64 / c.seconds.max(1e-9),
    }
}

/// Which of the model's tasks to label, by name, in the model's order.
fn pick_tasks(model: &LoadedModel, names: &[String]) -> Result<Vec<usize>> {
    for n in names {
        if !model.tasks.iter().any(|t| &t.name == n) {
            return Err(Error::Input(format!(
                "--tasks: the checkpoint has no task `{n}` (it has: {})",
                model
                    .tasks
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok((0..model.tasks.len())
        .filter(|&i| names.is_empty() || names.contains(&model.tasks[i].name))
        .collect())
}

/// The columns `label_texts` adds, with their kinds, and each row's cells for them.
pub type Labelled = (
    Vec<(String, crate::table::ColKind)>,
    Vec<Vec<crate::table::Cell>>,
);

/// Label texts held in memory (the Python package's path): returns the columns `classify`
/// would add after `input_columns`, and each row's cells for them, from the same stage and
/// label rules as `classify_file`, with each added column's kind. `None` or blank texts get
/// `status=empty_text`.
pub fn label_texts(
    model: &LoadedModel,
    texts: &[Option<&str>],
    input_columns: &[String],
    text_column: &str,
    opts: &ClassifyOptions,
) -> Result<Labelled> {
    use crate::table::{Cell, ColKind, Row};
    let tasks = pick_tasks(model, &opts.tasks)?;
    let mut stage = ClassifyStage::new(
        model,
        tasks,
        text_column.to_string(),
        opts.labels.clone(),
        256,
    );
    let input: Vec<(String, ColKind)> = input_columns
        .iter()
        .map(|c| (c.clone(), ColKind::Text))
        .collect();
    let columns = stage.columns(&input, Path::new("<table>"))?;
    let text_idx = input_columns
        .iter()
        .position(|c| c == text_column)
        .unwrap_or(0);
    let rows: Vec<Row> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut cells = vec![Cell::Null; input_columns.len()];
            cells[text_idx] = t.map_or(Cell::Null, |t| Cell::Text(t.to_string()));
            Row {
                line: i as u64 + 1,
                cells,
            }
        })
        .collect();
    let (rows, _) = stage.process(rows)?;
    let added = rows
        .into_iter()
        .map(|mut r| r.cells.split_off(input_columns.len()))
        .collect();
    Ok((columns[input_columns.len()..].to_vec(), added))
}

/// Label every row of `io.input` and write `io.output`.
pub fn classify_file(
    model: &LoadedModel,
    io: &IoOptions,
    opts: &ClassifyOptions,
    interrupt: Option<&AtomicBool>,
) -> Result<Summary> {
    let tasks = pick_tasks(model, &opts.tasks)?;
    let mut job = job(io, interrupt, "classify")?;
    job.protected = model.protected();
    if model.sort_by_length() {
        // Sorting a larger window by length pads less; the forward batches stay small.
        job.batch_size = job.batch_size.max(SEQUENCE_WINDOW);
    }
    let text_column = match (&opts.segment, &opts.text_column) {
        (Some(_), _) => SEGMENT_TEXT.to_string(),
        (None, Some(c)) => c.clone(),
        (None, None) => model.config.raw.data.text_column.clone(),
    };
    let mut cls = ClassifyStage::new(
        model,
        tasks,
        text_column,
        opts.labels.clone(),
        io.batch_size,
    );
    let (counts, empty_articles, cls) = match &opts.segment {
        Some(s) => {
            let seg = SegmentStage::new(s.text_column.clone(), s.id_column.clone());
            let mut chain = Chain(seg, cls);
            let c = run_stream(&job, &mut chain)?;
            (c, chain.0.empty_bodies, chain.1)
        }
        None => {
            let c = run_stream(&job, &mut cls)?;
            if c.rows_out != c.rows_covered {
                return Err(Error::RowCount {
                    rows_in: c.rows_in,
                    rows_out: c.rows_out,
                    rejected: c.rejected,
                });
            }
            (c, 0, cls)
        }
    };
    let mut s = summary(io, &counts, opts.segment.is_some());
    s.empty_articles = empty_articles;
    s.empty_text = cls.empty_text;
    s.truncated = cls.truncated;
    for (slot, &t) in cls.tasks.iter().enumerate() {
        s.tasks
            .insert(model.tasks[t].name.clone(), cls.counts[slot].clone());
    }
    Ok(s)
}

/// Split the articles of `io.input` into statements and write them to `io.output`.
pub fn segment_file(
    io: &IoOptions,
    opts: &SegmentOptions,
    interrupt: Option<&AtomicBool>,
) -> Result<Summary> {
    let job = job(io, interrupt, "segment")?;
    let mut seg = SegmentStage::new(opts.text_column.clone(), opts.id_column.clone());
    let c = run_stream(&job, &mut seg)?;
    let mut s = summary(io, &c, true);
    s.empty_articles = seg.empty_bodies;
    Ok(s)
}

#[cfg(test)]
mod tests;
