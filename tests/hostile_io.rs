//! Regression tests for hostile input (issue 12), part two: values that must pass through
//! `classify` unchanged in every format pair, a closed stdout, and every signal that ends a
//! process.

mod common;

use common::{model, stancekit, text};
use polars::prelude::*;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn all(o: &std::process::Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

fn classify(m: &Path, input: &Path, out: &Path) -> std::process::Output {
    stancekit(&[
        "classify",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
    ])
}

fn typed_frame() -> DataFrame {
    let date = Series::new("day".into(), [19000i32, 19001])
        .cast(&DataType::Date)
        .unwrap();
    let ts = Series::new("at".into(), [1_700_000_000_000i64, 1_700_000_000_001])
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .unwrap();
    let dec = Series::new("amount".into(), [12345i64, -5])
        .cast(&DataType::Decimal(10, 2))
        .unwrap();
    let cols = vec![
        Series::new("text".into(), ["Peru signed the deal", ""]).into_column(),
        Series::new("big".into(), [1e300f64, 0.1]).into_column(),
        Series::new("huge".into(), [u64::MAX, 1]).into_column(),
        Series::new("small".into(), [-3i8, 7]).into_column(),
        Series::new("flag".into(), [true, false]).into_column(),
        Series::new("maybe".into(), [Some(1i64), None]).into_column(),
        date.into_column(),
        ts.into_column(),
        dec.into_column(),
    ];
    DataFrame::new(2, cols).unwrap()
}

#[test]
fn parquet_values_of_every_type_pass_through_classify_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("in.parquet");
    let mut df = typed_frame();
    ParquetWriter::new(fs::File::create(&input).unwrap())
        .finish(&mut df)
        .unwrap();
    let out = dir.path().join("out.parquet");
    let o = classify(&m, &input, &out);
    assert!(o.status.success(), "{}", all(&o));
    let back = ParquetReader::new(fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    for col in df.columns() {
        let got = back.column(col.name()).unwrap();
        assert_eq!(got.dtype(), col.dtype(), "{}", col.name());
        assert!(
            got.as_materialized_series()
                .equals_missing(col.as_materialized_series()),
            "{}: {got:?} != {col:?}",
            col.name()
        );
    }
    let status = back.column("status").unwrap().str().unwrap().get(1);
    assert_eq!(status, Some("empty_text"));
    // To text formats the values are written exactly.
    let csv = dir.path().join("out.csv");
    assert!(classify(&m, &input, &csv).status.success());
    let body = fs::read_to_string(&csv).unwrap();
    assert!(
        body.contains(",1e300,18446744073709551615,-3,true,1,"),
        "{body}"
    );
    let jsonl = dir.path().join("out.jsonl");
    assert!(classify(&m, &input, &jsonl).status.success());
    let body = fs::read_to_string(&jsonl).unwrap();
    assert!(body.contains("\"huge\":18446744073709551615"), "{body}");
    assert!(body.contains("\"maybe\":null"), "{body}");
}

#[test]
fn jsonl_numbers_and_empty_csv_texts_come_out_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("in.jsonl");
    fs::write(
        &input,
        "{\"id\":12345678901234567890,\"x\":1E2,\"text\":\"Peru signed\",\"n\":[1, 2.50]}\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    assert!(classify(&m, &input, &out).status.success());
    let body = fs::read_to_string(&out).unwrap();
    assert!(
        body.starts_with(
            "{\"id\":12345678901234567890,\"x\":1E2,\"text\":\"Peru signed\",\"n\":[1, 2.50],"
        ),
        "{body}"
    );
    let csv = dir.path().join("in.csv");
    fs::write(&csv, "id,text,note\n1,,\n").unwrap();
    for ext in ["jsonl", "parquet"] {
        let out = dir.path().join(format!("out2.{ext}"));
        assert!(classify(&m, &csv, &out).status.success());
        let t = common::read(&out);
        assert_eq!(t.height(), 1);
        if ext == "jsonl" {
            let body = fs::read_to_string(&out).unwrap();
            assert!(body.contains("\"text\":\"\",\"note\":\"\""), "{body}");
        } else {
            let df = ParquetReader::new(fs::File::open(&out).unwrap())
                .finish()
                .unwrap();
            let note = df.column("note").unwrap().str().unwrap().get(0);
            assert_eq!(note, Some(""), "an empty text is not a null");
        }
    }
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

#[test]
fn a_closed_stdout_is_a_clean_stop_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let ms = m.to_str().unwrap();
    let mut rows = String::from("text,stance,sentiment\n");
    for i in 0..3000 {
        rows.push_str(&format!("Peru signed deal {i},cooperation,positive\n"));
    }
    fs::write(dir.path().join("d.csv"), rows).unwrap();
    let texts: String = (0..3000)
        .map(|i| format!("Peru signed deal {i}\n"))
        .collect();
    fs::write(dir.path().join("t.csv"), format!("text\n{texts}")).unwrap();
    let ev = ["evaluate", "-m", ms, "-d", "d.csv", "-o", "rep"];
    assert!(Command::new(common::BIN)
        .args(ev)
        .current_dir(dir.path())
        .output()
        .unwrap()
        .status
        .success());
    let commands: Vec<Vec<&str>> = vec![
        vec!["config", "init"],
        vec!["config", "show", "-c", "run.toml"],
        vec!["data", "check", "-c", "run.toml"],
        ev.to_vec(),
        vec!["compare", "rep", "rep"],
        vec!["classify", "-m", ms, "-i", "t.csv", "-o", "-"],
        vec![
            "train",
            "-c",
            "run.toml",
            "-q",
            "--set",
            "run.name=\"piped\"",
        ],
    ];
    for args in commands {
        let o = Command::new(common::BIN)
            .args(&args)
            .current_dir(dir.path())
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("error"),
            "{args:?}: {err}"
        );
    }
}

