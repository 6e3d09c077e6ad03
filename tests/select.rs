//! `stancekit select` through the real binary: what it must never propose, determinism, and
//! the import files for the annotation tools.

mod common;

use common::{column, model, read, stancekit, text};
use stancekit::text::dedup_key;
use std::collections::HashSet;
use std::fs;
use std::path::Path;

/// A pool of new texts, training texts written differently, repeats and an empty text.
fn pool(dir: &Path) -> std::path::PathBuf {
    let mut body = String::from("id,text\n");
    let mut n = 0;
    let mut row = |t: &str| {
        n += 1;
        body.push_str(&format!("p{n},\"{t}\"\n"));
    };
    for (i, actor) in [
        "Fiji", "Laos", "Togo", "Niue", "Mali", "Chad", "Iraq", "Cuba",
    ]
    .iter()
    .enumerate()
    {
        for verb in ["criticised", "backed", "urged", "hosted"] {
            row(&format!("{actor} {verb} the plan on day {i}"));
        }
    }
    // Training texts with other case and punctuation: already labelled.
    row("GHANA condemned the move on day 0!");
    row("peru   SIGNED the move, on day 1");
    // Repeats within the pool.
    row("Fiji criticised the plan on day 0.");
    row("fiji CRITICISED the plan on day 0");
    row("");
    let path = dir.join("pool.csv");
    fs::write(&path, body).unwrap();
    path
}

fn select(dir: &Path, extra: &[&str]) -> std::process::Output {
    select_to(dir, &dir.join("next.csv"), extra)
}

