//! Training from several labelled sources at once (`[[data.sources]]`): each source read with
//! its own columns and label maps, split on its own groups, weighted, counted by source in
//! `data check` and the reports, and carried through train, resume and evaluate.

use stancekit::config::{parse_config, LoadedConfig};
use stancekit::data::{encode, load_corpus, Part};
use stancekit::train::{resume, train, TrainOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A primary corpus (two tasks) and a PLOVER-coded one (stance only, its own columns).
fn files(dir: &Path) {
    let verbs = [
        ("condemned", "condemnation", "negative"),
        ("signed", "cooperation", "positive"),
        ("invited", "invitation", "positive"),
        ("noted", "other", "neutral"),
    ];
    let mut main = String::from("article,text,stance,sentiment\n");
    for i in 0..48 {
        let (v, s, m) = verbs[i % 4];
        main.push_str(&format!(
            "m{},Country {i} {v} the plan on day {i},{s},{m}\n",
            i / 2
        ));
    }
    fs::write(dir.join("main.csv"), main).unwrap();
    let codes = ["ACCUSE", "AGREE", "ASSAULT", "CONSULT", "YIELD"];
    let mut plv = String::from("sid\tsentence\tcode\n");
    for i in 0..40 {
        let code = codes[i % codes.len()];
        plv.push_str(&format!(
            "p{}\tThe ministry reported {code} number {i}\t{code}\n",
            i / 4
        ));
    }
    fs::write(dir.join("plover.tsv"), plv).unwrap();
}

const BASE: &str = "[run]\nname = \"multi\"\nseed = 7\noutput_dir = \"runs\"\n[data]\nname = \"main\"\npath = \"main.csv\"\ngroup_column = \"article\"\n";

fn source(extra: &str) -> String {
    format!(
        "[[data.sources]]\nname = \"plover\"\npath = \"plover.tsv\"\ntext_column = \"sentence\"\ngroup_column = \"sid\"\nid_column = \"sid\"\ntasks = [\"stance\"]\nweight = 0.5\n{extra}[data.sources.columns]\nstance = \"code\"\n[data.sources.label_map.stance]\nACCUSE = \"condemnation\"\nAGREE = \"cooperation\"\nCONSULT = \"cooperation\"\n[data.sources.unknown]\nstance = \"map:other\"\n"
    )
}

const REST: &str = "[split]\ndev = 0.25\ntest = 0.25\n[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\", \"invitation\", \"other\"]\n[[tasks]]\nname = \"sentiment\"\nlabels = [\"negative\", \"neutral\", \"positive\"]\n[text]\nbuckets = 2000\n[model]\nkind = \"bow\"\ndim = 8\n[train]\nepochs = 3\nbatch_size = 4\nlr = 0.05\nthreads = 1\n";

fn config(dir: &Path, extra: &str) -> LoadedConfig {
    files(dir);
    let text = format!("{BASE}{}{REST}", source(extra));
    fs::write(dir.join("run.toml"), &text).unwrap();
    parse_config(&text, &dir.join("run.toml"), &[]).unwrap()
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    }
}

#[test]
fn each_source_is_split_on_its_own_groups_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let corpus = load_corpus(&cfg.valid).unwrap();
    assert_eq!(corpus.sources, ["main", "plover"]);
    let mut per_source = BTreeMap::new();
    let mut group_parts: BTreeMap<(usize, String), BTreeSet<Part>> = BTreeMap::new();
    for s in &corpus.splits {
        for r in &s.records {
            *per_source.entry(r.source).or_insert(0) += 1;
            let g = r.group.clone().unwrap();
            group_parts.entry((r.source, g)).or_default().insert(s.part);
        }
    }
    assert_eq!(per_source, BTreeMap::from([(0, 48), (1, 40)]));
    assert!(
        group_parts.values().all(|p| p.len() == 1),
        "a group straddles splits"
    );
    let dev = corpus.split(Part::Dev).unwrap();
    assert!(
        dev.records.iter().any(|r| r.source == 1),
        "the source is split too"
    );
}

