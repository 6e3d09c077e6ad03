//! Library-level tests of the streaming loop: atomic output under failure and interrupt, the
//! readers' line numbers and bad-row reasons, and the overwrite guard.

use super::cell::Cell;
use super::input::RowReader;
use super::stages::SegmentStage;
use super::stream::{refuse_overwrite, run_stream_to, BadRowPolicy, StreamJob};
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
        input_format: FileFormat::Csv,
        output_format: FileFormat::Csv,
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
        input_format: None,
        output_format: None,
        on_bad_row: BadRowPolicy::Error,
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

#[test]
fn csv_records_carry_their_start_line_across_quoted_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "a,b\n1,\"x\ny\"\n2,z\n3\n").unwrap();
    let mut r = RowReader::open(&p, FileFormat::Csv).unwrap();
    let first = r.next_record().unwrap().unwrap().unwrap();
    assert_eq!(first.line, 2);
    assert_eq!(first.cells[1], Cell::Text("x\ny".into()));
    assert_eq!(r.next_record().unwrap().unwrap().unwrap().line, 4);
    let bad = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!((bad.line, bad.raw.as_str()), (5, "3"));
    assert!(bad.error.to_string().contains("line 5"), "{}", bad.error);
    assert!(r.next_record().unwrap().is_none());
}

#[test]
fn jsonl_rows_follow_the_first_objects_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.jsonl");
    std::fs::write(
        &p,
        "{\"id\":1,\"text\":\"a\"}\n\n{\"text\":\"b\"}\n{\"id\":3,\"other\":1}\nnot json\n",
    )
    .unwrap();
    let mut r = RowReader::open(&p, FileFormat::Jsonl).unwrap();
    assert_eq!(r.columns(), ["id", "text"]);
    let a = r.next_record().unwrap().unwrap().unwrap();
    assert_eq!(a.cells, [Cell::Raw("1".into()), Cell::Text("a".into())]);
    let b = r.next_record().unwrap().unwrap().unwrap();
    assert_eq!((b.line, &b.cells[0]), (3, &Cell::Null));
    let extra = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!(extra.line, 4);
    assert!(extra.reason.contains("`other`"), "{}", extra.reason);
    let bad = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!(bad.line, 5);
}

#[test]
fn invalid_utf8_in_a_field_is_a_bad_row_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, b"a,b\n1,ok\n2,bad \xff byte\n").unwrap();
    let mut r = RowReader::open(&p, FileFormat::Csv).unwrap();
    assert!(r.next_record().unwrap().unwrap().is_ok());
    let bad = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!(bad.line, 3);
    assert!(matches!(*bad.error, Error::InvalidUtf8 { line: 3, .. }));
}

#[test]
fn the_input_is_recognised_under_another_spelling_of_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = articles(dir.path(), 1);
    let same = dir.path().join(".").join("articles.csv");
    assert!(refuse_overwrite(&input, &same).is_err());
    assert!(refuse_overwrite(&input, &dir.path().join("new.csv")).is_ok());
}
