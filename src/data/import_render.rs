//! The import summary as a terminal shows it (`--json` prints the report itself).

use super::import::ImportReport;
use std::fmt::Write;
use std::path::Path;

/// The import summary for a terminal.
pub fn render(r: &ImportReport, out: &Path) -> String {
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
