//! The binary's glue: turning parsed arguments into library options, and choosing where a
//! summary goes. The summaries themselves are rendered by the library. Kept out of `main.rs`
//! so that file stays a plain dispatch.

use crate::cli;
use stancekit::config::FileFormat;
use std::io::Write as _;

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
