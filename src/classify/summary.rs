//! The end-of-run report of `classify` and `segment`, as the binary prints it.

use super::Summary;
use std::fmt::Write as _;

impl Summary {
    /// The human-readable summary: what was written, row accounting, label counts.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let unit = if self.segmented { "articles" } else { "rows" };
        let _ = writeln!(
            out,
            "wrote {} ({} rows) in {:.2} s, {:.0} {unit}/s",
            self.output, self.rows_out, self.seconds, self.rows_per_second
        );
        if self.segmented {
            let _ = write!(
                out,
                "articles in: {}, statements out: {}",
                self.rows_in, self.rows_out
            );
            if self.empty_articles > 0 {
                let _ = write!(
                    out,
                    " ({} articles without text kept as one empty row)",
                    self.empty_articles
                );
            }
            out.push('\n');
        } else {
            let _ = writeln!(
                out,
                "rows in: {}, rows out: {}",
                self.rows_in, self.rows_out
            );
        }
        if self.rejected > 0 {
            let file = self
                .rejected_file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "rejected: {} bad rows written to {file} ({unit} in {} = accounted for {} + rejected {})",
                self.rejected,
                self.rows_in,
                self.rows_in - self.rejected,
                self.rejected
            );
        }
        if self.rows_check {
            let _ = writeln!(out, "row check: ok, every input row is accounted for");
        }
        for (task, c) in &self.tasks {
            let dist: Vec<String> = c.labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
            let _ = write!(out, "{task}: {}", dist.join(", "));
            if c.abstained > 0 {
                let _ = write!(out, " (abstained: {})", c.abstained);
            }
            out.push('\n');
        }
        if !self.tasks.is_empty() {
            let _ = writeln!(
                out,
                "empty text: {}, truncated: {}",
                self.empty_text, self.truncated
            );
        }
        out
    }
}
