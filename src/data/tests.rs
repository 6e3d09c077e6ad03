use super::*;
use crate::config::parse_config;
use std::fs;

const TASKS: &str = r#"
[[tasks]]
name = "stance"
labels = ["condemnation", "cooperation", "other"]
[tasks.label_map]
ACCUSE = "condemnation"
"#;

fn config_for(dir: &Path, data: &str, extra: &str) -> ValidConfig {
    let text = format!("[data]\npath = \"{data}\"\ngroup_column = \"article\"\n{extra}\n{TASKS}");
    parse_config(&text, &dir.join("run.toml"), &[])
        .unwrap()
        .valid
}

fn records(dir: &Path, file: &str, extra: &str) -> Result<Vec<Record>> {
    let cfg = config_for(dir, file, extra);
    read_records(&cfg, &dir.join(file), 0)
}

/// The fields that must come out the same whatever the file format.
type Essence = (Option<String>, Option<String>, Vec<Option<String>>);

fn essence(rs: &[Record]) -> Vec<Essence> {
    rs.iter()
        .map(|r| (r.group.clone(), r.text.clone(), r.labels.clone()))
        .collect()
}

#[test]
fn csv_tsv_jsonl_and_parquet_read_into_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("a.csv"),
        "article,text,stance\nA1,\"Ministers met, then \"\"agreed\"\"\",cooperation\nA2,\"line one\nline two\",ACCUSE\nA2,,other\n",
    )
    .unwrap();
    fs::write(
        d.join("a.tsv"),
        "article\ttext\tstance\nA1\t\"Ministers met, then \"\"agreed\"\"\"\tcooperation\nA2\t\"line one\nline two\"\tACCUSE\nA2\t\tother\n",
    )
    .unwrap();
    fs::write(
        d.join("a.jsonl"),
        "{\"article\":\"A1\",\"text\":\"Ministers met, then \\\"agreed\\\"\",\"stance\":\"cooperation\"}\n{\"article\":\"A2\",\"text\":\"line one\\nline two\",\"stance\":\"ACCUSE\"}\n\n{\"article\":\"A2\",\"text\":null,\"stance\":\"other\"}\n",
    )
    .unwrap();
    {
        use polars::prelude::*;
        let mut df = df!(
            "article" => ["A1", "A2", "A2"],
            "text" => [Some("Ministers met, then \"agreed\""), Some("line one\nline two"), None],
            "stance" => ["cooperation", "ACCUSE", "other"],
        )
        .unwrap();
        let f = fs::File::create(d.join("a.parquet")).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
    }
    let csv = records(d, "a.csv", "").unwrap();
    assert_eq!(csv.len(), 3);
    assert_eq!(
        csv[0].text.as_deref(),
        Some("Ministers met, then \"agreed\"")
    );
    assert_eq!(csv[1].text.as_deref(), Some("line one\nline two"));
    assert_eq!(csv[2].text, None);
    assert_eq!(
        csv.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 3, 5]
    );
    for other in ["a.tsv", "a.jsonl", "a.parquet"] {
        let got = records(d, other, "").unwrap();
        assert_eq!(essence(&got), essence(&csv), "{other} differs from csv");
    }
}

#[test]
fn unquoted_tsv_keeps_quote_characters_as_text() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("s.tsv"),
        "article\ttext\tstance\nA\t\"it 's a \" gem\tother\nB\tplain\tother\n",
    )
    .unwrap();
    let rs = records(dir.path(), "s.tsv", "quoting = false").unwrap();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].text.as_deref(), Some("\"it 's a \" gem"));
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = records(dir.path(), "nope.csv", "").unwrap_err().to_string();
    assert!(
        err.contains("nope.csv") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn missing_column_names_file_column_and_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.csv"), "article,body,stance\nA,x,other\n").unwrap();
    let err = records(dir.path(), "m.csv", "").unwrap_err();
    match &err {
        Error::MissingColumn { column, found, .. } => {
            assert_eq!(column, "text");
            assert!(found.contains("body"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("m.csv"));
}

#[test]
fn ragged_row_names_the_line_and_field_counts() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.csv"),
        "article,text,stance\nA,ok,other\nB,too,many,fields\n",
    )
    .unwrap();
    let err = records(dir.path(), "r.csv", "").unwrap_err();
    assert!(
        matches!(
            err,
            Error::RaggedRow {
                line: 3,
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unclosed_quote_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("q.csv"),
        "article,text,stance\nA,ok,other\nB,\"never closed,other\nC,more,other\n",
    )
    .unwrap();
    let err = records(dir.path(), "q.csv", "").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Malformed { line: 3, .. }), "{msg}");
    assert!(msg.contains("never closed"), "{msg}");
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"article,text,stance\nA,fine,other\nB,bad \xff byte,other\n".to_vec();
    bytes.extend_from_slice(b"C,fine,other\n");
    fs::write(dir.path().join("u.csv"), bytes).unwrap();
    let err = records(dir.path(), "u.csv", "").unwrap_err();
    assert!(matches!(err, Error::InvalidUtf8 { line: 3, .. }), "{err:?}");
}

#[test]
fn malformed_jsonl_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("j.jsonl"),
        "{\"article\":\"A\",\"text\":\"x\",\"stance\":\"other\"}\n{\"article\": oops}\n",
    )
    .unwrap();
    let err = records(dir.path(), "j.jsonl", "").unwrap_err();
    assert!(matches!(err, Error::Malformed { line: 2, .. }), "{err:?}");
}

