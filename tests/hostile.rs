//! Regression tests for hostile input (issue 12): each is named after the promise it guards,
//! and each failed on the code before the fix. They drive the real binary in a temp folder.

mod common;

use common::{model, read, stancekit, text};
use std::fs;
use std::path::Path;

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `classify -m MODEL -i INPUT -o OUTPUT`, as arguments to extend.
fn classify_args<'a>(m: &'a str, input: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["classify", "-m", m, "-i", input, "-o", out]
}

/// Run `classify -m MODEL -i INPUT -o OUTPUT` with `extra` arguments.
fn classify_cmd(m: &str, input: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = classify_args(m, input, out);
    args.extend_from_slice(extra);
    stancekit(&args)
}

fn all(o: &std::process::Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

#[test]
fn blank_lines_of_a_one_column_file_come_out_as_empty_texts() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("a.csv");
    fs::write(
        &input,
        "text\nFrance condemned the attack\n\nThey agreed\n\n\nhello\n",
    )
    .unwrap();
    let out = dir.path().join("o.csv");
    let o = classify_cmd(
        m.to_str().unwrap(),
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--json"],
    );
    assert!(o.status.success(), "{}", all(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (s["rows_in"].as_u64(), s["rows_out"].as_u64()),
        (Some(6), Some(6))
    );
    let t = read(&out);
    let status = common::column(&t, "status");
    assert_eq!(
        status,
        [
            Some("ok"),
            Some("empty_text"),
            Some("ok"),
            Some("empty_text"),
            Some("empty_text"),
            Some("ok")
        ]
    );
}

#[test]
fn a_blank_line_in_a_file_of_several_columns_is_a_bad_row_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("a.csv");
    fs::write(&input, "id,text\n1,France condemned it\n\n2,They agreed\n").unwrap();
    let out = dir.path().join("o.csv");
    let args = classify_args(
        m.to_str().unwrap(),
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let o = stancekit(&args);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("line 3: blank line"), "{}", all(&o));
    assert!(!out.exists());
    let mut skip = args.to_vec();
    skip.extend(["--on-bad-row", "skip"]);
    let o = stancekit(&skip);
    assert!(o.status.success(), "{}", all(&o));
    assert_eq!(read(&out).height(), 2);
    let rejected = fs::read_to_string(dir.path().join("o.csv.rejected.csv")).unwrap();
    assert!(rejected.contains("3,blank line"), "{rejected}");
}

#[test]
fn a_quote_closed_in_the_middle_of_a_field_never_merges_rows() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("a.csv");
    fs::write(
        &input,
        "id,text\n1,ok\n2,\"unbalanced start\n3,more\n4,end\" here\n5,last\n",
    )
    .unwrap();
    let out = dir.path().join("o.csv");
    let args = classify_args(
        m.to_str().unwrap(),
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let o = stancekit(&args);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("line 3"), "{}", all(&o));
    let mut skip = args.to_vec();
    skip.extend(["--on-bad-row", "skip"]);
    let o = stancekit(&skip);
    assert!(o.status.success(), "{}", all(&o));
    let ids = read(&out);
    assert_eq!(common::column(&ids, "id"), [Some("1"), Some("5")]);
    let rejected = fs::read_to_string(dir.path().join("o.csv.rejected.csv")).unwrap();
    assert!(rejected.contains("4,end\"\" here"), "{rejected}");
}

#[test]
fn a_tsv_field_that_starts_with_a_quote_does_not_swallow_the_rows_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("a.tsv");
    fs::write(&input, "id\ttext\n1\t\"Quoted\" he said\n2\tplain\n").unwrap();
    let out = dir.path().join("o.csv");
    let args = classify_args(
        m.to_str().unwrap(),
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let o = stancekit(&args);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("line 2"), "{}", all(&o));
    let mut unquoted = args.to_vec();
    unquoted.push("--no-quoting");
    let o = stancekit(&unquoted);
    assert!(o.status.success(), "{}", all(&o));
    let t = read(&out);
    assert_eq!(
        common::column(&t, "text"),
        [Some("\"Quoted\" he said"), Some("plain")]
    );
}

