//! `stancekit classify` end to end on small files made here, with a tiny model trained
//! through the library: column order, empty and awkward texts, stdin/stdout, the overwrite
//! guard, bad rows, abstain and top-k.

mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
            assert!((1.0 / 3.0 - 1e-6..=1.0).contains(&score));
            assert!((0.0..=score).contains(&margin));
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
    assert!(text(&o.stderr).contains("it is the input file"));
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
