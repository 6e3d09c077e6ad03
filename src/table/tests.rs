//! The reader's contract: records carry their start line, bad records name theirs, values
//! come back as written, and nothing is skipped.

use super::*;
use crate::config::FileFormat;
use crate::error::Error;

#[test]
fn csv_records_carry_their_start_line_across_quoted_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "a,b\n1,\"x\ny\"\n2,z\n3\n").unwrap();
    let mut r = RowReader::open(&p, ReadOptions::of(FileFormat::Csv)).unwrap();
    let first = r.next_record().unwrap().unwrap().unwrap();
    assert_eq!(first.line, 2);
    assert_eq!(first.cells[1], Cell::Text("x\ny".into()));
    assert_eq!(r.next_record().unwrap().unwrap().unwrap().line, 4);
    let bad = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!((bad.line, bad.raw.as_str()), (5, "3"));
    assert!(bad.error.to_string().contains("line 5"), "{}", bad.error);
    assert!(r.next_record().unwrap().is_none());
}

#[test]
fn jsonl_rows_follow_the_first_objects_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.jsonl");
    std::fs::write(
        &p,
        "{\"id\":1,\"text\":\"a\"}\n\n{\"text\":\"b\"}\n{\"id\":3,\"other\":1}\nnot json\n",
    )
    .unwrap();
    let mut r = RowReader::open(&p, ReadOptions::of(FileFormat::Jsonl)).unwrap();
    assert_eq!(r.columns(), ["id", "text"]);
    let a = r.next_record().unwrap().unwrap().unwrap();
    assert_eq!(a.cells, [Cell::Raw("1".into()), Cell::Text("a".into())]);
    let b = r.next_record().unwrap().unwrap().unwrap();
    assert_eq!((b.line, &b.cells[0]), (3, &Cell::Null));
    let extra = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!(extra.line, 4);
    assert!(extra.reason.contains("`other`"), "{}", extra.reason);
    let bad = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!(bad.line, 5);
}

#[test]
fn invalid_utf8_in_a_field_is_a_bad_row_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, b"a,b\n1,ok\n2,bad \xff byte\n").unwrap();
    let mut r = RowReader::open(&p, ReadOptions::of(FileFormat::Csv)).unwrap();
    assert!(r.next_record().unwrap().unwrap().is_ok());
    let bad = r.next_record().unwrap().unwrap().unwrap_err();
    assert_eq!(bad.line, 3);
    assert!(matches!(*bad.error, Error::InvalidUtf8 { line: 3, .. }));
}
