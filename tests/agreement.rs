//! `stancekit data agreement` through the real binary: figures checked against the
//! `krippendorff` PyPI package, the adjudication file, and errors that name the column.

use stancekit::rng::SeededRng;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_stancekit");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `data agreement` on `file` with item column `id`, annotator column `coder` and `labels`.
fn args<'a>(file: &'a str, labels: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "data",
        "agreement",
        "--input",
        file,
        "--item-column",
        "id",
        "--annotator-column",
        "coder",
    ];
    for l in labels {
        args.extend(["--label-column", l]);
    }
    args
}

fn agreement_json(dir: &Path, file: &str, labels: &[&str]) -> serde_json::Value {
    let mut args = args(file, labels);
    args.push("--json");
    let o = run(dir, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// python3 with the `krippendorff` package, or a skip (a failure when CI requires fixtures).
fn python_with_krippendorff() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import krippendorff, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("STANCEKIT_REQUIRE_FIXTURES").is_none(),
            "python3 with the krippendorff package is required (STANCEKIT_REQUIRE_FIXTURES is set)"
        );
        eprintln!("SKIPPED: no python3 with the krippendorff package");
    }
    ok.then_some("python3")
}

#[test]
fn alpha_matches_the_krippendorff_package_on_random_codings_with_gaps() {
    let Some(py) = python_with_krippendorff() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let labels = ["condemnation", "cooperation", "invitation", "other"];
    for seed in 0..5u64 {
        let mut rng = SeededRng::new(seed, 7);
        let mut body = String::from("id,coder,stance\n");
        for item in 0..60 {
            let truth = rng.below(labels.len());
            for coder in ["ana", "ben", "chen"] {
                if rng.uniform() < 0.25 {
                    continue; // this coder skipped the item
                }
                let label = match rng.uniform() < 0.7 {
                    true => truth,
                    false => rng.below(labels.len()),
                };
                body.push_str(&format!("s{item},{coder},{}\n", labels[label]));
            }
        }
        let file = format!("coded{seed}.csv");
        fs::write(dir.path().join(&file), &body).unwrap();
        let ours = agreement_json(dir.path(), &file, &["stance"]);
        let alpha = ours["tasks"]["stance"]["krippendorff_alpha"]
            .as_f64()
            .unwrap();
        let script = r#"
import csv, sys, numpy as np, krippendorff
rows = list(csv.DictReader(open(sys.argv[1])))
items = sorted({r["id"] for r in rows}); coders = sorted({r["coder"] for r in rows})
labels = sorted({r["stance"] for r in rows})
data = np.full((len(coders), len(items)), np.nan)
for r in rows:
    data[coders.index(r["coder"]), items.index(r["id"])] = labels.index(r["stance"])
print(repr(float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))))
"#;
        let o = Command::new(py)
            .args(["-c", script, &file])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let reference: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
        assert!(
            (alpha - reference).abs() < 1e-9,
            "seed {seed}: ours {alpha}, krippendorff {reference}"
        );
        let [lo, hi] = [0, 1].map(|i| {
            ours["tasks"]["stance"]["krippendorff_alpha_ci95"][i]
                .as_f64()
                .unwrap()
        });
        assert!(lo <= alpha && alpha <= hi, "{lo} <= {alpha} <= {hi}");
    }
}

#[test]
fn pairs_per_class_and_the_adjudication_file_cover_every_disagreement() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("coded.csv"),
        "id,coder,stance,sentiment\n\
         s1,ana,condemnation,negative\ns1,ben,condemnation,negative\n\
         s2,ana,cooperation,positive\ns2,ben,other,positive\n\
         s3,ana,other,\ns3,ben,other,negative\ns3,chen,cooperation,negative\n\
         s4,ana,invitation,positive\n",
    )
    .unwrap();
    let mut a = args("coded.csv", &["stance", "sentiment"]);
    a.extend(["--disagreements", "adjudicate.csv", "--json"]);
    let o = run(dir.path(), &a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stance = &v["tasks"]["stance"];
    assert_eq!(stance["items"], 4);
    assert_eq!(stance["pairable_items"], 3);
    assert_eq!(stance["disagreements"], 2);
    let pairs = stance["pairs"].as_array().unwrap();
    let ana_ben = pairs
        .iter()
        .find(|p| p["a"] == "ana" && p["b"] == "ben")
        .unwrap();
    assert_eq!(ana_ben["items"], 3);
    assert_eq!(v["tasks"]["sentiment"]["empty"], 1);
    let file = fs::read_to_string(dir.path().join("adjudicate.csv")).unwrap();
    assert_eq!(
        file,
        "item,task,codings\n\
         s2,stance,ana=cooperation; ben=other\n\
         s3,stance,ana=other; ben=other; chen=cooperation\n"
    );
}

#[test]
fn a_missing_column_is_exit_2_naming_it_and_the_input_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let body = "id,coder,stance\ns1,ana,other\n";
    fs::write(dir.path().join("coded.csv"), body).unwrap();
    let mut base = args("coded.csv", &["stance"]);
    base[7] = "annotator";
    let o = run(dir.path(), &base);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("annotator"));
    let mut over = args("coded.csv", &["stance"]);
    over.extend(["--disagreements", "coded.csv"]);
    let o = run(dir.path(), &over);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        fs::read_to_string(dir.path().join("coded.csv")).unwrap(),
        body
    );
}
