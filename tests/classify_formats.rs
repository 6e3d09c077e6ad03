//! Every input format (csv, tsv, jsonl, parquet) against every output format gives the same
//! rows and labels as csv to csv.

mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A small statement file written in `format` with polars.
fn write_input(dir: &Path, format: &str) -> PathBuf {
    let (csv_path, _) = awkward(dir);
    let path = dir.join(format!("in.{format}"));
    if format == "csv" {
        return csv_path;
    }
    let t = read(&csv_path);
    if format == "parquet" {
        use polars::prelude::*;
        let cols: Vec<Column> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v: Vec<Option<String>> = t.data.iter().map(|r| r[i].clone()).collect();
                Column::new(c.as_str().into(), v)
            })
            .collect();
        let mut df = DataFrame::new(t.height(), cols).unwrap();
        ParquetWriter::new(fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        return path;
    }
    let mut f = fs::File::create(&path).unwrap();
    if format == "tsv" {
        let mut w = csv::WriterBuilder::new().delimiter(b'\t').from_writer(f);
        w.write_record(&t.columns).unwrap();
        for r in &t.data {
            w.write_record(r.iter().map(|v| v.as_deref().unwrap_or("")))
                .unwrap();
        }
        w.flush().unwrap();
    } else {
        // Written by hand: serde_json's map would sort the keys.
        for r in &t.data {
            let fields: Vec<String> = t
                .columns
                .iter()
                .zip(r)
                .map(|(c, v)| format!("{}:{}", serde_json::json!(c), serde_json::json!(v)))
                .collect();
            writeln!(f, "{{{}}}", fields.join(",")).unwrap();
        }
    }
    path
}

#[test]
fn every_format_in_and_out_gives_the_same_labels() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let formats = ["csv", "tsv", "jsonl", "parquet"];
    let mut reference: Option<Vec<Vec<Option<String>>>> = None;
    for fin in formats {
        let sub = dir.path().join(fin);
        fs::create_dir(&sub).unwrap();
        let input = write_input(&sub, fin);
        for fout in formats {
            let out = sub.join(format!("out.{fout}"));
            let o = stancekit(&[
                "classify",
                "-q",
                "-m",
                m.to_str().unwrap(),
                "-i",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{fin} -> {fout}: {}", text(&o.stderr));
            let t = read(&out);
            let keep = ["id", "text", "note", "stance", "sentiment", "status"];
            assert_eq!(&t.columns[..3], ["id", "text", "note"], "{fin} -> {fout}");
            let got: Vec<Vec<Option<String>>> = keep
                .iter()
                .map(|c| {
                    column(&t, c)
                        .into_iter()
                        .map(|v| v.map(String::from))
                        .collect()
                })
                .collect();
            match &reference {
                None => reference = Some(got),
                Some(r) => assert_eq!(r, &got, "{fin} -> {fout} differs from csv -> csv"),
            }
        }
    }
}

#[test]
fn parquet_from_stdin_is_buffered_and_labelled_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = write_input(dir.path(), "parquet");
    let ms = m.to_str().unwrap();
    let out = dir.path().join("out.csv");
    let o = stancekit(&[
        "classify",
        "-q",
        "-m",
        ms,
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut child = std::process::Command::new(BIN)
        .args([
            "classify", "-q", "-m", ms, "-i", "-", "--format", "parquet", "-o", "-",
        ])
        .args(["--output-format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = fs::read(&input).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", text(&piped.stderr));
    assert_eq!(text(&piped.stdout), fs::read_to_string(&out).unwrap());
}
