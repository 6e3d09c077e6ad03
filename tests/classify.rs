//! `stancekit classify` and `stancekit segment` end to end on small files made here, with a
//! tiny model trained through the library: column order, empty and awkward texts, every format
//! in and out, stdin/stdout, the overwrite guard, bad rows, abstain, top-k and segmentation.

use stancekit::config::{parse_config, FileFormat};
use stancekit::data::{read_table, ReadOptions, Table};
use stancekit::train::{train, TrainOptions};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_stancekit");

/// Train a small bow model on a three-class corpus; returns its model-best folder.
fn model(dir: &Path) -> PathBuf {
    let classes = [
        (
            "condemnation",
            "negative",
            ["condemned", "denounced", "deplored"],
        ),
        ("cooperation", "positive", ["agreed", "signed", "pledged"]),
        ("invitation", "positive", ["invited", "welcomed", "hosted"]),
    ];
    let mut body = String::from("article,text,stance,sentiment\n");
    for (c, (stance, sentiment, verbs)) in classes.iter().enumerate() {
        for (i, actor) in ["Ghana", "Peru", "Japan", "Chile", "Kenya", "Oman"]
            .iter()
            .enumerate()
        {
            let verb = verbs[i % verbs.len()];
            body.push_str(&format!(
                "a{c}{i},{actor} {verb} the move on day {i},{stance},{sentiment}\n"
            ));
        }
    }
    fs::write(dir.join("tiny.csv"), body).unwrap();
    let cfg = r#"
[run]
name = "tiny"
seed = 3
output_dir = "runs"
[data]
train = "tiny.csv"
dev = "tiny.csv"
group_column = "article"
[[tasks]]
name = "stance"
labels = ["condemnation", "cooperation", "invitation"]
[[tasks]]
name = "sentiment"
labels = ["negative", "positive"]
[text]
buckets = 5000
max_tokens = 16
[model]
kind = "bow"
dim = 16
[train]
epochs = 3
batch_size = 4
lr = 0.02
threads = 1
"#;
    let cfg = parse_config(cfg, &dir.join("run.toml"), &[]).unwrap();
    let run = cfg.valid.run_dir();
    let opts = TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    };
    train(cfg, &opts).unwrap();
    run.join("model-best")
}

fn stancekit(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read(path: &Path) -> Table {
    let format = FileFormat::resolve("auto", path).unwrap();
    read_table(
        path,
        ReadOptions {
            format,
            delimiter: None,
            quoting: true,
        },
    )
    .unwrap()
}

fn column<'a>(t: &'a Table, name: &str) -> Vec<Option<&'a str>> {
    let i = t.columns.iter().position(|c| c == name).unwrap();
    t.data.iter().map(|r| r[i].as_deref()).collect()
}

/// Awkward rows: empty and whitespace texts, quotes, commas, a newline, unicode, a long text.
fn awkward(dir: &Path) -> (PathBuf, Vec<&'static str>) {
    let long: &'static str = Box::leak(
        "Ghana condemned the move again and again "
            .repeat(30)
            .into_boxed_str(),
    );
    let texts = vec![
        "Peru signed the deal",
        "",
        "   ",
        "He said \"we condemned it\", loudly",
        "Japan, Chile and Oman agreed",
        "first line\nsecond line invited",
        "Κένυα welcomed 日本 — «très bien» 🙂",
        long,
    ];
    let mut w = csv::Writer::from_path(dir.join("in.csv")).unwrap();
    w.write_record(["id", "text", "note"]).unwrap();
    for (i, t) in texts.iter().enumerate() {
        w.write_record([format!("r{i}").as_str(), t, "n,\"x\""])
            .unwrap();
    }
    w.flush().unwrap();
    (dir.join("in.csv"), texts)
}

#[test]
fn every_row_keeps_its_columns_order_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let (input, texts) = awkward(dir.path());
    let out = dir.path().join("out.csv");
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
    assert!(o.status.success(), "{}", text(&o.stderr));
    let n = texts.len();
    assert!(
        text(&o.stdout).contains(&format!("rows in: {n}, rows out: {n}")),
        "{}",
        text(&o.stdout)
    );
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "text",
            "note",
            "stance",
            "stance_score",
            "stance_margin",
            "sentiment",
            "sentiment_score",
            "sentiment_margin",
            "status"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), n);
    for (i, (row, t)) in rows.iter().zip(&texts).enumerate() {
        assert_eq!(&row[0], format!("r{i}"), "row order");
        assert_eq!(&row[1], *t, "text changed");
        assert_eq!(&row[2], "n,\"x\"");
        let status = &row[9];
        if t.trim().is_empty() {
            assert_eq!(status, "empty_text");
            assert_eq!((&row[3], &row[4], &row[6]), ("", "", ""));
        } else {
            let expected = if *t == texts[7] { "truncated" } else { "ok" };
            assert_eq!(status, expected, "row {i}");
            assert!(["condemnation", "cooperation", "invitation"].contains(&&row[3]));
            let score: f32 = row[4].parse().unwrap();
            let margin: f32 = row[5].parse().unwrap();
            assert!(score >= 1.0 / 3.0 - 1e-6 && score <= 1.0);
            assert!((0.0..=score).contains(&margin));
        }
    }
}

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
fn stdin_and_stdout_give_the_same_bytes_as_files() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let (input, _) = awkward(dir.path());
    let out = dir.path().join("out.csv");
    let ms = m.to_str().unwrap();
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
    assert!(o.status.success());
    let mut child = Command::new(BIN)
        .args(["classify", "-q", "-m", ms, "-i", "-", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&fs::read(&input).unwrap())
        .unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", text(&piped.stderr));
    assert_eq!(text(&piped.stdout), fs::read_to_string(&out).unwrap());
    assert!(text(&piped.stderr).contains("rows in: 8, rows out: 8"));
}