/// Start `classify` reading stdin, feed it a few rows, and wait until its temporary output
/// file exists.
fn start_classify(dir: &Path, m: &Path) -> std::process::Child {
    let mut child = Command::new(common::BIN)
        .args([
            "classify",
            "-m",
            m.to_str().unwrap(),
            "-i",
            "-",
            "-o",
            "out/o.csv",
        ])
        .args(["--batch-size", "1", "-q"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.as_mut().unwrap();
    stdin
        .write_all(b"text\nPeru signed\nChile condemned\n")
        .unwrap();
    stdin.flush().unwrap();
    // Up to a minute: a loaded CI machine can be slow to start the process.
    for _ in 0..2400 {
        if dir.join("out").is_dir() && !temps_in(&dir.join("out")).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    child
}

/// Lines of the child's stderr that announce an interrupt, as they come.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("interrupt") {
                let _ = tx.send(line);
            }
        }
    });
    rx
}

fn temps_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn kill(child: &std::process::Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn every_signal_that_ends_classify_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    for signal in ["INT", "TERM", "HUP", "QUIT"] {
        let mut child = start_classify(dir.path(), &m);
        assert!(
            !temps_in(&dir.path().join("out")).is_empty(),
            "{signal}: no temp file seen"
        );
        let notices = stderr_lines(&mut child);
        kill(&child, signal);
        // The signal thread sets the stop flag, then says so; only then does the loop get its
        // next batch, at which it must stop.
        let seen = notices.recv_timeout(std::time::Duration::from_secs(60));
        assert!(seen.is_ok(), "{signal}: no interrupt notice");
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"Japan agreed\n");
        drop(stdin);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}");
        assert!(temps_in(&dir.path().join("out")).is_empty(), "{signal}");
    }
    // A second signal does not wait for the batch: it cleans up and exits at once.
    let mut child = start_classify(dir.path(), &m);
    let notices = stderr_lines(&mut child);
    kill(&child, "TERM");
    let seen = notices.recv_timeout(std::time::Duration::from_secs(60));
    assert!(seen.is_ok(), "no interrupt notice");
    // stdin stays open: only the second signal can end the process now.
    let stdin = child.stdin.take();
    kill(&child, "TERM");
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130));
    assert!(temps_in(&dir.path().join("out")).is_empty());
}
