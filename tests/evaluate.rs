//! `stancekit evaluate` and `stancekit compare` as a user runs them: the real binary on a tiny
//! model trained in a temporary folder. Checks the files written, the counting of unknown and
//! missing gold labels, escaping, slices, the train-time reports, `compare` and `--fail-below`.

use serde_json::Value;
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

/// Three stance classes with their own verbs; 8 rows each, grouped by article.
fn corpus(dir: &Path) {
    let classes = [
        (
            "condemnation",
            ["condemned", "denounced", "deplored", "protested"],
        ),
        ("cooperation", ["agreed", "signed", "pledged", "partnered"]),
        ("invitation", ["invited", "welcomed", "hosted", "asked"]),
    ];
    let actors = [
        "Ghana", "Peru", "Japan", "Chile", "Kenya", "Oman", "Nepal", "Fiji",
    ];
    let mut body = String::from("article,text,stance\n");
    for (c, (stance, verbs)) in classes.iter().enumerate() {
        for (i, actor) in actors.iter().enumerate() {
            let verb = verbs[i % verbs.len()];
            body.push_str(&format!(
                "a{c}{i},{actor} {verb} the move on day {i},{stance}\n"
            ));
        }
    }
    fs::write(dir.join("tiny.csv"), body).unwrap();
}

/// Train a tiny bag-of-words model with `extra` lines in [data]; returns the run folder.
fn train(dir: &Path, extra: &str) -> std::path::PathBuf {
    corpus(dir);
    fs::write(
        dir.join("run.toml"),
        format!(
            "[run]\nname = \"tiny\"\nseed = 3\noutput_dir = \"runs\"\n[data]\ntrain = \"tiny.csv\"\ndev = \"tiny.csv\"\n{extra}group_column = \"article\"\n\
[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\", \"invitation\"]\n\
[text]\nbuckets = 5000\nmax_tokens = 16\n[model]\nkind = \"bow\"\ndim = 16\n[train]\nepochs = 3\nbatch_size = 4\nlr = 0.02\nthreads = 1\n"
        ),
    )
    .unwrap();
    let o = stancekit(&["train", "-q", "--config", "run.toml"], dir);
    assert!(o.status.success(), "train failed: {}", text(&o));
    dir.join("runs/tiny")
}

