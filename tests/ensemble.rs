//! Ensembles (`stancekit ensemble`): members trained over seeds in one command, probabilities
//! averaged, used by evaluate, classify and distillation like any checkpoint, verified on
//! loading, and never written over a folder that is not one.

mod common;

use common::{column, model, read, stancekit, text};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn run_in(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(common::BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\n{}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The tiny corpus and config of `common::model`, with a seed ensemble of it in `ens`.
fn seed_ensemble(dir: &Path) -> PathBuf {
    model(dir);
    let out = run_in(
        dir,
        &[
            "ensemble", "-q", "-c", "run.toml", "--seeds", "1,2", "-o", "ens",
        ],
    );
    ok(&out);
    dir.join("ens/model-best")
}

fn classify(dir: &Path, model: &Path, output: &str) -> stancekit::data::Table {
    let texts: String = fs::read_to_string(dir.join("tiny.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').nth(1).unwrap().to_string() + "\n")
        .collect();
    fs::write(dir.join("texts.csv"), texts).unwrap();
    let out = run_in(
        dir,
        &[
            "classify",
            "-m",
            model.to_str().unwrap(),
            "-i",
            "texts.csv",
            "-o",
            output,
            "--probs",
        ],
    );
    ok(&out);
    read(&dir.join(output))
}

fn probs(t: &stancekit::data::Table, col: &str) -> Vec<f64> {
    column(t, col)
        .iter()
        .map(|v| v.unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_seed_ensemble_is_one_command_and_averages_its_members_probabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ens = seed_ensemble(dir);
    let m = manifest(&ens);
    assert_eq!(m["model_kind"], "ensemble");
    let members = m["ensemble"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let a = classify(dir, &dir.join("runs/tiny-seed1/model-best"), "a.csv");
    let b = classify(dir, &dir.join("runs/tiny-seed2/model-best"), "b.csv");
    let e = classify(dir, &ens, "e.csv");
    let mut moved = false;
    for col in [
        "stance_p_condemnation",
        "stance_p_invitation",
        "sentiment_p_positive",
    ] {
        let (pa, pb, pe) = (probs(&a, col), probs(&b, col), probs(&e, col));
        for ((x, y), z) in pa.iter().zip(&pb).zip(&pe) {
            assert!(
                (z - (x + y) / 2.0).abs() < 1e-6,
                "{col}: {z} is not the mean of {x} and {y}"
            );
            moved |= (x - y).abs() > 1e-4;
        }
    }
    assert!(moved, "the two seeds should give different members");
    for (r, seed) in members.iter().zip(["1", "2"]) {
        let member = manifest(&dir.join(format!("runs/tiny-seed{seed}/model-best")));
        assert_eq!(r["weights_sha256"], member["weights_sha256"]);
        assert_eq!(r["seed"].to_string(), seed);
    }
    assert!(dir.join("ens/report-dev/report.json").is_file());
}

#[test]
fn members_trained_with_other_seeds_keep_the_base_configs_split() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ens = seed_ensemble(dir);
    for seed in ["1", "2"] {
        let cfg =
            fs::read_to_string(dir.join(format!("runs/tiny-seed{seed}/model-best/config.toml")))
                .unwrap();
        let v: toml::Value = toml::from_str(&cfg).unwrap();
        assert_eq!(v["run"]["seed"].as_integer(), Some(seed.parse().unwrap()));
        assert_eq!(
            v["split"]["seed"].as_integer(),
            Some(3),
            "the base run.seed"
        );
    }
    assert_eq!(manifest(&ens)["ensemble"]["shared_split"], true);
}

#[test]
fn rebuilding_an_ensemble_reuses_its_members_and_gives_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ens = seed_ensemble(dir);
    let again = run_in(
        dir,
        &["ensemble", "-c", "run.toml", "--seeds", "1,2", "-o", "ens2"],
    );
    ok(&again);
    assert_eq!(text(&again.stderr).matches("trained already").count(), 2);
    let m2 = manifest(&dir.join("ens2/model-best"));
    assert_eq!(manifest(&ens)["weights_sha256"], m2["weights_sha256"]);
    classify(dir, &ens, "x.csv");
    classify(dir, &dir.join("ens2/model-best"), "y.csv");
    assert_eq!(
        fs::read(dir.join("x.csv")).unwrap(),
        fs::read(dir.join("y.csv")).unwrap()
    );
}

#[test]
fn a_bow_and_a_cnn_ensemble_is_evaluated_and_classified_like_one_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bow = model(dir);
    let out = run_in(
        dir,
        &[
            "ensemble",
            "-q",
            "-c",
            "run.toml",
            "--set",
            "model.kind=\"cnn\"",
            "--set",
            "run.name=\"tiny-cnn\"",
            "-o",
            "mix",
            bow.to_str().unwrap(),
        ],
    );
    ok(&out);
    let ens = dir.join("mix/model-best");
    let kinds: Vec<String> = manifest(&ens)["ensemble"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model_kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["bow", "cnn"]);
    let out = run_in(
        dir,
        &[
            "evaluate",
            "-m",
            ens.to_str().unwrap(),
            "-d",
            "tiny.csv",
            "-o",
            "rep",
            "--bootstrap",
            "0",
        ],
    );
    ok(&out);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("rep/report.json")).unwrap()).unwrap();
    assert_eq!(report["manifest"]["model_kind"], "ensemble");
    assert_eq!(
        report["manifest"]["ensemble"]["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (input, texts) = common::awkward(dir);
    let out = stancekit(&[
        "classify",
        "-m",
        ens.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        dir.join("aw.csv").to_str().unwrap(),
    ]);
    ok(&out);
    let t = read(&dir.join("aw.csv"));
    assert_eq!(t.data.len(), texts.len(), "every row comes out");
    let labelled = column(&t, "stance").iter().filter(|v| v.is_some()).count();
    assert!(labelled > 0);
}

#[test]
fn select_ranks_with_an_ensemble_including_the_diverse_strategy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ens = seed_ensemble(dir);
    let pool: String = ["Brazil", "Nepal", "Fiji", "Mali", "Laos", "Chad", "Iraq"]
        .iter()
        .flat_map(|a| ["condemned", "signed", "hosted"].map(|v| format!("{a} {v} the plan\n")))
        .collect();
    fs::write(dir.join("texts.csv"), format!("text\n{pool}")).unwrap();
    let mut picked = Vec::new();
    for strategy in ["margin", "diverse"] {
        let out = run_in(
            dir,
            &[
                "select",
                "-m",
                ens.to_str().unwrap(),
                "-i",
                "texts.csv",
                "-o",
                &format!("{strategy}.csv"),
                "-n",
                "5",
                "--strategy",
                strategy,
                "--text-column",
                "text",
            ],
        );
        ok(&out);
        let t = read(&dir.join(format!("{strategy}.csv")));
        // Unknown actor names share one representation, so diverse finds 3 kinds of row here.
        let want = if strategy == "margin" { 5 } else { 3 };
        assert_eq!(t.data.len(), want, "{strategy}");
        picked.push(
            column(&t, "text")
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>(),
        );
    }
    assert!(picked.iter().all(|p| p.iter().all(|t| !t.is_empty())));
}

#[test]
fn members_with_other_labels_are_refused_with_exit_2_naming_the_member() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bow = model(dir);
    let out = run_in(
        dir,
        &[
            "ensemble",
            "-q",
            "-c",
            "run.toml",
            "--set",
            "tasks.1.labels=[\"positive\",\"negative\"]",
            "--set",
            "run.name=\"flipped\"",
            "-o",
            "bad",
            bow.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("flipped/model-best") && err.contains("differ"),
        "{err}"
    );
    assert!(!dir.join("bad/model-best").exists());
}

#[test]
fn an_ensemble_never_replaces_a_folder_that_is_not_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bow = model(dir);
    fs::create_dir(dir.join("mine")).unwrap();
    fs::write(dir.join("mine/keep.txt"), "notes").unwrap();
    let b = bow.to_str().unwrap();
    let out = run_in(dir, &["ensemble", "-o", "mine", b, b]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(dir.join("mine/keep.txt")).unwrap(),
        "notes"
    );
    // The run folder that holds a member is not an ensemble either.
    let out = run_in(dir, &["ensemble", "-o", "runs/tiny", b, b]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(bow.join("manifest.json").is_file());
}

#[test]
fn an_edited_member_is_refused_on_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ens = seed_ensemble(dir);
    classify(dir, &ens, "before.csv");
    let m = ens.join("members/01/manifest.json");
    let mut body = fs::read_to_string(&m).unwrap();
    body.push('\n');
    fs::write(&m, body).unwrap();
    let out = run_in(
        dir,
        &[
            "classify",
            "-m",
            ens.to_str().unwrap(),
            "-i",
            "tiny.csv",
            "-o",
            "z.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("members/01"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("z.csv").exists());
}

#[test]
fn an_ensemble_teaches_a_distilled_student() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ens = seed_ensemble(dir);
    let base = fs::read_to_string(dir.join("run.toml")).unwrap();
    let student = base.replace("name = \"tiny\"", "name = \"student\"")
        + &format!(
            "[distill]\nteacher = \"{}\"\n[[distill.pool]]\npath = \"tiny.csv\"\n",
            ens.display()
        );
    fs::write(dir.join("student.toml"), student).unwrap();
    let out = run_in(dir, &["train", "-q", "--json", "--config", "student.toml"]);
    ok(&out);
    let m = manifest(&dir.join("runs/student/model-best"));
    assert_eq!(
        m["distill"]["teacher_weights_sha256"],
        manifest(&ens)["weights_sha256"],
        "{m}"
    );
}