#[test]
fn empty_label_is_an_error_naming_row_and_column_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("e.csv"),
        "article,text,stance\nA,one,other\nB,two,\n",
    )
    .unwrap();
    let cfg = config_for(dir.path(), "e.csv", "");
    let corpus = Corpus {
        files: vec![dir.path().join("e.csv")],
        sources: cfg.source_names(),
        splits: vec![SplitRecords {
            part: Part::Train,
            records: read_records(&cfg, &dir.path().join("e.csv"), 0).unwrap(),
        }],
    };
    let err = encode(&cfg, &corpus, &corpus.splits[0])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("e.csv")
            && err.contains("line 3")
            && err.contains("`stance`")
            && err.contains("empty label"),
        "{err}"
    );

    let mut cfg = cfg;
    cfg.tasks[0].missing = crate::config::MissingPolicy::Ignore;
    let (ex, _) = encode(&cfg, &corpus, &corpus.splits[0]).unwrap();
    assert_eq!(ex[1].labels, vec![None]);
}

#[test]
fn label_map_and_unknown_policies_apply() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(dir.path(), "x.csv", "");
    let mut task = cfg.tasks[0].clone();
    let f = Path::new("x.csv");
    assert_eq!(
        map_label(&task, Some("ACCUSE"), f, 2).unwrap(),
        LabelOutcome::Label(0)
    );
    assert_eq!(
        map_label(&task, Some("other"), f, 2).unwrap(),
        LabelOutcome::Label(2)
    );
    let err = map_label(&task, Some("THREATEN"), f, 7)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 7") && err.contains("unknown label `THREATEN`"),
        "{err}"
    );
    task.unknown = crate::config::UnknownPolicy::Drop;
    assert_eq!(
        map_label(&task, Some("THREATEN"), f, 7).unwrap(),
        LabelOutcome::DropRow
    );
    task.unknown = crate::config::UnknownPolicy::Map("other".into());
    assert_eq!(
        map_label(&task, Some("THREATEN"), f, 7).unwrap(),
        LabelOutcome::Label(2)
    );
}

#[test]
fn single_file_is_split_by_group_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("article,text,stance\n");
    for a in 0..40 {
        for s in 0..3 {
            let label = ["condemnation", "cooperation", "other"][(a + s) % 3];
            body.push_str(&format!("art{a},statement {a} {s},{label}\n"));
        }
    }
    fs::write(dir.path().join("one.csv"), body).unwrap();
    let cfg = config_for(dir.path(), "one.csv", "[split]\ndev = 0.2\ntest = 0.2");
    let a = load_corpus(&cfg).unwrap();
    let b = load_corpus(&cfg).unwrap();
    assert_eq!(a.splits.len(), 3);
    for (x, y) in a.splits.iter().zip(&b.splits) {
        assert_eq!(x.records, y.records);
    }
    let total: usize = a.splits.iter().map(|s| s.records.len()).sum();
    assert_eq!(total, 120, "no row lost in splitting");
}

#[test]
fn one_column_can_be_both_text_and_group() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("g.csv"),
        "article,text,stance\nA,same words,other\n",
    )
    .unwrap();
    let text = format!("[data]\npath = \"g.csv\"\ngroup_column = \"text\"\n{TASKS}");
    let cfg = parse_config(&text, &dir.path().join("run.toml"), &[])
        .unwrap()
        .valid;
    let rs = read_records(&cfg, &dir.path().join("g.csv"), 0).unwrap();
    assert_eq!(rs[0].group.as_deref(), Some("same words"));
    assert_eq!(rs[0].text.as_deref(), Some("same words"));
}