fn select_to(dir: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let m = dir.join("runs/tiny/model-best");
    let pool = dir.join("pool.csv");
    let mut args = vec![
        "select",
        "-m",
        m.to_str().unwrap(),
        "-i",
        pool.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    stancekit(&args)
}

#[test]
fn select_on_a_pool_whose_every_row_is_already_labelled_crashed_and_now_selects_none() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let training = fs::read_to_string(dir.path().join("tiny.csv")).unwrap();
    let body: String = std::iter::once("id,text\n".to_string())
        .chain(
            training
                .lines()
                .skip(1)
                .enumerate()
                .map(|(i, l)| format!("q{i},{}\n", l.split(',').nth(1).unwrap())),
        )
        .collect();
    fs::write(dir.path().join("pool.csv"), body).unwrap();
    for strategy in ["margin", "diverse"] {
        let o = select(dir.path(), &["-n", "5", "--strategy", strategy, "--json"]);
        assert!(o.status.success(), "{strategy}: {}", text(&o.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(summary["already_labelled"], 18, "{strategy}");
        assert_eq!(
            read(&dir.path().join("next.csv")).data.len(),
            0,
            "{strategy}"
        );
    }
}

#[test]
fn select_never_proposes_a_training_row_or_a_repeat_whatever_the_strategy() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let training: HashSet<String> = fs::read_to_string(dir.path().join("tiny.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| dedup_key(l.split(',').nth(1).unwrap()))
        .collect();
    for strategy in ["margin", "entropy", "random", "diverse"] {
        let o = select(
            dir.path(),
            &["-n", "1000", "--strategy", strategy, "--json"],
        );
        assert!(o.status.success(), "{strategy}: {}", text(&o.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(summary["already_labelled"], 2, "{strategy}");
        assert_eq!(summary["repeats_in_pool"], 2, "{strategy}");
        assert_eq!(summary["empty_texts"], 1, "{strategy}");
        let out = read(&dir.path().join("next.csv"));
        let texts: Vec<String> = column(&out, "text")
            .into_iter()
            .map(|t| dedup_key(t.unwrap()))
            .collect();
        let distinct: HashSet<&String> = texts.iter().collect();
        assert_eq!(
            distinct.len(),
            texts.len(),
            "{strategy}: a repeat was proposed"
        );
        assert!(
            texts.iter().all(|t| !training.contains(t)),
            "{strategy}: a training text was proposed"
        );
        let ranks: Vec<&str> = column(&out, "select_rank").into_iter().flatten().collect();
        assert_eq!(ranks.first(), Some(&"1"));
        assert_eq!(texts.len(), summary["selected"].as_u64().unwrap() as usize);
    }
}

#[test]
fn the_same_seed_selects_the_same_rows_and_exclude_files_are_respected() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    for strategy in ["margin", "random", "diverse"] {
        let mut runs = Vec::new();
        for seed in ["1", "1", "2"] {
            let o = select(
                dir.path(),
                &["-n", "8", "--strategy", strategy, "--seed", seed],
            );
            assert!(o.status.success(), "{}", text(&o.stderr));
            runs.push(fs::read_to_string(dir.path().join("next.csv")).unwrap());
        }
        assert_eq!(runs[0], runs[1], "{strategy} is not deterministic");
        if strategy == "random" {
            assert_ne!(runs[0], runs[2], "the seed does not change a random sample");
        }
    }
    fs::write(
        dir.path().join("done.csv"),
        "text\nFiji backed the plan on day 0\n",
    )
    .unwrap();
    let done = dir.path().join("done.csv");
    let o = select(
        dir.path(),
        &["-n", "1000", "--exclude", done.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = read(&dir.path().join("next.csv"));
    assert!(column(&out, "text")
        .iter()
        .all(|t| dedup_key(t.unwrap()) != dedup_key("Fiji backed the plan on day 0")));
}

#[test]
fn label_studio_prodigy_and_argilla_files_carry_the_predictions() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let out = dir.path().join("next.csv");
    for to in ["label-studio", "prodigy", "argilla"] {
        let o = select(dir.path(), &["-n", "5", "--to", to, "--stratify"]);
        assert!(o.status.success(), "{to}: {}", text(&o.stderr));
        let body = fs::read_to_string(&out).unwrap();
        let records: Vec<serde_json::Value> = match to {
            "prodigy" => body
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            _ => serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap(),
        };
        assert_eq!(records.len(), 5, "{to}");
        let labels = ["condemnation", "cooperation", "invitation"];
        for r in &records {
            let stance = match to {
                "label-studio" => &r["predictions"][0]["result"][0]["value"]["choices"][0],
                "prodigy" => &r["accept"][0],
                _ => &r["suggestions"][0]["value"],
            };
            assert!(labels.contains(&stance.as_str().unwrap()), "{to}: {r}");
        }
    }
}

#[test]
fn an_output_over_the_pool_or_the_training_data_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let pool = pool(dir.path());
    let before = fs::read_to_string(&pool).unwrap();
    for target in [pool.clone(), dir.path().join("tiny.csv")] {
        let o = select_to(dir.path(), &target, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    }
    assert_eq!(fs::read_to_string(&pool).unwrap(), before);
}

#[test]
fn a_pool_of_articles_is_segmented_and_each_statement_is_identified_by_article_and_index() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    fs::write(
        dir.path().join("articles.csv"),
        "article_id,body\n\
         a1,\"Fiji urged talks on day 3. Ghana condemned the move on day 0. Laos hosted a summit.\"\n\
         a2,\"Togo backed the plan on day 2.\"\n",
    )
    .unwrap();
    let m = dir.path().join("runs/tiny/model-best");
    let (articles, out) = (dir.path().join("articles.csv"), dir.path().join("next.csv"));
    let o = stancekit(&[
        "select",
        "-m",
        m.to_str().unwrap(),
        "-i",
        articles.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--segment",
        "--text-column",
        "body",
        "--id-column",
        "article_id",
        "-n",
        "10",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["pool_rows"], 4, "four statements in two articles");
    assert_eq!(
        summary["already_labelled"], 1,
        "the training sentence is left out"
    );
    let out = read(&dir.path().join("next.csv"));
    let mut ids: Vec<&str> = column(&out, "statement_id").into_iter().flatten().collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["a1:0", "a1:2", "a2:0"]);
}

/// What an annotation tool exports after two annotators ("ann" and "bob") labelled the tasks
/// `select` wrote for it: "bob" disagrees on the first task.
fn annotated(to: &str, records: &[serde_json::Value]) -> String {
    use serde_json::json;
    let label = |i: usize, who: &str| match (i, who) {
        (0, "bob") => "other",
        _ => "condemnation",
    };
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match to {
            "label-studio" => {
                let mut r = r.clone();
                r["annotations"] = json!(["ann", "bob"].map(
                    |who| json!({"completed_by": {"email": who},
                    "result": [{"from_name": "stance", "to_name": "text", "type": "choices",
                                "value": {"choices": [label(i, who)]}}]})
                ));
                out.push(r);
            }
            "prodigy" => {
                for who in ["ann", "bob"] {
                    let mut r = r.clone();
                    r["accept"] = json!([label(i, who)]);
                    r["answer"] = json!("accept");
                    r["_annotator_id"] = json!(who);
                    out.push(r);
                }
            }
            _ => {
                let mut r = r.clone();
                let stance = ["ann", "bob"].map(
                    |who| json!({"user_id": who, "value": label(i, who), "status": "submitted"}),
                );
                r["responses"] = json!({ "stance": stance });
                out.push(r);
            }
        }
    }
    match to {
        "prodigy" => out.iter().map(|r| format!("{r}\n")).collect(),
        _ => serde_json::to_string_pretty(&out).unwrap(),
    }
}

#[test]
fn rows_selected_for_each_annotation_tool_come_back_through_import_ready_for_agreement() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    pool(dir.path());
    let next = dir.path().join("next.json");
    let export = dir.path().join("export.json");
    let coded = dir.path().join("coded.csv");
    for to in ["label-studio", "prodigy", "argilla"] {
        let o = select_to(dir.path(), &next, &["-n", "6", "--to", to]);
        assert!(o.status.success(), "{to}: {}", text(&o.stderr));
        let body = fs::read_to_string(&next).unwrap();
        let records: Vec<serde_json::Value> = match to {
            "prodigy" => body
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            _ => serde_json::from_str(&body).unwrap(),
        };
        fs::write(&export, annotated(to, &records)).unwrap();
        let (e, c) = (export.to_str().unwrap(), coded.to_str().unwrap());
        let o = stancekit(&[
            "data", "import", to, "--from", e, "--out", c, "--task", "stance", "--json",
        ]);
        assert!(o.status.success(), "{to}: {}", text(&o.stderr));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["rows_out"], 12, "{to}: {report}");
        assert_eq!(report["items_disagreeing"]["stance"], 1, "{to}: {report}");
        let t = read(&coded);
        let ids: HashSet<&str> = column(&t, "id").into_iter().flatten().collect();
        let selected: HashSet<&str> = records
            .iter()
            .map(|r| match to {
                "label-studio" => r["data"]["id"].as_str().unwrap(),
                "prodigy" => r["meta"]["id"].as_str().unwrap(),
                _ => r["id"].as_str().unwrap(),
            })
            .collect();
        assert_eq!(ids, selected, "{to}");
        let o = stancekit(&[
            "data",
            "agreement",
            "-i",
            c,
            "--item-column",
            "id",
            "--annotator-column",
            "annotator",
            "--label-column",
            "stance",
            "--json",
        ]);
        assert!(o.status.success(), "{to}: {}", text(&o.stderr));
        let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let alpha = a["tasks"]["stance"]["krippendorff_alpha"].as_f64();
        assert!(alpha.is_some_and(|x| x < 1.0), "{to}: {a}");
    }
}

#[test]
fn importing_an_export_over_itself_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.jsonl");
    fs::write(
        &export,
        "{\"text\": \"A\", \"meta\": {\"id\": \"1\"}, \"accept\": [\"other\"]}\n",
    )
    .unwrap();
    let e = export.to_str().unwrap();
    let o = stancekit(&["data", "import", "prodigy", "--from", e, "--out", e]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(fs::read_to_string(&export).unwrap().contains("other"));
}
