//! The streaming loop shared by `classify` and `segment`: read a batch, transform it, write
//! it, until the input ends; then check that every input row is accounted for.
//!
//! Output goes to a temporary file next to the destination and is renamed in only on success,
//! so an error, a bad row or Ctrl-C never leaves a partial file. Bad rows either stop the run
//! with their line number or go, with the reason, to `<OUTPUT>.rejected.csv`.

use crate::config::FileFormat;
use crate::error::{Error, Result};
use crate::guard::Protected;
use crate::progress::Progress;
use crate::table::Cell;
use crate::table::ReadOptions;
use crate::table::{BadRow, Row, RowReader};
use crate::table::{ColKind, RowWriter};
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
    pub read: ReadOptions,
    pub output_format: FileFormat,
    /// Where skipped bad rows go (required when the output is stdout).
    pub rejected: Option<PathBuf>,
    /// What no output may resolve to, besides the input.
    pub protected: Protected,
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

/// The default rejected-rows file for `output`: `<OUTPUT>.rejected.csv`. Output to stdout
/// has none: a file of that name in the working folder could be anybody's.
pub fn rejected_path(output: &Path) -> Option<PathBuf> {
    if is_std(output) {
        return None;
    }
    let mut s = output.as_os_str().to_os_string();
    s.push(".rejected.csv");
    Some(PathBuf::from(s))
}

/// Check every file the job writes against every file it reads, before anything is written;
/// returns the rejected-rows file.
fn check_outputs(job: &StreamJob) -> Result<Option<PathBuf>> {
    let protected = job.protected.clone().file(job.input);
    protected.check("--output", job.output)?;
    if job.on_bad_row != BadRowPolicy::Skip {
        return Ok(None);
    }
    let rejected = match (&job.rejected, rejected_path(job.output)) {
        (Some(r), _) => r.clone(),
        (None, Some(r)) => r,
        (None, None) => {
            return Err(Error::Input(
                "--on-bad-row skip with --output - (stdout): name the file for the rejected rows with --rejected FILE".into(),
            ))
        }
    };
    protected.file(job.output).check("--rejected", &rejected)?;
    Ok(Some(rejected))
}

/// Rejected rows, written as they come to a temporary file that is renamed in at the end.
struct Rejects {
    path: PathBuf,
    file: Option<(tempfile::NamedTempFile, csv::Writer<std::fs::File>)>,
    guard: Option<crate::runtime::TempGuard>,
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
            self.guard = Some(crate::runtime::TempGuard::new(tmp.path()));
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
    let rejected_file = check_outputs(job)?;
    let start = Instant::now();
    let mut reader = RowReader::open(job.input, job.read)?;
    let input_cols = reader.column_kinds();
    let columns = stage.columns(&input_cols, job.input)?;
    let total = if is_std(job.input) {
        0
    } else if job.read.format == FileFormat::Parquet {
        reader.total_rows()
    } else {
        std::fs::metadata(job.input).map_or(0, |m| m.len())
    };
    let mut rejects = Rejects {
        path: rejected_file.unwrap_or_default(),
        file: None,
        guard: None,
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
