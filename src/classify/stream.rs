//! The streaming loop shared by `classify` and `segment`: read a batch, transform it, write
//! it, until the input ends; then check that every input row is accounted for.
//!
//! Output goes to a temporary file next to the destination and is renamed in only on success,
//! so an error, a bad row or Ctrl-C never leaves a partial file. Bad rows either stop the run
//! with their line number or go, with the reason, to `<OUTPUT>.rejected.csv`.

use super::cell::Cell;
use super::input::{BadRow, Row, RowReader};
use super::output::{ColKind, RowWriter};
use crate::config::FileFormat;
use crate::error::{Error, Result};
use crate::progress::Progress;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What to do with a record that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum BadRowPolicy {
    /// Stop with an error naming the file and line.
    #[default]
    Error,
    /// Write it to `<OUTPUT>.rejected.csv` and go on.
    Skip,
}

/// A transformation from input rows to output rows.
pub trait Stage {
    /// Output columns for the given input columns.
    fn columns(
        &mut self,
        input: &[(String, ColKind)],
        path: &Path,
    ) -> Result<Vec<(String, ColKind)>>;
    /// Output rows for a batch of input rows, and how many input rows produced at least one.
    fn process(&mut self, rows: Vec<Row>) -> Result<(Vec<Row>, usize)>;
}

/// Where to read and write, and how.
pub struct StreamJob<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub input_format: FileFormat,
    pub output_format: FileFormat,
    pub on_bad_row: BadRowPolicy,
    pub batch_size: usize,
    pub quiet: bool,
    pub interrupt: Option<&'a AtomicBool>,
    pub label: &'a str,
}

/// Row accounting of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamCounts {
    /// Records read, good and bad.
    pub rows_in: u64,
    /// Input rows that produced output.
    pub rows_covered: u64,
    pub rows_out: u64,
    pub rejected: u64,
    pub rejected_file: Option<PathBuf>,
    pub seconds: f64,
}

fn is_std(p: &Path) -> bool {
    p == Path::new("-")
}

/// The rejected-rows file for `output`.
pub fn rejected_path(output: &Path) -> PathBuf {
    if is_std(output) {
        return PathBuf::from("stancekit.rejected.csv");
    }
    let mut s = output.as_os_str().to_os_string();
    s.push(".rejected.csv");
    PathBuf::from(s)
}

/// Refuse an output that is the input file itself.
pub fn refuse_overwrite(input: &Path, output: &Path) -> Result<()> {
    if is_std(input) || is_std(output) || !output.exists() {
        return Ok(());
    }
    let a = std::fs::canonicalize(input).map_err(|e| Error::io(input, e))?;
    let b = std::fs::canonicalize(output).map_err(|e| Error::io(output, e))?;
    if a == b {
        return Err(Error::Input(format!(
            "{}: refusing to overwrite the input file; choose another --output",
            output.display()
        )));
    }
    Ok(())
}

/// Rejected rows, written as they come to a temporary file that is renamed in at the end.
struct Rejects {
    path: PathBuf,
    file: Option<(tempfile::NamedTempFile, csv::Writer<std::fs::File>)>,
    count: u64,
}

impl Rejects {
    fn push(&mut self, bad: &BadRow) -> Result<()> {
        if self.file.is_none() {
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let tmp = tempfile::Builder::new()
                .prefix(".stancekit-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| Error::io(dir, e))?;
            let f = tmp.reopen().map_err(|e| Error::io(&self.path, e))?;
            let mut w = csv::Writer::from_writer(f);
            w.write_record(["line", "reason", "raw"])
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e)))?;
            self.file = Some((tmp, w));
        }
        if let Some((_, w)) = &mut self.file {
            w.write_record([bad.line.to_string().as_str(), &bad.reason, &bad.raw])
                .map_err(|e| Error::io(&self.path, std::io::Error::other(e)))?;
        }
        self.count += 1;
        Ok(())
    }

    fn persist(self) -> Result<Option<PathBuf>> {
        let Some((tmp, mut w)) = self.file else {
            return Ok(None);
        };
        w.flush().map_err(|e| Error::io(&self.path, e))?;
        drop(w);
        tmp.persist(&self.path)
            .map_err(|e| Error::io(&self.path, e.error))?;
        Ok(Some(self.path))
    }
}