#[test]
fn a_source_with_split_train_goes_whole_into_training() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "split = \"train\"\n");
    let corpus = load_corpus(&cfg.valid).unwrap();
    for s in &corpus.splits {
        let n = s.records.iter().filter(|r| r.source == 1).count();
        assert_eq!(
            n,
            if s.part == Part::Train { 40 } else { 0 },
            "{:?}",
            s.part
        );
    }
}

#[test]
fn a_source_labels_only_its_tasks_with_its_own_map_and_weight() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "split = \"train\"\n");
    let corpus = load_corpus(&cfg.valid).unwrap();
    let train = corpus.split(Part::Train).unwrap();
    let (examples, report) = encode(&cfg.valid, &corpus, train).unwrap();
    assert_eq!(report.dropped_unknown, 0);
    let plover: Vec<_> = examples
        .iter()
        .filter(|e| e.text.contains("ministry"))
        .collect();
    assert_eq!(plover.len(), 40);
    for e in &plover {
        assert_eq!(
            e.labels[1], None,
            "sentiment is not labelled by this source"
        );
        assert_eq!(e.weight, 0.5);
        let want = ["ACCUSE", "AGREE", "CONSULT", "ASSAULT", "YIELD"]
            .iter()
            .position(|c| e.text.contains(c))
            .map(|i| [0, 1, 1, 3, 3][i]);
        assert_eq!(e.labels[0], want, "{}", e.text);
    }
    assert!(examples
        .iter()
        .filter(|e| !e.text.contains("ministry"))
        .all(|e| e.weight == 1.0 && e.labels[1].is_some()));
}

#[test]
fn data_check_and_the_reports_break_counts_down_by_source() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), "");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stancekit"))
        .args(["data", "check", "-c", "run.toml", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["split"].as_str().unwrap())
        .collect();
    for want in [
        "train",
        "train / main",
        "train / plover",
        "dev / plover",
        "test / main",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    let cfg = config(dir.path(), "");
    let mut s = train(cfg, &quiet()).unwrap();
    stancekit::report::splits::write_run_reports(&mut s).unwrap();
    let report = fs::read_to_string(s.run_dir.join("report-dev/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let text = report.to_string();
    assert!(
        text.contains("\"plover\"") && text.contains("\"main\""),
        "no slices by source"
    );
}

#[test]
fn a_multi_source_run_resumes_to_the_same_bits_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let straight = train(config(dir.path(), ""), &quiet()).unwrap();
    let other = tempfile::tempdir().unwrap();
    let stop = TrainOptions {
        quiet: true,
        stop_after_steps: Some(7),
        ..TrainOptions::default()
    };
    let err = train(config(other.path(), ""), &stop).unwrap_err();
    assert!(matches!(err, stancekit::Error::Interrupted));
    let resumed = resume(&other.path().join("runs/multi"), &quiet()).unwrap();
    assert_eq!(resumed.weights_sha256, straight.weights_sha256);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stancekit"))
        .args([
            "evaluate",
            "-m",
            "runs/multi/model-best",
            "-d",
            "main.csv",
            "-o",
            "rep",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn bad_source_settings_are_refused_with_their_key() {
    let cases = [
        (
            "name = \"plover\"",
            "name = \"main\"",
            "data.sources[0].name",
        ),
        (
            "tasks = [\"stance\"]",
            "split = \"sometimes\"",
            "data.sources[0].split",
        ),
        (
            "tasks = [\"stance\"]",
            "tasks = [\"topic\"]",
            "data.sources[0].tasks",
        ),
        ("weight = 0.5", "weight = -1.0", "data.sources[0].weight"),
    ];
    for (from, to, key) in cases {
        let dir = tempfile::tempdir().unwrap();
        files(dir.path());
        let text = format!("{BASE}{}{REST}", source("")).replace(from, to);
        let err = parse_config(&text, &dir.path().join("run.toml"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{to}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{BASE}{}{REST}", source(""))
        .replace("\"cooperation\"\nCONSULT", "\"partnership\"\nCONSULT");
    let err = parse_config(&text, &dir.path().join("run.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("data.sources[0].label_map"), "{err}");
}
