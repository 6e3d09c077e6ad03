use super::*;
use std::io::Write;

fn file(body: &str, ext: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(body.as_bytes()).unwrap();
    f
}

fn task(s: &str) -> TaskArg {
    s.parse().unwrap()
}

fn rows(c: &Coded) -> Vec<String> {
    c.rows
        .iter()
        .map(|r| {
            let labels: Vec<&str> = r
                .labels
                .iter()
                .map(|l| l.as_deref().unwrap_or("-"))
                .collect();
            format!("{}|{}|{}", r.item, r.annotator, labels.join(","))
        })
        .collect()
}

const LABEL_STUDIO: &str = r#"[
 {"id": 11, "data": {"text": "We condemn the strike.", "id": "s1"},
  "annotations": [
   {"completed_by": 1, "result": [
     {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": ["condemnation"]}},
     {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["negative"]}}]},
   {"completed_by": {"id": 2, "email": "b@example.org"}, "result": [
     {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": ["other"]}}]},
   {"completed_by": 3, "was_cancelled": true, "result": []}]},
 {"id": 12, "data": {"text": "Talks resume."}, "annotations": [],
  "predictions": [{"result": [{"from_name": "stance", "value": {"choices": ["other"]}}]}]},
 {"id": 13, "data": {"text": "They signed a pact."},
  "annotations": [{"completed_by": 1, "result": [
     {"from_name": "stance", "type": "choices", "value": {"choices": ["cooperation"]}}]},
   {"completed_by": 1, "result": [
     {"from_name": "stance", "type": "choices", "value": {"choices": ["cooperation"]}}]}]}
]"#;

#[test]
fn a_label_studio_export_becomes_one_row_per_item_and_annotator() {
    let f = file(LABEL_STUDIO, ".json");
    let (coded, report) = import_annotations("label-studio", f.path(), &[]).unwrap();
    assert_eq!(coded.tasks, ["stance", "sentiment"]);
    assert_eq!(
        rows(&coded),
        [
            "s1|1|condemnation,negative",
            "s1|b@example.org|other,-",
            "13|1|cooperation,-"
        ]
    );
    assert_eq!(report.records_in, 3);
    assert_eq!(report.merged, 1);
    assert_eq!(report.skipped["task without annotations"], 1);
    assert_eq!(
        report.skipped["annotation cancelled (skipped in Label Studio)"],
        1
    );
    assert_eq!(report.items_disagreeing["stance"], 1);
    assert_eq!(report.items, 2);
}

#[test]
fn a_later_different_answer_by_the_same_annotator_is_kept_and_counted_as_conflicting() {
    let body = r#"{"text": "A", "meta": {"id": "x"}, "_annotator_id": "ann", "accept": ["other"], "answer": "accept"}
{"text": "A", "meta": {"id": "x"}, "_annotator_id": "ann", "accept": ["condemnation"], "answer": "accept"}
"#;
    let f = file(body, ".jsonl");
    let (coded, report) = import_annotations("prodigy", f.path(), &[task("stance")]).unwrap();
    assert_eq!(rows(&coded), ["x|ann|condemnation"]);
    assert_eq!((report.conflicting, report.merged), (1, 0));
}

#[test]
fn prodigy_routes_accepted_options_to_the_task_whose_labels_contain_them() {
    let body = r#"{"text": "We condemn it.", "meta": {"id": "1"}, "_annotator_id": "a", "accept": ["condemnation", "negative"], "answer": "accept"}
{"text": "We condemn it.", "meta": {"id": "1"}, "_annotator_id": "b", "accept": ["condemnation"], "answer": "accept"}
{"text": "Maybe.", "_input_hash": 42, "_annotator_id": "a", "label": "other", "answer": "reject"}
{"text": "Maybe.", "_input_hash": 42, "_annotator_id": "b", "answer": "ignore"}
{"text": "Maybe.", "_input_hash": 42, "_annotator_id": "c", "label": "other", "answer": "accept"}
"#;
    let f = file(body, ".jsonl");
    let tasks = [
        task("stance=condemnation,cooperation,other"),
        task("sentiment=negative,neutral,positive"),
    ];
    let (coded, report) = import_annotations("prodigy", f.path(), &tasks).unwrap();
    assert_eq!(
        rows(&coded),
        [
            "1|a|condemnation,negative",
            "1|b|condemnation,-",
            "42|c|other,-"
        ]
    );
    assert_eq!(
        report.skipped["binary suggestion rejected (names no class)"],
        1
    );
    assert_eq!(report.skipped["answer ignored"], 1);
}

#[test]
fn a_prodigy_label_in_no_task_list_is_an_error_naming_its_line() {
    let body = "{\"text\": \"A\", \"meta\": {\"id\": \"1\"}, \"accept\": [\"other\"]}\n\n{\"text\": \"B\", \"meta\": {\"id\": \"2\"}, \"accept\": [\"praise\"]}\n";
    let f = file(body, ".jsonl");
    let err = import_annotations("prodigy", f.path(), &[task("stance=other,condemnation")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3") && err.contains("praise"), "{err}");
}

#[test]
fn argilla_records_of_either_version_give_the_same_rows() {
    let v2 = r#"[{"id": "r1", "fields": {"text": "We welcome the accord."},
      "responses": {"stance": [{"user_id": "u1", "value": "cooperation", "status": "submitted"},
                               {"user_id": "u2", "value": "other", "status": "submitted"},
                               {"user_id": "u3", "value": "other", "status": "draft"}]}}]"#;
    let v1 = r#"[{"external_id": "r1", "fields": {"text": "We welcome the accord."},
      "responses": [{"user_id": "u1", "status": "submitted", "values": {"stance": {"value": "cooperation"}}},
                    {"user_id": "u2", "status": "submitted", "values": {"stance": {"value": "other"}}},
                    {"user_id": "u3", "status": "draft", "values": {"stance": {"value": "other"}}}]}]"#;
    let a = file(v2, ".json");
    let b = file(v1, ".json");
    let (ca, ra) = import_annotations("argilla", a.path(), &[]).unwrap();
    let (cb, rb) = import_annotations("argilla", b.path(), &[]).unwrap();
    assert_eq!(rows(&ca), ["r1|u1|cooperation", "r1|u2|other"]);
    assert_eq!(ca, cb);
    assert_eq!(ra.skipped["response draft (not submitted)"], 1);
    assert_eq!(ra, rb);
}

#[test]
fn one_item_id_with_two_different_texts_is_an_error_naming_the_line() {
    let body = "[\n{\"data\": {\"text\": \"A\", \"id\": 1}, \"annotations\": [{\"completed_by\": 1, \"result\": [{\"from_name\": \"stance\", \"value\": {\"choices\": [\"other\"]}}]}]},\n{\"data\": {\"text\": \"B\", \"id\": 1}, \"annotations\": [{\"completed_by\": 2, \"result\": [{\"from_name\": \"stance\", \"value\": {\"choices\": [\"other\"]}}]}]}\n]";
    let f = file(body, ".json");
    let err = import_annotations("label-studio", f.path(), &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 3") && err.contains("two different texts"),
        "{err}"
    );
}

#[test]
fn broken_json_is_an_error_naming_the_line() {
    let f = file("{\"text\": \"A\"}\n{\"text\": \n", ".jsonl");
    let err = import_annotations("prodigy", f.path(), &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("invalid JSON"),
        "{err}"
    );
}
