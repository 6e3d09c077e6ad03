//! `train --learning-curve` through the real binary: nested fractions, one run each, the points
//! in the run folder and the plot in the run's HTML report.

mod common;

use common::{model, stancekit, text};
use std::fs;

#[test]
fn a_learning_curve_trains_nested_fractions_and_the_report_plots_them() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let cfg = dir.path().join("run.toml");
    let o = stancekit(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--set",
        "run.name=curve",
        "--learning-curve",
        "0.25,0.5,1.0",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let run = dir.path().join("runs/curve");
    let points: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(run.join("learning-curve.json")).unwrap())
            .unwrap();
    assert_eq!(summary["learning_curve"].as_array().unwrap().len(), 3);
    let sizes: Vec<u64> = points
        .iter()
        .map(|p| p["train_examples"].as_u64().unwrap())
        .collect();
    // 18 training rows: a quarter rounds to 5 (4.5), a half is 9, all is 18.
    assert_eq!(sizes, [5, 9, 18]);
    assert_eq!(
        points[2]["run_dir"].as_str().unwrap(),
        run.display().to_string()
    );
    for p in &points[..2] {
        let d = std::path::Path::new(p["run_dir"].as_str().unwrap());
        assert!(d.starts_with(run.join("learning-curve")), "{}", d.display());
        let saved = fs::read_to_string(d.join("model-best/config.toml")).unwrap();
        assert!(saved.contains("fraction = "), "{saved}");
        assert!(p["dev_macro_f1"]["stance"].as_f64().is_some());
    }
    let html = fs::read_to_string(run.join("report-dev/report.html")).unwrap();
    assert!(html.contains("<h2>Learning curve</h2>") && html.contains("training labels"));
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("report-dev/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["learning_curve"].as_array().unwrap().len(), 3);
}

#[test]
fn learning_curve_fractions_out_of_order_or_range_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let cfg = dir.path().join("run.toml");
    for bad in ["0.5,0.25", "0,1", "1.5"] {
        let o = stancekit(&[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--learning-curve",
            bad,
        ]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("--learning-curve"), "{bad}");
    }
}
