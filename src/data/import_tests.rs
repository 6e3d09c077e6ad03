use super::*;
use std::fs;

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    p
}

#[test]
fn plv_keeps_one_row_per_sentence_and_drops_conflicting_copies() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "plv.tsv",
        "\tsentence_id\tsentence\tgold_penta\tgold_root\n\
         0\t1\tIran condemned the ruling.\t3\tACCUSE\n\
         1\t1\tIran condemned the ruling.\t3\tACCUSE\n\
         2\t2\tThe two sides agreed on a truce.\t2\tAGREE\n\
         3\t3\tTroops shelled the town.\t1\tASSAULT\n\
         4\t3\tTroops shelled the town.\t1\tCOERCE\n",
    );
    let (imp, rep) = import("plv", &p).unwrap();
    assert_eq!(imp.tasks, vec!["plover", "stance", "penta"]);
    assert_eq!(imp.rows.len(), 2);
    assert_eq!(imp.rows[0].3, vec!["ACCUSE", "condemnation", "3"]);
    assert_eq!(imp.rows[1].3, vec!["AGREE", "cooperation", "2"]);
    assert_eq!(
        (
            rep.rows_in,
            rep.rows_out,
            rep.duplicates_merged,
            rep.conflicts_dropped
        ),
        (5, 2, 1, 2)
    );
}

#[test]
fn plover_codes_map_to_stance_classes() {
    assert_eq!(plover_to_stance("ACCUSE"), "condemnation");
    for c in ["AGREE", "CONSULT", "COOPERATE", "SUPPORT", "AID"] {
        assert_eq!(plover_to_stance(c), "cooperation");
    }
    for c in ["REJECT", "THREATEN", "YIELD", "ASSAULT"] {
        assert_eq!(plover_to_stance(c), "other");
    }
}

#[test]
fn keep_it_local_numbers_become_named_classes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "q.tsv",
        "en\tQuadClass\nTroops crossed the border.\t1\n\"Talks, then a deal.\"\t4\n",
    );
    let (imp, _) = import("kil-quadclass", &p).unwrap();
    assert_eq!(imp.rows[0].3, vec!["material_conflict"]);
    assert_eq!(imp.rows[1].2, "Talks, then a deal.");
    assert_eq!(imp.rows[1].3, vec!["verbal_cooperation"]);
    let bad = write(dir.path(), "b.tsv", "en\tQuadClass\nSomething.\t9\n");
    let err = import("kil-quadclass", &bad).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("0-4"), "{err}");
    let r = write(dir.path(), "r.tsv", "en\tRelevant\nA.\t0\nB.\t1\n");
    let (imp, rep) = import("kil-relevance", &r).unwrap();
    assert_eq!(rep.labels["relevance"]["relevant"], 1);
    assert_eq!(imp.rows[0].3, vec!["irrelevant"]);
}

#[test]
fn newsmtsc_keeps_agreeing_targets_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "n.jsonl",
        "{\"primary_gid\":\"a\",\"sentence_normalized\":\"She praised him.\",\"targets\":[{\"polarity\":6.0},{\"polarity\":6.0}]}\n\
         {\"primary_gid\":\"b\",\"sentence_normalized\":\"He attacked her.\",\"targets\":[{\"polarity\":2.0},{\"polarity\":4.0}]}\n\
         {\"primary_gid\":\"c\",\"sentence_normalized\":\"They met.\",\"targets\":[{\"polarity\":4.0}]}\n",
    );
    let (imp, rep) = import("newsmtsc", &p).unwrap();
    assert_eq!(
        imp.rows.iter().map(|r| r.3[0].as_str()).collect::<Vec<_>>(),
        vec!["positive", "neutral"]
    );
    assert_eq!((rep.rows_in, rep.rows_out, rep.skipped), (3, 2, 1));
}

#[test]
fn sst2_reads_unquoted_text_and_either_header() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "train.tsv",
        "label\tsentence\n0\tit 's \" not a gem\n1\ta \"gem\n",
    );
    let d = write(dir.path(), "dev.tsv", "label\tcontent\n1\tfine .\n");
    let (imp, _) = import("sst2", &t).unwrap();
    assert_eq!(imp.rows[0].2, "it 's \" not a gem");
    assert_eq!(imp.rows[1].3, vec!["positive"]);
    let (imp, _) = import("sst2", &d).unwrap();
    assert_eq!(imp.rows[0].2, "fine .");
}

#[test]
fn canonical_csv_round_trips_and_never_overwrites_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "s.tsv",
        "label\tsentence\n0\tcommas, \"quotes\" and\n",
    );
    let (imp, _) = import("sst2", &src).unwrap();
    let out = dir.path().join("out.csv");
    write_csv(&imp, &src, &out).unwrap();
    let table = read_table(
        &out,
        ReadOptions {
            format: FileFormat::Csv,
            delimiter: None,
            quoting: true,
        },
    )
    .unwrap();
    assert_eq!(table.columns, vec!["id", "group", "text", "sentiment"]);
    assert_eq!(table.data[0][2].as_deref(), Some("commas, \"quotes\" and"));
    assert!(write_csv(&imp, &src, &src).is_err());
}

#[test]
fn unknown_corpus_names_the_choices() {
    let err = import("imdb", Path::new("x")).unwrap_err().to_string();
    assert!(err.contains("plv") && err.contains("sst2"), "{err}");
}
