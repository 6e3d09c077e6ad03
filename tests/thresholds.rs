//! Per-class thresholds through the real binary: tuned on dev by `train`, stored in the
//! checkpoint without touching the weights, applied by `evaluate` and `classify`, and ignored
//! with `--thresholds none`.

mod common;

use common::{column, model, read, stancekit, text};
use std::fs;
use std::path::{Path, PathBuf};

/// Train the tiny model again with thresholds that demand perfect dev precision (so some are
/// above zero after one epoch); returns (plain model-best, tuned model-best).
fn models(dir: &Path) -> (PathBuf, PathBuf) {
    let plain = model(dir);
    let cfg = dir.join("run.toml");
    let o = stancekit(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--set",
        "run.name=tuned",
        "--set",
        "train.thresholds=precision",
        "--set",
        "train.threshold_precision=1.0",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("thresholds stance (precision>=1"),
        "{}",
        text(&o.stdout)
    );
    (plain, dir.join("runs/tuned/model-best"))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn thresholds(model: &Path, task: usize) -> Vec<f32> {
    let p = json(&model.join("pipeline.json"));
    p["tasks"][task]["thresholds"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn thresholds_tuned_on_dev_are_stored_in_model_best_and_leave_the_weights_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, tuned) = models(dir.path());
    let (a, b) = (
        json(&plain.join("manifest.json")),
        json(&tuned.join("manifest.json")),
    );
    assert_eq!(a["weights_sha256"], b["weights_sha256"]);
    assert_ne!(a["pipeline_sha256"], b["pipeline_sha256"]);
    assert!(json(&plain.join("pipeline.json"))["tasks"][0]
        .get("thresholds")
        .is_none());
    let t = thresholds(&tuned, 0);
    assert_eq!(t.len(), 3);
    assert!(t.iter().all(|v| (0.0..1.0).contains(v)), "{t:?}");
    // The rewritten folder still verifies against its manifest.
    stancekit::checkpoint::load(&tuned, &candle_core::Device::Cpu).unwrap();
}

#[test]
fn classify_applies_stored_thresholds_and_none_gives_argmax() {
    let dir = tempfile::tempdir().unwrap();
    let (_, tuned) = models(dir.path());
    let th = thresholds(&tuned, 0);
    let labels = ["condemnation", "cooperation", "invitation"];
    let input = dir.path().join("texts.csv");
    let body = fs::read_to_string(dir.path().join("tiny.csv")).unwrap();
    let texts: Vec<&str> = body.lines().map(|l| l.split(',').nth(1).unwrap()).collect();
    fs::write(&input, texts.join("\n") + "\n").unwrap();
    for (mode, out) in [("stored", "a.csv"), ("none", "b.csv")] {
        let out = dir.path().join(out);
        let args = [
            "classify",
            "-m",
            tuned.to_str().unwrap(),
            "-i",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--probs",
            "--thresholds",
            mode,
        ];
        let o = stancekit(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let t = read(&out);
        let got = column(&t, "stance");
        let probs: Vec<Vec<f32>> = labels
            .iter()
            .map(|l| {
                let c = column(&t, &format!("stance_p_{l}"));
                c.iter().map(|v| v.unwrap().parse().unwrap()).collect()
            })
            .collect();
        for (r, label) in got.iter().enumerate() {
            let p: Vec<f32> = probs.iter().map(|c| c[r]).collect();
            if p.iter().zip(&th).any(|(a, b)| (a - b).abs() < 1e-4) {
                continue; // too close to call from the printed probabilities
            }
            let want = match mode {
                "stored" => stancekit::eval::thresholds::decide(&p, &th),
                _ => Some(stancekit::eval::predict::argmax(&p)),
            };
            let want = want.map_or("abstain", |i| labels[i as usize]);
            assert_eq!(label.unwrap(), want, "{mode}, row {r}: {p:?} vs {th:?}");
        }
    }
}

#[test]
fn evaluate_reports_metrics_before_and_after_thresholds_unless_told_none() {
    let dir = tempfile::tempdir().unwrap();
    let (_, tuned) = models(dir.path());
    let data = dir.path().join("tiny.csv");
    for (mode, out) in [("stored", "ra"), ("none", "rb")] {
        let out = dir.path().join(out);
        let args = [
            "evaluate",
            "-m",
            tuned.to_str().unwrap(),
            "-d",
            data.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--thresholds",
            mode,
            "--bootstrap",
            "10",
        ];
        let o = stancekit(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let report = json(&out.join("report.json"));
        let header = fs::read_to_string(out.join("predictions.csv")).unwrap();
        let header = header.lines().next().unwrap().to_string();
        match mode {
            "stored" => {
                let r = &report["thresholds"][0];
                assert_eq!(r["task"], "stance");
                let before = r["before"]["macro_f1"].as_f64().unwrap();
                let plain = report["tasks"][0]["metrics"]["macro_f1"].as_f64().unwrap();
                assert!((before - plain).abs() < 1e-12, "{before} vs {plain}");
                assert!(r["after"]["coverage"].as_f64().unwrap() <= 1.0);
                assert!(header.contains("stance_pred_thresholded"), "{header}");
                let md = fs::read_to_string(out.join("report.md")).unwrap();
                assert!(md.contains("## Thresholds for `stance`"));
            }
            _ => {
                assert!(report.get("thresholds").is_none(), "{report}");
                assert!(!header.contains("thresholded"), "{header}");
            }
        }
    }
}