/// An evaluation file: two scored rows, one unknown label, one missing label, one empty text,
/// and markup in a statement and in the slice column. No id column is configured, so ids are row indices.
fn eval_file(dir: &Path) {
    fs::write(
        dir.join("eval.csv"),
        "article,text,stance,source\n\
x1,Peru condemned the move,condemnation,wire\n\
x2,\"A <script>alert('x')</script> & \"\"quoted\"\" invited\",invitation,<i>blog</i> & co\n\
x3,Chile signed the move,sabotage,wire\n\
x4,Oman agreed to talks,,<i>blog</i> & co\n\
x5,,cooperation,wire\n",
    )
    .unwrap();
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn evaluate_writes_four_files_counts_bad_gold_and_escapes_text() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "");
    eval_file(dir.path());
    let model = run.join("model-best");
    let o = stancekit(
        &[
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            "--data",
            "eval.csv",
            "--out",
            "rep",
            "--slice-by",
            "source",
            "--bootstrap",
            "200",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("rep");
    for f in ["report.json", "report.md", "report.html", "predictions.csv"] {
        assert!(out.join(f).is_file(), "{f} not written");
    }
    let r = report(&out);
    let stance = &r["tasks"][0];
    // x1, x2 scored; x3 unknown; x4 missing; x5 has no text.
    assert_eq!(stance["evaluated"], 2);
    assert_eq!(stance["unknown_gold"], 1);
    assert_eq!(stance["missing_gold"], 1);
    assert_eq!(r["data"]["empty_text"], 1);
    assert_eq!(r["data"]["rows"], 5);
    assert_eq!(r["bootstrap"]["resamples"], 200);
    assert_eq!(r["data"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(r["manifest"]["seed"], 3);
    assert_eq!(stance["calibration"]["bins"].as_array().unwrap().len(), 15);
    // Slices: blog (x2 scored, x4 missing) and wire (x1 scored, x3 unknown, x5 empty text).
    let slices = r["slices"].as_array().unwrap();
    let values: Vec<&str> = slices
        .iter()
        .map(|s| s["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["<i>blog</i> & co", "wire"]);
    assert_eq!(slices[0]["tasks"][0]["evaluated"], 1);
    assert_eq!(slices[0]["tasks"][0]["missing_gold"], 1);
    assert_eq!(slices[1]["rows"], 3);
    assert_eq!(slices[1]["tasks"][0]["unknown_gold"], 1);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("<script"),
        "statement markup leaked into the HTML"
    );
    assert!(
        html.contains("&lt;i&gt;blog&lt;/i&gt; &amp; co") && !html.contains("<i>blog"),
        "slice value not escaped"
    );
    // Heatmap, F1 bars and reliability diagram, plus loss and dev macro-F1 from the run's log.
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "external asset in HTML"
    );
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| missing gold | unknown gold |"));
    let csv = fs::read_to_string(out.join("predictions.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "header plus one line per row:\n{csv}");
    assert!(lines[0].starts_with("id,text,stance_gold,stance_pred,stance_p_condemnation"));
    assert!(lines[3].starts_with("2,Chile signed the move,sabotage,"));
}

#[test]
fn train_writes_dev_and_test_reports_matching_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "test = \"tiny.csv\"\n");
    for split in ["dev", "test"] {
        let d = run.join(format!("report-{split}"));
        for f in ["report.json", "report.md", "report.html", "predictions.csv"] {
            assert!(d.join(f).is_file(), "report-{split}/{f} missing");
        }
        let r = report(&d);
        assert_eq!(r["data"]["split"], split);
        assert_eq!(r["tasks"][0]["evaluated"], 24);
        assert!(
            !r["training_curve"].as_array().unwrap().is_empty(),
            "no learning curve"
        );
    }
    let html = fs::read_to_string(run.join("report-dev/report.html")).unwrap();
    assert!(html.contains("Dev macro-F1"), "learning curves missing");
}

#[test]
fn fail_below_exits_1_naming_the_figure_and_0_when_met() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "");
    let model = run.join("model-best");
    let m = model.to_str().unwrap();
    let base = [
        "evaluate",
        "--model",
        m,
        "--data",
        "tiny.csv",
        "--out",
        "rep",
        "--bootstrap",
        "50",
    ];
    let args = |extra: &[&'static str]| -> Vec<&str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    let o = stancekit(&args(&["--fail-below", "stance.macro_f1=1.01"]), dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("stance.macro_f1"), "{}", text(&o));
    let o = stancekit(&args(&["--fail-below", "accuracy=0"]), dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = stancekit(
        &args(&["--fail-below", "sentiment.accuracy=0.5"]),
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "unknown task is a usage error: {}",
        text(&o)
    );
    let o = stancekit(&args(&["--fail-below", "ece=0.1"]), dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn compare_reports_deltas_marks_significance_and_gates_on_b() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "");
    let model = run.join("model-best");
    let o = stancekit(
        &[
            "evaluate",
            "-m",
            model.to_str().unwrap(),
            "-d",
            "tiny.csv",
            "-o",
            "a",
            "--bootstrap",
            "100",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    // B: the same report with accuracy moved well above A's interval.
    let mut b = report(&dir.path().join("a"));
    let a_acc = b["tasks"][0]["metrics"]["accuracy"].as_f64().unwrap();
    let a_high = b["tasks"][0]["intervals"]["accuracy"]["high"]
        .as_f64()
        .unwrap();
    b["tasks"][0]["metrics"]["accuracy"] = (a_high + 0.15).into();
    b["tasks"][0]["intervals"]["accuracy"] =
        serde_json::json!({"low": a_high + 0.1, "high": a_high + 0.2});
    fs::create_dir(dir.path().join("b")).unwrap();
    fs::write(dir.path().join("b/report.json"), b.to_string()).unwrap();

    let o = stancekit(&["compare", "a", "b/report.json", "--json"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let c: Value = serde_json::from_slice(&o.stdout).unwrap();
    let deltas = c["comparison"]["tasks"][0]["deltas"].as_array().unwrap();
    assert_eq!(deltas[0]["metric"], "accuracy");
    assert!((deltas[0]["delta"].as_f64().unwrap() - (a_high + 0.15 - a_acc)).abs() < 1e-9);
    assert_eq!(deltas[0]["significant"], true);
    assert_eq!(deltas[1]["metric"], "macro_f1");
    assert_eq!(deltas[1]["delta"], 0.0);
    assert_eq!(deltas[1]["significant"], false);

    let o = stancekit(&["compare", "a", "b"], dir.path());
    assert!(text(&o).contains("significant"), "{}", text(&o));
    let o = stancekit(
        &["compare", "a", "b", "--fail-below", "stance.macro_f1=1.01"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = stancekit(
        &["compare", "a", "b", "--fail-below", "accuracy=0"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = stancekit(&["compare", "a", "missing"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn same_seed_gives_the_same_report_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "");
    let m = run.join("model-best");
    for out in ["r1", "r2"] {
        let o = stancekit(
            &[
                "evaluate",
                "-m",
                m.to_str().unwrap(),
                "-d",
                "tiny.csv",
                "-o",
                out,
                "--seed",
                "5",
                "--bootstrap",
                "100",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let (a, b) = (
        report(&dir.path().join("r1")),
        report(&dir.path().join("r2")),
    );
    assert_eq!(a["tasks"], b["tasks"]);
}

#[test]
fn column_and_format_flags_override_the_checkpoint_config() {
    let dir = tempfile::tempdir().unwrap();
    let run = train(dir.path(), "");
    let m = run.join("model-best");
    fs::write(
        dir.path().join("eval.data"),
        "{\"body\": \"Peru condemned the move\", \"gold\": \"condemnation\"}\n{\"body\": \"Fiji invited the envoy\", \"gold\": \"invitation\"}\n",
    )
    .unwrap();
    let args = |extra: &[&'static str]| -> Vec<String> {
        [
            "evaluate",
            "-m",
            m.to_str().unwrap(),
            "-d",
            "eval.data",
            "-o",
            "rep",
            "--bootstrap",
            "20",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let run_args = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        stancekit(&refs, dir.path())
    };
    let o = run_args(args(&[
        "--format",
        "jsonl",
        "--text-column",
        "body",
        "--label-column",
        "stance=gold",
    ]));
    assert!(o.status.success(), "{}", text(&o));
    let r = report(&dir.path().join("rep"));
    assert_eq!(r["tasks"][0]["evaluated"], 2);
    assert_eq!(r["data"]["text_column"], "body");
    assert_eq!(r["data"]["label_columns"][0], "gold");
    // Without the overrides the config's `text` column is missing: an input error naming it.
    let o = run_args(args(&["--format", "jsonl"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("text"), "{}", text(&o));
    let o = run_args(args(&[
        "--format",
        "jsonl",
        "--text-column",
        "body",
        "--label-column",
        "topic=gold",
    ]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no task `topic`"), "{}", text(&o));
}
