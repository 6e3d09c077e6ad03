//! Helpers shared by the classify and segment CLI tests: a tiny trained model, the binary,
//! a reader for any output format, and a file of awkward rows.
#![allow(dead_code)]

pub mod encoder;

use stancekit::config::{parse_config, FileFormat};
use stancekit::data::{read_table, ReadOptions, Table};
use stancekit::train::{train, TrainOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_stancekit");

/// Train a small bow model on a three-class corpus; returns its model-best folder.
pub fn model(dir: &Path) -> PathBuf {
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
    fs::write(dir.join("run.toml"), cfg).unwrap();
    let cfg = parse_config(cfg, &dir.join("run.toml"), &[]).unwrap();
    let run = cfg.valid.run_dir();
    let opts = TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    };
    train(cfg, &opts).unwrap();
    run.join("model-best")
}

pub fn stancekit(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn read(path: &Path) -> Table {
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

pub fn column<'a>(t: &'a Table, name: &str) -> Vec<Option<&'a str>> {
    let i = t.columns.iter().position(|c| c == name).unwrap();
    t.data.iter().map(|r| r[i].as_deref()).collect()
}

/// Awkward rows: empty and whitespace texts, quotes, commas, a newline, unicode, a long text.
pub fn awkward(dir: &Path) -> (PathBuf, Vec<&'static str>) {
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
