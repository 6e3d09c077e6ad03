use super::*;
use crate::config::parse_config;
use crate::data::load_corpus;
use std::fs;

const TASKS: &str = r#"
[[tasks]]
name = "stance"
labels = ["condemnation", "cooperation", "invitation", "other"]
"#;

/// Check pre-split files written in a temporary folder.
fn check(train: &str, dev: &str, extra: &str) -> CheckReport {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("train.csv"), train).unwrap();
    fs::write(dir.path().join("dev.csv"), dev).unwrap();
    let text = format!(
        "[data]\ntrain = \"train.csv\"\ndev = \"dev.csv\"\ngroup_column = \"article\"\n{TASKS}\n{extra}"
    );
    let cfg = parse_config(&text, &dir.path().join("c.toml"), &[])
        .unwrap()
        .valid;
    check_corpus(&cfg, &load_corpus(&cfg).unwrap())
}

const HEAD: &str = "article,text,stance\n";

fn clean() -> (String, String) {
    (
        format!("{HEAD}a1,The ministers condemned the raid.,condemnation\na1,They agreed to joint patrols.,cooperation\na2,Lagos invited Accra to the talks.,invitation\na2,The border has been closed since 2019.,other\n"),
        format!("{HEAD}a3,Officials denounced the decree.,condemnation\na3,The two navies will train together.,cooperation\n"),
    )
}

#[test]
fn clean_corpus_passes_with_no_findings() {
    let (t, d) = clean();
    let r = check(&t, &d, "");
    assert!(r.passed(), "{:?}", r.findings);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.splits[0].rows, 4);
    assert_eq!(r.splits[0].labels["stance"]["invitation"], 1);
    assert_eq!(r.splits[1].labels["stance"]["invitation"], 0);
    let c = r.splits[0].chars.as_ref().unwrap();
    assert_eq!((c.min, c.max), (29, 38));
}

#[test]
fn empty_text_is_a_warning() {
    let (t, d) = clean();
    let r = check(&format!("{t}a9,   ,other\n"), &d, "");
    let f = r.finding("empty_text").unwrap();
    assert_eq!((f.severity, f.count), (Severity::Warning, 1));
    assert!(f.examples[0].ends_with("train.csv:6"), "{:?}", f.examples);
    assert!(r.passed());
}

#[test]
fn exact_and_normalised_duplicates_are_counted() {
    let (t, d) = clean();
    let t = format!("{t}a1,The ministers condemned the raid.,condemnation\na1,the ministers CONDEMNED the raid,condemnation\n");
    let r = check(&t, &d, "");
    assert_eq!(r.finding("exact_duplicates").unwrap().count, 1);
    assert_eq!(r.finding("normalized_duplicates").unwrap().count, 2);
    assert!(r.passed(), "duplicates alone are warnings");
}

#[test]
fn conflicting_labels_are_an_error() {
    let (t, d) = clean();
    let r = check(
        &format!("{t}a1,They agreed to joint patrols!,other\n"),
        &d,
        "",
    );
    let f = r.finding("conflicting_labels").unwrap();
    assert_eq!((f.severity, f.count), (Severity::Error, 1));
    assert!(
        f.examples[0].contains("cooperation / other"),
        "{:?}",
        f.examples
    );
    assert!(!r.passed());
}

#[test]
fn text_in_two_splits_is_leakage() {
    let (t, d) = clean();
    let r = check(
        &t,
        &format!("{d}a7,Lagos invited Accra to the talks.,invitation\n"),
        "",
    );
    let f = r.finding("leakage_text").unwrap();
    assert_eq!((f.severity, f.count), (Severity::Error, 1));
    assert!(f.examples[0].contains("train+dev") || f.examples[0].contains("dev+train"));
    assert!(!r.passed());
}

#[test]
fn group_in_two_splits_is_leakage() {
    let (t, d) = clean();
    let r = check(
        &t,
        &format!("{d}a1,A new statement from the same article.,other\n"),
        "",
    );
    let f = r.finding("leakage_group").unwrap();
    assert_eq!(f.count, 1);
    assert!(f.examples[0].starts_with("a1 in"), "{:?}", f.examples);
    assert!(!r.passed());
}

#[test]
fn unknown_labels_are_an_error_and_unused_labels_a_warning() {
    let (t, d) = clean();
    let t = t.replace("invitation\n", "INVITE\n");
    let r = check(&t, &d, "");
    let f = r.finding("unknown_labels").unwrap();
    assert_eq!((f.severity, f.count), (Severity::Error, 1));
    assert_eq!(f.examples, vec!["INVITE (1)".to_string()]);
    let u = r.finding("unused_labels").unwrap();
    assert_eq!(u.severity, Severity::Warning);
    assert_eq!(u.examples, vec!["invitation".to_string()]);
    assert!(!r.passed());
}

#[test]
fn unknown_labels_under_drop_policy_are_only_a_warning() {
    let (t, _) = clean();
    let t = t.replace("invitation\n", "INVITE\n");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("train.csv"), &t).unwrap();
    let text = format!(
        "[data]\ntrain = \"train.csv\"\n{}unknown = \"drop\"\n",
        TASKS
    );
    let cfg = parse_config(&text, &dir.path().join("c.toml"), &[])
        .unwrap()
        .valid;
    let r = check_corpus(&cfg, &load_corpus(&cfg).unwrap());
    assert_eq!(
        r.finding("unknown_labels").unwrap().severity,
        Severity::Warning
    );
    assert!(r.passed());
}

#[test]
fn missing_labels_are_reported() {
    let (t, d) = clean();
    let r = check(&format!("{t}a1,A statement nobody labelled.,\n"), &d, "");
    let f = r.finding("missing_labels").unwrap();
    assert_eq!((f.severity, f.count), (Severity::Error, 1));
}

#[test]
fn render_lists_counts_and_findings() {
    let (t, d) = clean();
    let r = check(&format!("{t}a9,,other\n"), &d, "");
    let s = render(&r);
    assert!(s.contains("[train] 5 rows"), "{s}");
    assert!(s.contains("warning[empty_text]"), "{s}");
    assert!(s.contains("0 errors, 1 warnings"), "{s}");
}
