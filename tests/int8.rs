//! `--quantize int8`: the encoder's dense layers in int8 at classify and evaluate time.
//! Needs the real all-MiniLM-L6-v2 (SKIP without it, as in `pretrained.rs`).

use stancekit::train::train;
use std::fs;
use std::path::Path;
use std::process::Output;

mod common;

use common::encoder::{config, corpus, quiet};

/// 240 statements of the embedded corpus (ours), as `id,text`.
fn texts(dir: &Path) -> std::path::PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/diplomatic/statements.csv");
    let table = common::read(&path);
    let mut out = String::from("id,text\n");
    for (i, t) in common::column(&table, "text")
        .iter()
        .flatten()
        .step_by(25)
        .take(240)
        .enumerate()
    {
        out.push_str(&format!("{i},\"{}\"\n", t.replace('"', "\"\"")));
    }
    let file = dir.join("texts.csv");
    fs::write(&file, out).unwrap();
    file
}

/// `stancekit classify -m MODEL -i INPUT -o OUTPUT EXTRA..` through the real binary.
fn run_classify(model: &Path, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "classify",
        "-m",
        model.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    common::stancekit(&args)
}

/// The stance labels `classify` writes; it must succeed.
fn classify(model: &Path, input: &Path, output: &Path, extra: &[&str]) -> Vec<String> {
    let out = run_classify(model, input, output, &[&["-q"], extra].concat());
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    common::column(&common::read(output), "stance")
        .into_iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect()
}

#[test]
fn int8_labels_follow_f32_and_are_the_same_bits_whatever_the_run_or_thread_count() {
    let encoder = encoder_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let s = train(config(dir.path(), &encoder, &[]), &quiet()).unwrap();
    let model = s.run_dir.join("model-best");
    let input = texts(dir.path());
    let out = |name: &str| dir.path().join(name);
    let f32_labels = classify(&model, &input, &out("f32.csv"), &[]);
    let int8 = ["--quantize", "int8", "--probs"];
    let one = classify(
        &model,
        &input,
        &out("a.csv"),
        &[&int8[..], &["--threads", "1"]].concat(),
    );
    classify(
        &model,
        &input,
        &out("b.csv"),
        &[&int8[..], &["--threads", "2"]].concat(),
    );
    assert_eq!(
        fs::read(out("a.csv")).unwrap(),
        fs::read(out("b.csv")).unwrap(),
        "int8 output differs between runs with 1 and 2 threads"
    );
    let same = f32_labels.iter().zip(&one).filter(|(a, b)| a == b).count();
    // A model trained on 48 statements sits near its decision boundaries far more often than
    // a real one, so the bar here is looser than the 99% measured on real models.
    assert!(
        same * 100 >= f32_labels.len() * 95,
        "int8 agrees with f32 on {same} of {} labels",
        f32_labels.len()
    );
}

#[test]
fn evaluate_with_int8_says_so_in_its_report() {
    let encoder = encoder_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let s = train(config(dir.path(), &encoder, &["train.epochs=1"]), &quiet()).unwrap();
    let model = s.run_dir.join("model-best");
    for (mode, marked) in [("int8", true), ("none", false)] {
        let report = dir.path().join(format!("report-{mode}"));
        let out = common::stancekit(&[
            "evaluate",
            "-m",
            model.to_str().unwrap(),
            "-d",
            dir.path().join("dev.csv").to_str().unwrap(),
            "-o",
            report.to_str().unwrap(),
            "--quantize",
            mode,
        ]);
        assert!(out.status.success(), "{}", common::text(&out.stderr));
        let json = fs::read_to_string(report.join("report.json")).unwrap();
        assert_eq!(json.contains(r#""quantized": "int8""#), marked, "{mode}");
    }
}

#[test]
fn int8_on_a_model_without_an_encoder_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::model(dir.path());
    let input = dir.path().join("in.csv");
    fs::write(&input, "text\nThe council condemned the coup.\n").unwrap();
    let output = dir.path().join("out.csv");
    let out = run_classify(&model, &input, &output, &["--quantize", "int8"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("no int8 path"));
    assert!(!output.exists());
}
