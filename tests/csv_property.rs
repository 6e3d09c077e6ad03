//! Property test (issue 12): for a few hundred seeded random csv and tsv files full of quotes,
//! blank lines, CRLF, byte-order marks, embedded newlines and ragged rows, `classify` either
//! writes exactly the records Python's `csv` module reads (every row, every column, values
//! unchanged) or refuses the file with exit code 2 and a line number. Never a merged, dropped
//! or altered row.

mod common;

use stancekit::rng::SeededRng;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

const CASES: usize = 300;
const SEED: u64 = 20261201;

/// Pieces a field is built from: plain words, the delimiters, quotes, line ends, unicode.
const PIECES: [&str; 12] = [
    "Peru",
    "signed",
    "the deal",
    ",",
    "\t",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "Κένυα",
    " ",
    "",
];

fn field(rng: &mut SeededRng, sep: char) -> String {
    let n = rng.below(4);
    let raw: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
    let needs = raw.contains(['"', '\n', '\r', sep]) || raw.is_empty() && rng.below(4) == 0;
    match rng.below(10) {
        // Hostile: written as is, quotes and line ends unescaped.
        0 => raw,
        // Hostile: a quote opened and never closed, or closed in the middle.
        1 => format!("\"{raw}"),
        2 => format!("\"{}\" tail", raw.replace('"', "\"\"")),
        _ if needs || rng.below(5) == 0 => format!("\"{}\"", raw.replace('"', "\"\"")),
        _ => raw.replace(['"', '\n', '\r', sep], ""),
    }
}

fn file(rng: &mut SeededRng) -> (String, char) {
    let sep = if rng.below(3) == 0 { '\t' } else { ',' };
    let eol = if rng.below(2) == 0 { "\n" } else { "\r\n" };
    let header: &[&str] = match rng.below(3) {
        0 => &["text"],
        1 => &["id", "text"],
        _ => &["id", "text", "note"],
    };
    let mut s = String::new();
    if rng.below(5) == 0 {
        s.push('\u{feff}');
    }
    s.push_str(&header.join(&sep.to_string()));
    for i in 0..1 + rng.below(12) {
        s.push_str(eol);
        if rng.below(8) == 0 {
            continue; // a blank line
        }
        let width = match rng.below(12) {
            0 => header.len() + 1,
            1 if header.len() > 1 => header.len() - 1,
            _ => header.len(),
        };
        let cells: Vec<String> = (0..width)
            .map(|c| match header.get(c) {
                Some(&"id") if rng.below(4) > 0 => format!("r{i}"),
                _ => field(rng, sep),
            })
            .collect();
        s.push_str(&cells.join(&sep.to_string()));
    }
    if rng.below(2) == 0 {
        s.push_str(eol);
    }
    (s, sep)
}

fn python() -> Option<&'static str> {
    let ok = Command::new("python3").arg("--version").output().is_ok();
    if !ok && std::env::var_os("STANCEKIT_REQUIRE_FIXTURES").is_some() {
        panic!("python3 is required (STANCEKIT_REQUIRE_FIXTURES is set)");
    }
    if !ok {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no python3 for the csv property test"
        );
    }
    ok.then_some("python3")
}

fn reference(py: &str, cases: &[(std::path::PathBuf, char)]) -> Vec<serde_json::Value> {
    let list: Vec<serde_json::Value> = cases
        .iter()
        .map(|(p, sep)| serde_json::json!({"path": p, "sep": sep.to_string()}))
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/csv_reference.py");
    let mut child = Command::new(py)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let input = serde_json::to_vec(&list).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The records classify wrote, input columns only (the csv crate, not our reader).
fn written(path: &Path, width: usize) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .take(width)
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn classify_writes_exactly_the_records_python_reads_or_refuses_with_a_line() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let m = common::model(dir.path());
    let mut rng = SeededRng::new(SEED, 0xc5);
    let cases: Vec<(std::path::PathBuf, char)> = (0..CASES)
        .map(|i| {
            let (body, sep) = file(&mut rng);
            let ext = if sep == '\t' { "tsv" } else { "csv" };
            let p = dir.path().join(format!("case{i}.{ext}"));
            fs::write(&p, body).unwrap();
            (p, sep)
        })
        .collect();
    let expected = reference(py, &cases);
    let (mut refused, mut written_ok) = (0, 0);
    for ((path, _), want) in cases.iter().zip(&expected) {
        let out = path.with_extension("out.csv");
        let o = Command::new(common::BIN)
            .args(["classify", "-m", m.to_str().unwrap(), "-q"])
            .args(["-i", path.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = common::text(&o.stderr);
        let body = fs::read_to_string(path).unwrap();
        let records = want["records"].as_array();
        // What Python reads as a clean table: every record as wide as the header, blank
        // lines only in a one-column file (where they are empty texts).
        let clean: Option<Vec<Vec<String>>> = records.and_then(|recs| {
            let rows: Vec<Vec<String>> = recs
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f.as_str().unwrap().to_string())
                        .collect()
                })
                .collect();
            let width = rows.first()?.len();
            let data: Vec<Vec<String>> = rows[1..]
                .iter()
                .map(|r| match (r.is_empty(), width) {
                    (true, 1) => vec![String::new()],
                    _ => r.clone(),
                })
                .collect();
            data.iter().all(|r| r.len() == width).then_some(data)
        });
        match clean {
            Some(rows) => {
                assert!(
                    o.status.success(),
                    "{body:?}: python reads {rows:?}; we said {stderr}"
                );
                let width = want["records"][0].as_array().unwrap().len();
                assert_eq!(written(&out, width), rows, "{body:?}");
                written_ok += 1;
            }
            None => {
                assert_eq!(
                    o.status.code(),
                    Some(2),
                    "{body:?}: {want}; we said {stderr}"
                );
                assert!(stderr.contains("line "), "{body:?}: {stderr}");
                assert!(!out.exists());
                refused += 1;
            }
        }
    }
    // Both branches must be exercised for the property to mean anything.
    assert!(
        refused > 20 && written_ok > 20,
        "refused {refused}, written {written_ok}"
    );
}
