//! The embedded corpus (datasets/diplomatic) meets its datasheet: sizes, balance, label sets,
//! no duplicates and no near-copies.

use stancekit::check::check_corpus;
use stancekit::config::load_config;
use stancekit::config::FileFormat;
use stancekit::data::{load_corpus, read_table, ReadOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn csv(path: &Path) -> stancekit::data::Table {
    read_table(
        path,
        ReadOptions {
            format: FileFormat::Csv,
            delimiter: None,
            quoting: true,
        },
    )
    .unwrap()
}

fn column<'a>(t: &'a stancekit::data::Table, name: &str) -> Vec<&'a str> {
    let i = t.columns.iter().position(|c| c == name).unwrap();
    t.data
        .iter()
        .map(|r| r[i].as_deref().unwrap_or(""))
        .collect()
}

fn words(t: &str) -> Vec<String> {
    let lower = t.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn four_grams(t: &str) -> HashSet<Vec<String>> {
    words(t).windows(4).map(|w| w.to_vec()).collect()
}

#[test]
fn statements_meet_the_minimum_counts_and_class_lists() {
    let t = csv(&root().join("datasets/diplomatic/statements.csv"));
    assert_eq!(
        t.columns,
        vec!["article_id", "statement_id", "text", "stance", "sentiment"]
    );
    assert!(t.height() >= 6000, "{} statements", t.height());
    let articles: BTreeSet<&str> = column(&t, "article_id").into_iter().collect();
    assert!(articles.len() >= 500, "{} articles", articles.len());
    let ids: BTreeSet<&str> = column(&t, "statement_id").into_iter().collect();
    assert_eq!(ids.len(), t.height(), "statement ids are unique");

    let count = |col: &str| {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for v in column(&t, col) {
            *m.entry(v).or_default() += 1;
        }
        m
    };
    let stance = count("stance");
    assert_eq!(
        stance.keys().copied().collect::<Vec<_>>(),
        vec!["condemnation", "cooperation", "invitation", "other"]
    );
    assert!(stance.values().all(|&n| n >= 1000), "{stance:?}");
    let sentiment = count("sentiment");
    assert_eq!(
        sentiment.keys().copied().collect::<Vec<_>>(),
        vec!["negative", "neutral", "positive"]
    );
    assert!(sentiment.values().all(|&n| n >= 1500), "{sentiment:?}");
}

#[test]
fn at_least_a_fifth_are_tagged_hard_cases_of_every_kind() {
    let t = csv(&root().join("datasets/diplomatic/statements.csv"));
    let h = csv(&root().join("datasets/diplomatic/hard_cases.csv"));
    let ids: HashSet<&str> = column(&t, "statement_id").into_iter().collect();
    let tagged = column(&h, "statement_id");
    assert!(
        tagged.iter().all(|id| ids.contains(id)),
        "hard_cases.csv names unknown statements"
    );
    assert!(
        tagged.len() * 5 >= t.height(),
        "{} of {} tagged",
        tagged.len(),
        t.height()
    );
    let kinds: BTreeSet<&str> = column(&h, "hard_case").into_iter().collect();
    for k in [
        "negated_cooperation",
        "rejected_invitation",
        "implicit_invitation",
        "mild_condemnation",
        "bleak_cooperation",
        "reported_condemnation",
        "meeting_mention",
        "background",
    ] {
        assert!(kinds.contains(k), "no hard case of kind {k}");
    }
}

#[test]
fn no_two_statements_share_more_than_half_their_word_four_grams() {
    let t = csv(&root().join("datasets/diplomatic/statements.csv"));
    let texts = column(&t, "text");
    let grams: Vec<HashSet<Vec<String>>> = texts.iter().map(|x| four_grams(x)).collect();
    let mut index: HashMap<&Vec<String>, Vec<usize>> = HashMap::new();
    for (i, g) in grams.iter().enumerate() {
        for gram in g {
            index.entry(gram).or_default().push(i);
        }
    }
    let mut offenders = Vec::new();
    for (i, g) in grams.iter().enumerate() {
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for gram in g {
            for &j in &index[gram] {
                if j > i {
                    *shared.entry(j).or_default() += 1;
                }
            }
        }
        for (j, n) in shared {
            let smaller = g.len().min(grams[j].len());
            if smaller > 0 && 2 * n > smaller {
                offenders.push(format!("{:?} ~ {:?}", texts[i], texts[j]));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "near-copies:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn data_check_finds_no_errors_and_no_duplicates_with_the_default_config() {
    let cfg = load_config(&root().join("configs/diplomatic-bow.toml"), &[]).unwrap();
    let corpus = load_corpus(&cfg.valid).unwrap();
    let report = check_corpus(&cfg.valid, &corpus);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let sizes: Vec<usize> = corpus.splits.iter().map(|s| s.records.len()).collect();
    assert_eq!(sizes.len(), 3, "train, dev and test");
    assert!(sizes[1] > 200 && sizes[2] > 200, "{sizes:?}");
}

#[test]
fn demo_articles_do_not_repeat_the_statements() {
    let a = csv(&root().join("datasets/diplomatic/articles.csv"));
    assert_eq!(a.columns, vec!["article_id", "headline", "body"]);
    assert!((20..=40).contains(&a.height()), "{} articles", a.height());
    let bodies: Vec<HashSet<Vec<String>>> =
        column(&a, "body").iter().map(|b| four_grams(b)).collect();
    let t = csv(&root().join("datasets/diplomatic/statements.csv"));
    for s in column(&t, "text") {
        let g = four_grams(s);
        for body in &bodies {
            let shared = g.intersection(body).count();
            assert!(
                g.is_empty() || 2 * shared <= g.len(),
                "statement repeated in articles.csv: {s}"
            );
        }
    }
}
