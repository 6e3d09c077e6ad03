//! Library-level tests of the streaming loop: atomic output under failure and interrupt, the
//! readers' line numbers and bad-row reasons, and the overwrite guard.

use super::stages::SegmentStage;
use super::stream::{run_stream_to, BadRowPolicy, StreamJob};
use super::*;
use std::io::Write;
use std::sync::atomic::AtomicBool;

/// A writer that accepts `left` bytes and then fails like a full disk.
struct FailingWriter<'a> {
    inner: &'a mut dyn Write,
    left: usize,
}

impl Write for FailingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.left {
            return Err(std::io::Error::other("disk full"));
        }
        self.left -= buf.len();
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn articles(dir: &Path, n: usize) -> PathBuf {
    let mut body = String::from("id,body\n");
    for i in 0..n {
        body.push_str(&format!(
            "a{i},\"Dr. Ade spoke on day {i}. The talks resumed.\n\nA new paragraph.\"\n"
        ));
    }
    let p = dir.join("articles.csv");
    std::fs::write(&p, body).unwrap();
    p
}

fn job<'a>(input: &'a Path, output: &'a Path, stop: Option<&'a AtomicBool>) -> StreamJob<'a> {
    StreamJob {
        input,
        output,
        read: crate::table::ReadOptions::of(FileFormat::Csv),
        output_format: FileFormat::Csv,
        rejected: None,
        protected: crate::guard::Protected::new(),
        on_bad_row: BadRowPolicy::Error,
        batch_size: 16,
        quiet: true,
        interrupt: stop,
        label: "test",
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_writer_failing_midway_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = articles(dir.path(), 500);
    let output = dir.path().join("out.csv");
    let mut stage = SegmentStage::new("body".into(), "id".into());
    let err = run_stream_to(&job(&input, &output, None), &mut stage, |fill| {
        crate::io::write_atomic_stream(&output, |w| {
            fill(&mut FailingWriter {
                inner: w,
                left: 5_000,
            })
        })
    })
    .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(
        stage.statements > 0,
        "the failure must happen after rows were written"
    );
    assert_eq!(files_in(dir.path()), ["articles.csv"]);
}

#[test]
fn an_interrupt_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = articles(dir.path(), 50);
    let io = IoOptions {
        input,
        output: dir.path().join("out.csv"),
        read: crate::table::TableFlags::default(),
        output_format: None,
        on_bad_row: BadRowPolicy::Error,
        rejected: None,
        batch_size: 8,
        quiet: true,
    };
    let opts = SegmentOptions {
        text_column: "body".into(),
        id_column: "id".into(),
    };
    let stop = AtomicBool::new(true);
    let err = segment_file(&io, &opts, Some(&stop)).unwrap_err();
    assert!(matches!(err, Error::Interrupted));
    assert_eq!(files_in(dir.path()), ["articles.csv"]);
    let s = segment_file(&io, &opts, None).unwrap();
    assert_eq!((s.rows_in, s.rows_out), (50, 150));
}
