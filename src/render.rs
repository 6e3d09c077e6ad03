//! The binary's glue: turning parsed arguments into library options, and library results into
//! the lines it prints. Kept out of `main.rs` so that file stays a plain dispatch.

use crate::cli;
use stancekit::config::FileFormat;
use stancekit::report::Report;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub const STREAM_NOTICE: &str =
    "interrupt: stopping after this batch; no output file will be left (again to stop at once)";

/// Whether an error is a write to a closed stdout (`| head -1`): a clean stop, not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let io = match c.downcast_ref::<stancekit::Error>() {
            Some(stancekit::Error::Io { source, .. }) => Some(source),
            _ => c.downcast_ref::<std::io::Error>(),
        };
        io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn parse_bars(specs: &[String]) -> anyhow::Result<Vec<stancekit::report::gate::Bar>> {
    Ok(specs
        .iter()
        .map(|s| stancekit::report::gate::parse_bar(s))
        .collect::<stancekit::Result<_>>()?)
}

fn format_of(f: Option<cli::FormatArg>) -> Option<FileFormat> {
    f.map(|f| match f {
        cli::FormatArg::Csv => FileFormat::Csv,
        cli::FormatArg::Tsv => FileFormat::Tsv,
        cli::FormatArg::Jsonl => FileFormat::Jsonl,
        cli::FormatArg::Parquet => FileFormat::Parquet,
    })
}

pub fn table_flags(a: &cli::TableArgs) -> stancekit::Result<stancekit::table::TableFlags> {
    let delimiter = match a.delimiter {
        None => None,
        Some(c) if c.is_ascii() && c != '"' && c != '\n' && c != '\r' => Some(c as u8),
        Some(c) => {
            return Err(stancekit::Error::Input(format!(
                "--delimiter {c:?}: expected one ASCII character other than a quote or a line end"
            )))
        }
    };
    Ok(stancekit::table::TableFlags {
        format: format_of(a.format),
        delimiter,
        quoting: !a.no_quoting,
    })
}

pub fn io_options(a: &cli::IoArgs) -> stancekit::Result<stancekit::classify::IoOptions> {
    Ok(stancekit::classify::IoOptions {
        input: a.input.clone(),
        output: a.output.clone(),
        read: table_flags(&a.table)?,
        output_format: format_of(a.output_format),
        on_bad_row: match a.on_bad_row {
            cli::BadRowArg::Error => stancekit::classify::BadRowPolicy::Error,
            cli::BadRowArg::Skip => stancekit::classify::BadRowPolicy::Skip,
        },
        rejected: a.rejected.clone(),
        batch_size: a.batch_size,
        quiet: a.quiet,
    })
}

/// The end summary, on stdout unless the data itself went to stdout.
pub fn summary(s: &stancekit::classify::Summary, io: &cli::IoArgs) -> anyhow::Result<()> {
    let out = match io.json {
        true => serde_json::to_string_pretty(s)? + "\n",
        false => s.render(),
    };
    if io.output.as_os_str() == "-" {
        eprint!("{out}");
    } else {
        std::io::stdout().lock().write_all(out.as_bytes())?;
    }
    Ok(())
}

pub fn import(r: &stancekit::data::import::ImportReport, out: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} rows in, {} rows written to {}",
        r.corpus,
        r.rows_in,
        r.rows_out,
        out.display()
    );
    if r.duplicates_merged + r.conflicts_dropped > 0 {
        let _ = writeln!(
            s,
            "  {} duplicate rows merged, {} rows dropped for conflicting labels",
            r.duplicates_merged, r.conflicts_dropped
        );
    }
    if r.skipped > 0 {
        let _ = writeln!(s, "  {} rows skipped: {}", r.skipped, r.skipped_reason);
    }
    for (task, counts) in &r.labels {
        let parts: Vec<String> = counts.iter().map(|(l, n)| format!("{l}={n}")).collect();
        let _ = writeln!(s, "  {task}: {}", parts.join("  "));
    }
    s
}

pub fn evaluation(report: &Report, files: &[PathBuf]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "evaluated {} rows of {} ({} with an empty text); 95% CIs from {} bootstrap resamples (seed {})",
        report.data.rows,
        report.data.path,
        report.data.empty_text,
        report.bootstrap.resamples,
        report.bootstrap.seed
    );
    for t in &report.tasks {
        let (m, i) = (&t.metrics, &t.intervals);
        let _ = writeln!(
            s,
            "{:<12} n {:>5}  accuracy {:.4} [{:.4}, {:.4}]  macro-F1 {:.4} [{:.4}, {:.4}]  ECE {:.4}  ({} missing, {} unknown gold)",
            t.name, t.evaluated, m.accuracy, i.accuracy.low, i.accuracy.high, m.macro_f1,
            i.macro_f1.low, i.macro_f1.high, t.calibration.ece, t.missing_gold, t.unknown_gold
        );
    }
    for f in files {
        let _ = writeln!(s, "wrote {}", f.display());
    }
    s
}
