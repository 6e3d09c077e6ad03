//! `stancekit segment` and `classify --segment` end to end: statements with character
//! offsets, empty articles kept, classification columns after the segment columns.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn article_file(dir: &Path) -> PathBuf {
    let p = dir.join("articles.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    w.write_record(["article_id", "body"]).unwrap();
    w.write_record(["doc-1", "ABUJA, Jan. 5 — Maj. Gen. J. R. Okafor of the U.S. mission condemned the raid. He said: \"We will not yield.\" Growth was 3.5 percent.\n\nPeru signed the deal... The talks resumed."]).unwrap();
    w.write_record(["doc-2", ""]).unwrap();
    w.write_record(["doc-3", "Japan invited Chile"]).unwrap();
    w.flush().unwrap();
    p
}

#[test]
fn segment_writes_statements_with_character_offsets_and_keeps_empty_articles() {
    let dir = tempfile::tempdir().unwrap();
    let input = article_file(dir.path());
    let out = dir.path().join("statements.csv");
    let o = stancekit(&[
        "segment",
        "-i",
        input.to_str().unwrap(),
        "--text-column",
        "body",
        "--id-column",
        "article_id",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("articles in: 3, statements out: 7"),
        "{}",
        text(&o.stdout)
    );
    let t = read(&out);
    assert_eq!(
        t.columns,
        ["article_id", "statement_index", "start", "end", "text"]
    );
    assert_eq!(
        column(&t, "article_id"),
        [Some("doc-1"); 5]
            .into_iter()
            .chain([Some("doc-2"), Some("doc-3")])
            .collect::<Vec<_>>()
    );
    assert_eq!(
        column(&t, "statement_index"),
        [
            Some("0"),
            Some("1"),
            Some("2"),
            Some("3"),
            Some("4"),
            Some("0"),
            Some("0")
        ]
    );
    assert_eq!(
        column(&t, "text")[1],
        Some("He said: \"We will not yield.\"")
    );
    assert_eq!(
        column(&t, "text")[5],
        None,
        "the empty article keeps one empty row"
    );
    let body: Vec<char> = read(&input).data[0][1].clone().unwrap().chars().collect();
    for (i, row) in t.data.iter().enumerate().take(5) {
        let start: usize = row[2].as_deref().unwrap().parse().unwrap();
        let end: usize = row[3].as_deref().unwrap().parse().unwrap();
        assert_eq!(
            body[start..end].iter().collect::<String>(),
            row[4].clone().unwrap(),
            "row {i}"
        );
    }
}

#[test]
fn classify_with_segment_labels_each_statement() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = article_file(dir.path());
    let out = dir.path().join("out.parquet");
    let o = stancekit(&[
        "classify",
        "-q",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--segment",
        "--text-column",
        "body",
        "--id-column",
        "article_id",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = read(&out);
    assert_eq!(
        &t.columns[..5],
        ["article_id", "statement_index", "start", "end", "text"]
    );
    assert_eq!(t.columns.last().unwrap(), "status");
    assert_eq!(t.height(), 7);
    assert_eq!(column(&t, "status")[5], Some("empty_text"));
}

#[test]
fn parquet_keeps_numbers_as_numbers_through_segment_and_classify() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = article_file(dir.path());
    let seg = dir.path().join("statements.parquet");
    let o = stancekit(&[
        "segment",
        "-q",
        "-i",
        input.to_str().unwrap(),
        "--text-column",
        "body",
        "--id-column",
        "article_id",
        "-o",
        seg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let df = ParquetReader::new(std::fs::File::open(&seg).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.column("start").unwrap().dtype(), &DataType::Int64);
    let out = dir.path().join("labelled.jsonl");
    let o = stancekit(&[
        "classify",
        "-q",
        "-m",
        m.to_str().unwrap(),
        "-i",
        seg.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let first = std::fs::read_to_string(&out).unwrap();
    let v: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(v["start"], serde_json::json!(0));
    assert!(v["stance_score"].is_f64());
}
