//! `train-log.jsonl`: one JSON line per evaluation (or per epoch without dev data).
//!
//! A resumed run continues the log of the run it resumes, from the step its saved state is at:
//! lines written after that state was saved (by steps that are about to be redone) are dropped
//! first, so no step appears twice.

use std::io::Write;
use std::path::Path;

pub const LOG_FILE: &str = "train-log.jsonl";

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
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| s as usize <= step)
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

    pub fn write(&mut self, v: serde_json::Value) {
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_log_drops_the_steps_it_will_redo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LOG_FILE);
        std::fs::write(&p, "{\"step\":10}\n{\"step\":20}\n{\"step\":30}\n{\"ste").unwrap();
        let mut log = Log::open(&p, 20);
        log.write(serde_json::json!({"step": 30}));
        drop(log);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "{\"step\":10}\n{\"step\":20}\n{\"step\":30}\n");
    }
}
