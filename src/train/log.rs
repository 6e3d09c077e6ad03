//! `train-log.jsonl`: one JSON line per evaluation (or per epoch without dev data).
//!
//! A resumed run continues the log of the run it resumes, from the step its saved state is at:
//! lines written after that state was saved (by steps that are about to be redone) are dropped
//! first, so no step appears twice.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub use crate::layout::LOG_FILE;

/// One line of the log: what training writes and what reports read back for their curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    pub step: usize,
    pub epoch: usize,
    pub lr: f64,
    /// Mean training loss over the epoch so far.
    pub loss: f64,
    /// On evaluation lines: the dev loss and each task's dev figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<BTreeMap<String, DevFigures>>,
    /// Seconds of training so far.
    pub elapsed: f64,
}

/// A task's dev figures at one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevFigures {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
}

/// Every record of a log that can be read; a torn last line (a write cut by a kill) is not.
pub fn read_records(text: &str) -> impl Iterator<Item = LogRecord> + '_ {
    text.lines()
        .filter_map(|l| serde_json::from_str::<LogRecord>(l).ok())
}

pub struct Log {
    file: Option<std::fs::File>,
}

/// Keep the lines of `path` whose `step` is at most `step` (lines that cannot be read are
/// dropped too: they are the torn end of an interrupted write).
fn truncate_after(path: &Path, step: usize) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<LogRecord>(l)
                .ok()
                .is_some_and(|r| r.step <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if kept != text {
        let _ = crate::io::write_atomic(path, kept.as_bytes());
    }
}

impl Log {
    /// Open the log of a run at `step` (0 for a fresh run, which starts an empty log).
    pub fn open(path: &Path, step: usize) -> Self {
        if step == 0 {
            let _ = std::fs::remove_file(path);
        } else {
            truncate_after(path, step);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok();
        Log { file }
    }

    pub fn write(&mut self, record: &LogRecord) {
        if let (Some(f), Ok(line)) = (&mut self.file, serde_json::to_string(record)) {
            let _ = writeln!(f, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: usize) -> LogRecord {
        LogRecord {
            step,
            epoch: 1,
            lr: 0.1,
            loss: 0.5,
            dev_loss: None,
            dev: None,
            elapsed: 1.0,
        }
    }

    #[test]
    fn a_resumed_log_drops_the_steps_it_will_redo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LOG_FILE);
        let line = |s| serde_json::to_string(&record(s)).unwrap() + "\n";
        std::fs::write(&p, line(10) + &line(20) + &line(30) + "{\"ste").unwrap();
        let mut log = Log::open(&p, 20);
        log.write(&record(30));
        drop(log);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, line(10) + &line(20) + &line(30));
        let steps: Vec<usize> = read_records(&text).map(|r| r.step).collect();
        assert_eq!(steps, vec![10, 20, 30]);
    }
}