#[test]
fn the_rejected_file_never_overwrites_an_input_or_a_stranger() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("x.csv.rejected.csv");
    let body = "id,text\n1,ok\n2,too,many\n";
    fs::write(&input, body).unwrap();
    let o = run_in(
        dir.path(),
        &[
            "classify",
            "-m",
            m.to_str().unwrap(),
            "-i",
            "x.csv.rejected.csv",
            "-o",
            "x.csv",
            "--on-bad-row",
            "skip",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert_eq!(fs::read_to_string(&input).unwrap(), body);
    fs::write(dir.path().join("stancekit.rejected.csv"), "mine").unwrap();
    let o = run_in(
        dir.path(),
        &[
            "classify",
            "-m",
            m.to_str().unwrap(),
            "-i",
            "x.csv.rejected.csv",
            "-o",
            "-",
            "--on-bad-row",
            "skip",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("--rejected"), "{}", all(&o));
    let mine = fs::read_to_string(dir.path().join("stancekit.rejected.csv")).unwrap();
    assert_eq!(mine, "mine");
}

#[test]
fn evaluate_never_overwrites_its_input_inside_the_report_folder() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let reports = dir.path().join("r");
    fs::create_dir(&reports).unwrap();
    for name in ["predictions.csv", "report.md", "report.json", "report.html"] {
        let data = reports.join(name);
        let body = "text,stance,sentiment\nPeru signed the deal,cooperation,positive\n";
        fs::write(&data, body).unwrap();
        let o = stancekit(&[
            "evaluate",
            "-m",
            m.to_str().unwrap(),
            "-d",
            data.to_str().unwrap(),
            "--format",
            "csv",
            "-o",
            reports.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", all(&o));
        assert_eq!(fs::read_to_string(&data).unwrap(), body, "{name}");
        fs::remove_file(&data).unwrap();
    }
}

#[test]
fn classify_never_overwrites_the_model_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let input = dir.path().join("a.csv");
    fs::write(&input, "text\nPeru signed the deal\n").unwrap();
    let weights = m.join("model.safetensors");
    let before = fs::read(&weights).unwrap();
    let hard = dir.path().join("hard-link.bin");
    fs::hard_link(&weights, &hard).unwrap();
    for out in [weights.clone(), hard] {
        let o = classify_cmd(
            m.to_str().unwrap(),
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--output-format", "csv"],
        );
        assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    }
    assert_eq!(fs::read(&weights).unwrap(), before);
}

#[test]
fn run_names_that_climb_out_of_the_output_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    for name in ["..", ".", "a/b"] {
        let o = run_in(
            dir.path(),
            &[
                "train",
                "-c",
                "run.toml",
                "--set",
                &format!("run.name=\"{name}\""),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{name}: {}", all(&o));
        assert!(all(&o).contains("run.name"), "{}", all(&o));
    }
}

#[test]
fn fail_below_bars_that_are_not_finite_are_refused() {
    for bar in ["macro_f1=nan", "macro_f1=-inf", "stance.accuracy=inf"] {
        let err = stancekit::report::gate::parse_bar(bar).unwrap_err();
        assert!(err.to_string().contains("finite"), "{err}");
    }
}

#[test]
fn model_sizes_that_cannot_fit_in_memory_are_refused_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let o = run_in(
        dir.path(),
        &["train", "-c", "run.toml", "--set", "model.dim=1000000000"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("model.dim"), "{}", all(&o));
}

#[test]
fn thread_counts_above_the_cores_are_refused_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let o = run_in(
        dir.path(),
        &["train", "-c", "run.toml", "--set", "train.threads=100000"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("train.threads"), "{}", all(&o));
    fs::write(dir.path().join("a.csv"), "text\nx\n").unwrap();
    let o = run_in(
        dir.path(),
        &[
            "classify",
            "-m",
            m.to_str().unwrap(),
            "-i",
            "a.csv",
            "-o",
            "o.csv",
            "--threads",
            "100000",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("--threads"), "{}", all(&o));
}

#[test]
fn jsonl_with_a_bom_empty_jsonl_and_csv_read_as_jsonl_get_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let cases = [
        ("bom.jsonl", "\u{feff}{\"text\":\"Peru signed\"}\n", None),
        ("empty.jsonl", "", Some("the file is empty")),
        (
            "csv.jsonl",
            "text\nPeru signed\n",
            Some("line 1: expected one JSON object"),
        ),
    ];
    for (name, body, want) in cases {
        fs::write(dir.path().join(name), body).unwrap();
        let o = run_in(
            dir.path(),
            &[
                "classify",
                "-m",
                m.to_str().unwrap(),
                "-i",
                name,
                "-o",
                "o.csv",
            ],
        );
        match want {
            None => assert!(o.status.success(), "{name}: {}", all(&o)),
            Some(w) => {
                assert_eq!(o.status.code(), Some(2), "{name}: {}", all(&o));
                assert!(all(&o).contains(w), "{name}: {}", all(&o));
                assert!(!all(&o).contains("found: )"), "{name}: {}", all(&o));
            }
        }
    }
}

#[test]
fn label_errors_name_the_line_a_record_starts_on_after_multi_line_cells() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("d.csv"),
        "text,stance\n\"two\nlines\",condemnation\n\"three\nmore\nlines\",cooperation\nthird,nonsense\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("r.toml"),
        "[run]\nname = \"x\"\n[data]\ntrain = \"d.csv\"\n[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\"]\n[model]\nkind = \"bow\"\ndim = 4\n[train]\nepochs = 1\nthreads = 1\n",
    )
    .unwrap();
    let o = run_in(dir.path(), &["train", "-c", "r.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", all(&o));
    assert!(all(&o).contains("line 7"), "{}", all(&o));
}

#[test]
fn evaluate_reads_a_file_with_its_own_options_not_the_training_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::from("text\tstance\tsentiment\n");
    for i in 0..6 {
        rows.push_str(&format!(
            "\"Peru\" signed deal {i}\tcooperation\tpositive\n"
        ));
        rows.push_str(&format!(
            "Chile condemned move {i}\tcondemnation\tnegative\n"
        ));
    }
    fs::write(dir.path().join("train.tsv"), rows).unwrap();
    fs::write(
        dir.path().join("r.toml"),
        "[run]\nname = \"u\"\n[data]\ntrain = \"train.tsv\"\nquoting = false\n[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\"]\n[[tasks]]\nname = \"sentiment\"\nlabels = [\"negative\", \"positive\"]\n[model]\nkind = \"bow\"\ndim = 4\n[train]\nepochs = 1\nthreads = 1\n",
    )
    .unwrap();
    let o = run_in(dir.path(), &["train", "-c", "r.toml", "-q"]);
    assert!(o.status.success(), "{}", all(&o));
    fs::write(
        dir.path().join("eval.csv"),
        "text,stance,sentiment\n\"Peru, Chile signed a \"\"deal\"\"\",cooperation,positive\n",
    )
    .unwrap();
    let o = run_in(
        dir.path(),
        &[
            "evaluate",
            "-m",
            "checkpoints/u/model-best",
            "-d",
            "eval.csv",
            "-o",
            "rep",
        ],
    );
    assert!(o.status.success(), "{}", all(&o));
    let preds = fs::read_to_string(dir.path().join("rep/predictions.csv")).unwrap();
    assert!(
        preds.contains("Peru, Chile signed a \"\"deal\"\""),
        "{preds}"
    );
}
