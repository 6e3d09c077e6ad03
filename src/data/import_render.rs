//! The import summary as a terminal shows it (`--json` prints the report itself).

use super::annotations::AnnotationReport;
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

/// The summary of an annotation tool's import.
pub fn render_coded(r: &AnnotationReport, out: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} records, {} answers in; {} rows ({} items x {} annotators) written to {}",
        r.tool,
        r.records_in,
        r.annotations_in,
        r.rows_out,
        r.items,
        r.annotators.len(),
        out.display()
    );
    let _ = writeln!(
        s,
        "  {} repeated answers merged, {} conflicting (the later answer kept)",
        r.merged, r.conflicting
    );
    for (why, n) in &r.skipped {
        let _ = writeln!(s, "  skipped {n}: {why}");
    }
    for (task, counts) in &r.labels {
        let parts: Vec<String> = counts.iter().map(|(l, n)| format!("{l}={n}")).collect();
        let split = r.items_disagreeing.get(task).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "  {task}: {}  ({split} items with differing labels: see `data agreement`)",
            parts.join("  ")
        );
    }
    s
}
