//! The real `stancekit` binary on small files in a temporary folder: exit codes, messages,
//! JSON output.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn stancekit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stancekit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run stancekit")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_run(dir: &Path, rows: &str) {
    fs::write(dir.join("data.csv"), format!("article,text,stance\n{rows}")).unwrap();
    fs::write(
        dir.join("run.toml"),
        "[data]\ntrain = \"data.csv\"\ngroup_column = \"article\"\n[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\"]\n",
    )
    .unwrap();
}

#[test]
fn help_lists_subcommands_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let o = stancekit(&["--help"], dir.path());
    assert!(o.status.success());
    let s = text(&o);
    for word in ["train", "data", "config", "Exit codes", "Examples"] {
        assert!(s.contains(word), "--help lacks {word}:\n{s}");
    }
    let o = stancekit(&["data", "check", "--help"], dir.path());
    assert!(text(&o).contains("stancekit data check --config"));
}

#[test]
fn data_check_passes_on_clean_data_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    write_run(
        dir.path(),
        "a1,They condemned it.,condemnation\na2,They agreed.,cooperation\n",
    );
    let o = stancekit(
        &["data", "check", "--config", "run.toml", "--json"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["errors"], 0);
    assert_eq!(v["splits"][0]["rows"], 2);
}

#[test]
fn data_check_exits_1_on_errors_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    write_run(
        dir.path(),
        "a1,They condemned it.,condemnation\na2,They condemned it!,cooperation\na3,Odd.,praise\n",
    );
    let o = stancekit(&["data", "check", "--config", "run.toml"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s = text(&o);
    assert!(
        s.contains("error[conflicting_labels]") && s.contains("error[unknown_labels]"),
        "{s}"
    );
}

#[test]
fn input_and_config_errors_exit_2_with_location() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), "a1,ok,condemnation\na2,too,many,fields\n");
    let o = stancekit(&["data", "check", "--config", "run.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("data.csv, line 3: expected 3 fields, found 4"),
        "{}",
        text(&o)
    );

    let o = stancekit(
        &[
            "data",
            "check",
            "--config",
            "run.toml",
            "--set",
            "train.epoch=3",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("did you mean `epochs`"), "{}", text(&o));

    let o = stancekit(&["data", "check", "--config", "missing.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing.toml"));

    let o = stancekit(&["data", "frobnicate"], dir.path());
    assert_eq!(o.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn config_init_writes_a_config_that_show_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let o = stancekit(&["config", "init", "--out", "new.toml"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let o = stancekit(&["config", "init", "--out", "new.toml"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(2),
        "refuses to overwrite without --force"
    );
    let o = stancekit(
        &[
            "config",
            "show",
            "--config",
            "new.toml",
            "--set",
            "train.epochs=3",
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["train"]["epochs"], 3);
    assert_eq!(v["model"]["kind"], "bow");
}

/// Candle's thread pool is per process, so thread counts are compared across processes.
#[test]
fn thread_count_does_not_change_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::from("article,text,stance\n");
    for i in 0..24 {
        let (verb, label) = if i % 2 == 0 {
            ("condemned", "condemnation")
        } else {
            ("agreed to", "cooperation")
        };
        rows.push_str(&format!(
            "a{i},Country {i} {verb} the plan number {i} in the capital,{label}\n"
        ));
    }
    fs::write(dir.path().join("data.csv"), rows).unwrap();
    fs::write(
        dir.path().join("run.toml"),
        "[run]\noutput_dir = \"runs\"\n[data]\ntrain = \"data.csv\"\ndev = \"data.csv\"\n[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\"]\n[text]\nbuckets = 1000\n[model]\ndim = 32\ndropout = 0.1\n[train]\nepochs = 2\nbatch_size = 8\n",
    )
    .unwrap();
    // Each kind with a key of its own: [model] sections refuse another kind's keys.
    for (kind, own) in [
        ("bow", "model.hidden=0"),
        ("cnn", "model.filters=16"),
        ("transformer", "model.ff_dim=64"),
    ] {
        let sha = |threads: &str| {
            let o = stancekit(
                &[
                    "train",
                    "--json",
                    "--config",
                    "run.toml",
                    "--set",
                    &format!("model.kind=\"{kind}\""),
                    "--set",
                    own,
                    "--set",
                    &format!("train.threads={threads}"),
                    "--set",
                    &format!("run.name=\"{kind}{threads}\""),
                ],
                dir.path(),
            );
            assert!(o.status.success(), "{}", text(&o));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["threads"].as_u64().unwrap().to_string(), threads);
            v["weights_sha256"].as_str().unwrap().to_string()
        };
        assert_eq!(
            sha("1"),
            sha("2"),
            "{kind}: 1 and 2 threads give different weights"
        );
    }
}
