//! Distillation (`[distill]`) on a tiny teacher: the student is bit-identical for a config,
//! data and seed, resumes to the same bits, records its teacher and pool, reports agreement,
//! trains a missing teacher first, and refuses a teacher or pool it cannot use.

mod common;

use common::{model, stancekit, text};
use stancekit::config::parse_config;
use stancekit::train::{resume, train, TrainOptions, TrainSummary};
use std::fs;
use std::path::Path;

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    }
}

/// Unlabelled sentences in the teacher's vocabulary, with actors it never saw.
fn pool(dir: &Path) {
    let mut body = String::from("id,text\n");
    let verbs = [
        "condemned",
        "denounced",
        "signed",
        "pledged",
        "invited",
        "hosted",
    ];
    for (i, actor) in ["Brazil", "Nepal", "Fiji", "Mali", "Laos"]
        .iter()
        .enumerate()
    {
        for (j, verb) in verbs.iter().enumerate() {
            body.push_str(&format!("p{i}{j},{actor} {verb} the plan on day {j}\n"));
        }
    }
    fs::write(dir.join("pool.csv"), body).unwrap();
}

/// A bow student of the tiny teacher (`common::model`), with `distill` keys added.
fn student_config(name: &str, distill: &str) -> String {
    format!(
        r#"
[run]
name = "{name}"
seed = 5
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
dim = 8
[train]
epochs = 3
batch_size = 4
lr = 0.02
threads = 1
[distill]
{distill}
[[distill.pool]]
path = "pool.csv"
"#
    )
}

fn student(
    dir: &Path,
    name: &str,
    distill: &str,
    opts: &TrainOptions,
) -> stancekit::Result<TrainSummary> {
    let text = student_config(name, distill);
    let path = dir.join(format!("{name}.toml"));
    fs::write(&path, &text).unwrap();
    train(parse_config(&text, &path, &[]).unwrap(), opts)
}

const TEACHER: &str = "teacher = \"runs/tiny/model-best\"";

#[test]
fn a_student_is_bit_identical_for_one_config_and_records_its_teacher_and_pool() {
    let dir = tempfile::tempdir().unwrap();
    let teacher = model(dir.path());
    pool(dir.path());
    let a = student(dir.path(), "a", TEACHER, &quiet()).unwrap();
    // The second run reads the teacher's probabilities from the cache the first one wrote;
    // the third computes them again.
    let b = student(dir.path(), "b", TEACHER, &quiet()).unwrap();
    assert_eq!(a.weights_sha256, b.weights_sha256);
    let cache = dir.path().join("runs/teacher-cache");
    assert!(
        cache.read_dir().unwrap().count() > 0,
        "the teacher's probabilities are cached"
    );
    fs::remove_dir_all(&cache).unwrap();
    let c = student(dir.path(), "c", TEACHER, &quiet()).unwrap();
    assert_eq!(a.weights_sha256, c.weights_sha256);
    assert_eq!(
        a.train_examples,
        18 + 30,
        "the pool's rows join the training rows"
    );
    let m = stancekit::checkpoint::read_manifest(&a.run_dir.join("model-best")).unwrap();
    let d = m.distill.expect("the manifest records the teacher");
    let t = stancekit::checkpoint::read_manifest(&teacher).unwrap();
    assert_eq!(d.teacher_weights_sha256, t.weights_sha256);
    assert_eq!(d.pool.len(), 1);
    assert_eq!(
        d.pool[0].sha256,
        stancekit::checkpoint::sha256_file(&dir.path().join("pool.csv")).unwrap()
    );
    assert_eq!(d.pool_texts, 30);
    let dev = &a.teacher_agreement["dev"];
    assert_eq!(dev["stance"].n, 18);
    assert!(dev.contains_key("sentiment"));
}

#[test]
fn the_teachers_probabilities_change_what_the_student_learns() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let half = student(dir.path(), "half", TEACHER, &quiet()).unwrap();
    let gold_only = student(
        dir.path(),
        "gold",
        &format!("{TEACHER}\nalpha = 0.0"),
        &quiet(),
    )
    .unwrap();
    let hot = student(
        dir.path(),
        "hot",
        &format!("{TEACHER}\ntemperature = 4.0"),
        &quiet(),
    )
    .unwrap();
    let copies = student(
        dir.path(),
        "copies",
        &format!("{TEACHER}\naugment = 2"),
        &quiet(),
    )
    .unwrap();
    assert_ne!(half.weights_sha256, gold_only.weights_sha256);
    assert_ne!(half.weights_sha256, hot.weights_sha256);
    assert_ne!(half.weights_sha256, copies.weights_sha256);
    assert_eq!(
        copies.train_examples,
        18 + 30 + 2 * 18,
        "two copies of each labelled row"
    );
    let m = stancekit::checkpoint::read_manifest(&copies.run_dir.join("model-best")).unwrap();
    assert_eq!(m.distill.unwrap().augmented_texts, 36);
}