/// Writes all output rows to the writer it is given; returns the number of rows written.
pub type Fill<'f> = Box<dyn FnOnce(&mut dyn Write) -> Result<u64> + 'f>;

/// Run `stage` over the whole input. Fails, leaving no output, on a bad row (unless
/// skipped), an I/O error, an interrupt, or a row count that does not add up.
pub fn run_stream(job: &StreamJob, stage: &mut dyn Stage) -> Result<StreamCounts> {
    let output = job.output;
    run_stream_to(job, stage, |fill| {
        if is_std(output) {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let n = fill(&mut lock)?;
            lock.flush().map_err(|e| Error::io("stdout", e))?;
            Ok(n)
        } else {
            crate::io::write_atomic_stream(output, fill)
        }
    })
}

/// [`run_stream`] with the output destination chosen by `open`, which must call the fill
/// function with a writer (tests pass one that fails part-way).
pub fn run_stream_to<O>(job: &StreamJob, stage: &mut dyn Stage, open: O) -> Result<StreamCounts>
where
    O: FnOnce(Fill) -> Result<u64>,
{
    refuse_overwrite(job.input, job.output)?;
    let start = Instant::now();
    let mut reader = RowReader::open(job.input, job.input_format)?;
    let input_cols = reader.column_kinds();
    let columns = stage.columns(&input_cols, job.input)?;
    let total = if is_std(job.input) {
        0
    } else if job.input_format == FileFormat::Parquet {
        reader.total_rows()
    } else {
        std::fs::metadata(job.input).map_or(0, |m| m.len())
    };
    let mut rejects = Rejects {
        path: rejected_path(job.output),
        file: None,
        count: 0,
    };
    let mut progress = Progress::new(job.quiet);
    progress.start(job.label, total);
    let mut rows_in = 0u64;
    let mut rows_covered = 0u64;
    let fill = Box::new(|w: &mut dyn Write| -> Result<u64> {
        let mut writer = RowWriter::new(w, job.output, job.output_format, columns)?;
        loop {
            if job.interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
                return Err(Error::Interrupted);
            }
            let mut batch = Vec::with_capacity(job.batch_size);
            while batch.len() < job.batch_size {
                match reader.next_record()? {
                    None => break,
                    Some(Ok(row)) => batch.push(row),
                    Some(Err(bad)) => {
                        rows_in += 1;
                        match job.on_bad_row {
                            BadRowPolicy::Error => return Err(*bad.error),
                            BadRowPolicy::Skip => rejects.push(&bad)?,
                        }
                    }
                }
            }
            if batch.is_empty() {
                break;
            }
            rows_in += batch.len() as u64;
            let (out, covered) = stage.process(batch)?;
            rows_covered += covered as u64;
            writer.write_rows(out.into_iter().map(|r| r.cells).collect())?;
            let rate = rows_in as f64 / start.elapsed().as_secs_f64().max(1e-9);
            progress.update(
                reader.position(),
                total,
                &format!("{rows_in} rows, {rate:.0} rows/s"),
            );
        }
        if rows_in != rows_covered + rejects.count {
            return Err(Error::RowCount {
                rows_in,
                rows_out: rows_covered,
                rejected: rejects.count,
            });
        }
        writer.finish()
    });
    let rows_out = open(fill)?;
    progress.finish();
    let rejected = rejects.count;
    let rejected_file = rejects.persist()?;
    Ok(StreamCounts {
        rows_in,
        rows_covered,
        rows_out,
        rejected,
        rejected_file,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A row of output cells built from an input row.
pub fn row(line: u64, cells: Vec<Cell>) -> Row {
    Row { line, cells }
}
