//! Training an ensemble's members: each config once per seed, into its own run folder
//! (`<output_dir>/<name>-seed<S>`), so `stancekit ensemble --config … --seeds …` is one
//! command. A member already trained with the same resolved config is reused, and an
//! interrupted one resumes, so the command can be run again after Ctrl-C.

use super::{resume, train, TrainOptions};
use crate::checkpoint::{read_manifest, sha256_hex, MANIFEST};
use crate::config::load_config;
use crate::error::Result;
use crate::layout::RESUME_DIR;
use crate::progress::Progress;
use std::path::{Path, PathBuf};

/// Train (or reuse, or resume) every member: each config in `configs` with each seed in
/// `seeds` (none: the config's own seed). Returns the members' `model-best` folders in order.
pub fn train_members(
    configs: &[PathBuf],
    seeds: &[u64],
    overrides: &[String],
    opts: &TrainOptions,
) -> Result<Vec<PathBuf>> {
    let mut best = Vec::new();
    for config in configs {
        let base = load_config(config, overrides)?;
        let own = [base.valid.raw.run.seed];
        let given = !seeds.is_empty();
        for &seed in if given { seeds } else { &own[..] } {
            let mut set = overrides.to_vec();
            if given {
                let name = format!("{}-seed{seed}", base.valid.raw.run.name);
                set.push(format!("run.seed={seed}"));
                set.push(format!("split.seed={}", base.valid.split_seed()));
                set.push(format!("run.name={}", toml::Value::String(name)));
            }
            let cfg = load_config(config, &set)?;
            let run_dir = cfg.valid.run_dir();
            let dir = run_dir.join("model-best");
            let progress = Progress::new(opts.quiet);
            if run_dir.join(RESUME_DIR).is_dir() {
                progress.line(&format!("member {}: resuming", run_dir.display()));
                resume(&run_dir, opts)?;
            } else if is_trained(&dir, &cfg.resolved_toml) {
                progress.line(&format!("member {}: trained already", dir.display()));
            } else {
                progress.line(&format!("member {}: training", run_dir.display()));
                train(cfg, opts)?;
            }
            best.push(dir);
        }
    }
    Ok(best)
}

/// Whether `dir` holds a checkpoint trained with exactly `resolved_toml`.
fn is_trained(dir: &Path, resolved_toml: &str) -> bool {
    dir.join(MANIFEST).is_file()
        && read_manifest(dir).is_ok_and(|m| m.config_sha256 == sha256_hex(resolved_toml.as_bytes()))
}
