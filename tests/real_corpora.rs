//! `data check` on the real corpora in ../shared/datasets through the shipped configs. Skips,
//! saying so, where that folder is absent (it is not part of the repository).

use stancekit::check::check_corpus;
use stancekit::config::load_config;
use stancekit::data::load_corpus;
use std::path::{Path, PathBuf};

mod common;

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("STANCEKIT_REQUIRE_FIXTURES").is_none(),
            "{} is absent, and STANCEKIT_REQUIRE_FIXTURES says it must be there",
            p.display()
        );
        // Straight to the terminal: libtest hides eprintln! output of passing tests.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {} is absent; real-corpus tests need it",
            p.display()
        );
        None
    }
}

fn check(config: &str) -> (stancekit::check::CheckReport, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(config);
    let cfg = load_config(&path, &[]).unwrap();
    let corpus = load_corpus(&cfg.valid).unwrap();
    let rows = corpus.splits.iter().map(|s| s.records.len()).sum();
    (check_corpus(&cfg.valid, &corpus), rows)
}

#[test]
fn plv_duplicate_sentences_stay_in_one_split() {
    if shared().is_none() {
        return;
    }
    let (report, rows) = check("plv-plover15-bow.toml");
    assert_eq!(rows, 1050, "one row per sentence-actor pair");
    assert_eq!(report.finding("exact_duplicates").map(|f| f.count), Some(6));
    assert!(
        report.finding("leakage_text").is_none(),
        "grouping by sentence prevents leakage"
    );
    assert!(report.finding("unknown_labels").is_none());
}

#[test]
fn keep_it_local_quadclass_reads_with_numeric_label_map() {
    if shared().is_none() {
        return;
    }
    let (report, rows) = check("kil-quadclass-bow.toml");
    assert_eq!(rows, 5979);
    assert!(report.finding("unknown_labels").is_none());
    assert!(report.splits[0].labels["quad"]["material_conflict"] > 1000);
}

#[test]
fn sst2_reads_unquoted_and_reports_its_conflicts() {
    if shared().is_none() {
        return;
    }
    let (report, rows) = check("sst2-bow.toml");
    assert_eq!(rows, 67349, "no quote character may merge rows");
    assert!(report.finding("conflicting_labels").is_some());
    assert!(!report.passed());
}

#[test]
fn importers_convert_every_shared_corpus() {
    let Some(root) = shared() else { return };
    use stancekit::data::import::import;
    let cases = [
        ("plv", "plv/train.tsv", 1044, "plover"),
        ("kil-quadclass", "keep-it-local/quadclass.tsv", 5979, "quad"),
        (
            "kil-relevance",
            "keep-it-local/relevance.tsv",
            11493,
            "relevance",
        ),
        ("newsmtsc", "newsmtsc/train.jsonl", 7357, "sentiment"),
        ("sst2", "sst2/dev.tsv", 872, "sentiment"),
    ];
    for (name, file, rows, task) in cases {
        let (imported, report) = import(name, &root.join(file)).unwrap();
        assert_eq!(imported.rows.len(), rows, "{name}");
        assert_eq!(
            report.rows_out + report.conflicts_dropped + report.duplicates_merged + report.skipped,
            report.rows_in,
            "{name}: rows unaccounted for"
        );
        assert!(imported.tasks.iter().any(|t| t == task));
    }
}

#[test]
fn cross_domain_scoring_labels_every_real_sentence_and_reports_each_figure() {
    if shared().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = common::model(dir.path());
    let out = dir.path().join("cross.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cross_domain.py");
    let o = std::process::Command::new("python3")
        .arg(&script)
        .arg(&model)
        .args(["--bootstrap", "20", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let row = &v[0];
    // Every sentence of both corpora is labelled: PLV after merging repeats, and the two
    // verbal QuadClass classes of keep-it-local.
    assert_eq!(row["plv_rows"], 1044);
    assert_eq!(row["kil_rows"], 2117);
    for key in [
        "plv_macro_f1",
        "plv_condemnation_f1",
        "kil_two_way_macro_f1",
        "kil_condemnation_f1",
    ] {
        let x = row[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{key} = {x}");
    }
    let ci = row["plv_macro_f1_ci"].as_array().unwrap();
    assert!(ci[0].as_f64() <= row["plv_macro_f1"].as_f64());
}