#[test]
fn the_input_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let (input, _) = awkward(dir.path());
    let before = fs::read(&input).unwrap();
    let same = dir.path().join(".").join("in.csv");
    let o = stancekit(&[
        "classify",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        same.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("refusing to overwrite"));
    assert_eq!(fs::read(&input).unwrap(), before);
}

fn bad_file(dir: &Path) -> PathBuf {
    let p = dir.join("bad.csv");
    fs::write(
        &p,
        "id,text\n1,Peru signed the deal\n2,too,many,fields\n3,\"quoted\nnewline agreed\"\n4,ok row\n5,\"unclosed quote\n6,never seen\n",
    )
    .unwrap();
    p
}

#[test]
fn a_bad_row_stops_the_run_with_its_line_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = bad_file(dir.path());
    let out = dir.path().join("out.csv");
    let o = stancekit(&[
        "classify",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad.csv, line 3: expected 2 fields, found 4"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(
        fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".stancekit"))
            .count(),
        0
    );
}

#[test]
fn skipped_bad_rows_go_to_the_rejected_file_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = bad_file(dir.path());
    let out = dir.path().join("out.csv");
    let o = stancekit(&[
        "classify",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--on-bad-row",
        "skip",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Records: 1, the ragged 2 (line 3), 3 (lines 4-5), 4, and 5 (line 7) whose open quote would
    // swallow the rest of the file.
    assert_eq!(
        (
            s["rows_in"].as_u64(),
            s["rows_out"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(5), Some(3), Some(2))
    );
    assert_eq!(s["rows_check"], true);
    let rejected = read(&dir.path().join("out.csv.rejected.csv"));
    assert_eq!(rejected.columns, ["line", "reason", "raw"]);
    assert_eq!(column(&rejected, "line"), [Some("3"), Some("7")]);
    assert_eq!(column(&rejected, "raw")[0], Some("2,too,many,fields"));
    let t = read(&out);
    assert_eq!(column(&t, "id"), [Some("1"), Some("3"), Some("4")]);
}

#[test]
fn abstain_replaces_labels_whose_top_probability_is_below_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let (input, _) = awkward(dir.path());
    let plain = dir.path().join("plain.csv");
    let ms = m.to_str().unwrap();
    let inp = input.to_str().unwrap();
    assert!(stancekit(&[
        "classify",
        "-q",
        "-m",
        ms,
        "-i",
        inp,
        "-o",
        plain.to_str().unwrap()
    ])
    .status
    .success());
    let t = read(&plain);
    let mut scores: Vec<f32> = column(&t, "stance_score")
        .into_iter()
        .flatten()
        .map(|s| s.parse().unwrap())
        .collect();
    scores.sort_by(f32::total_cmp);
    let threshold = scores[scores.len() / 2];
    let out = dir.path().join("abstain.csv");
    let o = stancekit(&[
        "classify",
        "-m",
        ms,
        "-i",
        inp,
        "-o",
        out.to_str().unwrap(),
        "--abstain-below",
        &threshold.to_string(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let a = read(&out);
    let mut abstained = 0;
    for ((label, score), before) in column(&a, "stance")
        .iter()
        .zip(column(&a, "stance_score"))
        .zip(column(&t, "stance"))
    {
        let Some(score) = score else { continue };
        if score.parse::<f32>().unwrap() < threshold {
            assert_eq!(*label, Some("abstain"));
            abstained += 1;
        } else {
            assert_eq!(*label, before);
        }
    }
    assert!(abstained > 0);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["tasks"]["stance"]["abstained"].as_u64(), Some(abstained));
}

#[test]
fn probabilities_and_top_k_agree_with_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let (input, _) = awkward(dir.path());
    let out = dir.path().join("out.jsonl");
    let o = stancekit(&[
        "classify",
        "-q",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--tasks",
        "stance",
        "--probs",
        "--top-k",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for line in fs::read_to_string(&out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v.get("sentiment").is_none(),
            "--tasks stance adds only stance columns"
        );
        if v["status"] == "empty_text" {
            assert!(v["stance_p_cooperation"].is_null());
            continue;
        }
        let p: Vec<f64> = ["condemnation", "cooperation", "invitation"]
            .iter()
            .map(|l| v[format!("stance_p_{l}")].as_f64().unwrap())
            .collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        assert_eq!(v["stance_top1"], v["stance"]);
        assert_eq!(v["stance_top1_p"], v["stance_score"]);
        assert!(v["stance_top2_p"].as_f64().unwrap() <= v["stance_top1_p"].as_f64().unwrap());
    }
    let o = stancekit(&[
        "classify",
        "-m",
        m.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        dir.path().join("x.csv").to_str().unwrap(),
        "--tasks",
        "topic",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no task `topic`"));
}

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
