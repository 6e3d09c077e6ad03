//! Progress for long work: an indicatif bar when stderr is a terminal, plain log lines
//! (at most one every few seconds) when it is not, nothing when quiet.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    plain: bool,
    last_line: Instant,
    label: String,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            bar: None,
            quiet,
            plain: !std::io::stderr().is_terminal(),
            last_line: Instant::now(),
            label: String::new(),
        }
    }

    /// Start a phase of `total` units (an epoch's steps, a file's rows).
    pub fn start(&mut self, label: &str, total: u64) {
        self.finish();
        self.label = label.to_string();
        self.last_line = Instant::now();
        if self.quiet || self.plain {
            return;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        self.bar = Some(bar);
    }

    /// Advance to `pos` with a status message (e.g. the running loss).
    pub fn update(&mut self, pos: u64, total: u64, msg: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
            bar.set_message(msg.to_string());
        } else if self.plain && !self.quiet && self.last_line.elapsed() >= PLAIN_EVERY {
            eprintln!("{} {pos}/{total} {msg}", self.label);
            self.last_line = Instant::now();
        }
    }

    /// A line that stays (an evaluation result); printed above the bar.
    pub fn line(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