#[test]
fn a_cnn_student_is_taught_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let cnn = |name: &str, distill: &str| {
        let text = student_config(name, distill).replace(
            "kind = \"bow\"\ndim = 8",
            "kind = \"cnn\"\ndim = 8\nfilters = 4\nkernel_sizes = [2]",
        );
        assert!(text.contains("\"cnn\""));
        let path = dir.path().join(format!("{name}.toml"));
        train(parse_config(&text, &path, &[]).unwrap(), &quiet()).unwrap()
    };
    let taught = cnn("cnn-a", TEACHER);
    assert_eq!(taught.weights_sha256, cnn("cnn-b", TEACHER).weights_sha256);
    let gold = cnn("cnn-gold", &format!("{TEACHER}\nalpha = 0.0"));
    assert_ne!(taught.weights_sha256, gold.weights_sha256);
    assert!(taught.teacher_agreement["dev"].contains_key("stance"));
}

#[test]
fn an_interrupted_distillation_resumes_to_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let straight = student(dir.path(), "straight", TEACHER, &quiet()).unwrap();
    let stop = TrainOptions {
        stop_after_steps: Some(5),
        ..quiet()
    };
    let cut = student(dir.path(), "cut", TEACHER, &stop);
    assert!(matches!(cut, Err(stancekit::Error::Interrupted)));
    let run = dir.path().join("runs/cut");
    let resumed = resume(&run, &quiet()).unwrap();
    assert_eq!(resumed.steps, straight.steps);
    assert_eq!(resumed.weights_sha256, straight.weights_sha256);
    let a = fs::read(straight.run_dir.join("model-last/model.safetensors")).unwrap();
    let b = fs::read(run.join("model-last/model.safetensors")).unwrap();
    assert!(a == b, "resumed weights differ from a straight run");
}

#[test]
fn one_command_trains_a_missing_teacher_first_then_its_student() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    // A second teacher config whose checkpoint does not exist yet.
    let teacher_cfg = fs::read_to_string(dir.path().join("run.toml"))
        .unwrap()
        .replace("name = \"tiny\"", "name = \"teacher2\"");
    fs::write(dir.path().join("teacher2.toml"), teacher_cfg).unwrap();
    let cfg = dir.path().join("s.toml");
    fs::write(
        &cfg,
        student_config("s", "teacher_config = \"teacher2.toml\""),
    )
    .unwrap();
    let out = stancekit(&["train", "-q", "--json", "--config", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir
        .path()
        .join("runs/teacher2/model-best/manifest.json")
        .is_file());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        summary["teacher_agreement"]["dev"]["stance"]["agreement"].is_number(),
        "{summary}"
    );
    let m = stancekit::checkpoint::read_manifest(&dir.path().join("runs/s/model-best")).unwrap();
    assert!(m.distill.unwrap().teacher.ends_with("teacher2/model-best"));
    // The dev report shows the agreement next to the gold metrics, in every format.
    let report = dir.path().join("runs/s/report-dev");
    let md = fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("## Agreement with the teacher: `stance`"),
        "{md}"
    );
    let html = fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("Agreement with the teacher"));
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(report.join("report.json")).unwrap()).unwrap();
    let dev = &summary["teacher_agreement"]["dev"]["stance"];
    assert_eq!(&json["teacher_agreement"]["stance"], dev);
}

#[test]
fn a_teacher_with_other_labels_is_refused_naming_the_key_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let cfg = dir.path().join("s.toml");
    let text_cfg = student_config("s", TEACHER).replace(
        "labels = [\"negative\", \"positive\"]",
        "labels = [\"negative\", \"neutral\", \"positive\"]",
    );
    fs::write(&cfg, text_cfg).unwrap();
    let out = stancekit(&["train", "-q", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("distill.teacher") && err.contains("sentiment"),
        "{err}"
    );
}

#[test]
fn a_missing_teacher_without_its_config_is_an_error_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let cfg = dir.path().join("s.toml");
    fs::write(
        &cfg,
        student_config("s", "teacher = \"runs/none/model-best\""),
    )
    .unwrap();
    let out = stancekit(&["train", "-q", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("runs/none/model-best"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_pool_without_its_text_column_fails_with_exit_2_naming_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    fs::write(
        dir.path().join("pool.csv"),
        "id,body\n1,Peru condemned it\n",
    )
    .unwrap();
    let cfg = dir.path().join("s.toml");
    fs::write(&cfg, student_config("s", TEACHER)).unwrap();
    let out = stancekit(&["train", "-q", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("pool.csv") && err.contains("text"), "{err}");
}

#[test]
fn a_teacher_inside_the_students_run_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let e = student(dir.path(), "tiny", TEACHER, &quiet())
        .unwrap_err()
        .to_string();
    assert!(e.contains("distill.teacher"), "{e}");
}
