//! `stancekit tune` through the real binary, on a tiny corpus and a budget of a few trials:
//! reproducible for a seed, resumable after an interruption, blind to the dev and test
//! splits, and strict about its folder and its space.

mod common;

use common::{model, stancekit, text};
use serde_json::Value;
use std::fs;
use std::path::Path;

fn tune(dir: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let cfg = dir.join("run.toml");
    let out = dir.join(out);
    let mut args = vec![
        "tune",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--set",
        "train.epochs=2",
    ];
    args.extend_from_slice(extra);
    stancekit(&args)
}

/// What must not change between two runs of one search: every trial's values and scores.
fn outcome(summary: &Value) -> Vec<(Value, Value, Value)> {
    summary["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["params"].clone(),
                t["fold_scores"].clone(),
                t["status"].clone(),
            )
        })
        .collect()
}

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_search_is_reproducible_for_a_seed_and_writes_the_best_config_and_every_trial() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let a = json(&tune(dir.path(), "a", &["--trials", "3"]));
    let b = json(&tune(dir.path(), "b", &["--trials", "3"]));
    assert_eq!(outcome(&a), outcome(&b));
    let trials = a["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3);
    assert_eq!(
        trials[0]["params"],
        serde_json::json!({}),
        "trial 0 is the config"
    );
    assert_ne!(trials[1]["params"], trials[2]["params"]);
    for t in trials {
        assert_eq!(t["fold_scores"].as_array().unwrap().len(), 3, "{t}");
    }
    let other = json(&tune(dir.path(), "c", &["--trials", "3", "--seed", "99"]));
    assert_ne!(
        outcome(&a)[1],
        outcome(&other)[1],
        "another seed draws other values"
    );

    let best = dir.path().join("a/best.toml");
    let saved = fs::read_to_string(&best).unwrap();
    assert!(saved.contains("name = \"tiny-tuned\""), "{saved}");
    let report = fs::read_to_string(dir.path().join("a/tune-report.md")).unwrap();
    assert!(report.contains("**best**"), "{report}");
    assert!(!dir.path().join("a/runs").read_dir().unwrap().any(|_| true));
    let o = stancekit(&["train", "-q", "--config", best.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn an_interrupted_search_resumes_to_the_result_of_an_unbroken_one() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let straight = json(&tune(dir.path(), "straight", &["--trials", "3"]));
    let o = tune(
        dir.path(),
        "broken",
        &["--trials", "3", "--stop-after-runs", "4"],
    );
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("resume"), "{}", text(&o.stderr));
    let log = fs::read_to_string(dir.path().join("broken/trials.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 4);
    let resumed = json(&tune(dir.path(), "broken", &["--trials", "3"]));
    assert_eq!(outcome(&straight), outcome(&resumed));
}

#[test]
fn a_search_never_reads_the_dev_or_test_split() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    // Labels no task knows: a run that encoded these rows would stop with an error.
    let poison = "article,text,stance,sentiment\nz1,Anything at all,unknown-stance,negative\n";
    fs::write(dir.path().join("poison.csv"), poison).unwrap();
    let sets = [
        "--set",
        "data.dev=\"poison.csv\"",
        "--set",
        "data.test=\"poison.csv\"",
    ];
    let cfg = dir.path().join("run.toml");
    let mut train = vec!["train", "-q", "--config", cfg.to_str().unwrap()];
    train.extend_from_slice(&sets);
    let o = stancekit(&train);
    assert_eq!(
        o.status.code(),
        Some(2),
        "train must read the poisoned splits"
    );
    let mut extra = vec!["--trials", "2"];
    extra.extend_from_slice(&sets);
    let summary = json(&tune(dir.path(), "blind", &extra));
    assert_eq!(summary["trials"].as_array().unwrap().len(), 2);
}

#[test]
fn a_folder_holding_another_search_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    json(&tune(dir.path(), "s", &["--trials", "1"]));
    let o = tune(dir.path(), "s", &["--trials", "1", "--seed", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("another search"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_space_over_data_keys_or_with_an_empty_choice_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    for (space, key) in [
        ("\"data.path\" = { choice = [\"x.csv\"] }", "data.path"),
        ("\"model.dim\" = { choice = [] }", "model.dim"),
        ("\"train.lr\" = { log_uniform = [0.0, 0.1] }", "train.lr"),
    ] {
        let cfg = fs::read_to_string(dir.path().join("run.toml")).unwrap();
        fs::write(
            dir.path().join("run.toml"),
            format!("{cfg}\n[tune.space]\n{space}\n"),
        )
        .unwrap();
        let o = tune(dir.path(), "bad", &["--trials", "1"]);
        assert_eq!(o.status.code(), Some(2), "{space}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(key),
            "{space}: {}",
            text(&o.stderr)
        );
        fs::write(dir.path().join("run.toml"), cfg).unwrap();
    }
}

#[test]
fn a_budget_stops_the_search_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let summary = json(&tune(dir.path(), "budget", &["--budget", "1ms"]));
    assert_eq!(summary["stopped_by"], "budget");
    // The first run starts before any time is spent; the budget stops the next.
    let runs = fs::read_to_string(dir.path().join("budget/trials.jsonl")).unwrap();
    assert_eq!(runs.lines().count(), 1);
}

#[test]
fn a_drawn_value_the_config_refuses_fails_its_trial_and_the_search_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let cfg = fs::read_to_string(dir.path().join("run.toml")).unwrap();
    let space = "[tune.space]\n\"model.dropout\" = { uniform = [1.0, 1.5] }\n";
    fs::write(dir.path().join("run.toml"), format!("{cfg}\n{space}")).unwrap();
    let summary = json(&tune(dir.path(), "refused", &["--trials", "3"]));
    let trials = summary["trials"].as_array().unwrap();
    assert_eq!(trials[0]["status"], "complete");
    for t in &trials[1..] {
        assert_eq!(t["status"], "failed", "{t}");
        assert!(
            t["failure"].as_str().unwrap().contains("model.dropout"),
            "{t}"
        );
    }
    assert_eq!(summary["best"], 0);
}
