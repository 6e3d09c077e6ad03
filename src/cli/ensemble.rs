//! `stancekit ensemble`: arguments for building an ensemble checkpoint.

use clap::Args;
use std::path::PathBuf;

pub const ENSEMBLE_HELP: &str = "\
An ensemble averages its members' probabilities (each member reads texts through its own
pipeline) and is used like any checkpoint: evaluate, classify, select, a distillation teacher
and the Python package load it by its folder, <out>/model-best. That folder is self-contained:
each member is copied into <out>/model-best/members/NN/, and its manifest.json lists every
member with its kind, seed and hashes. When the members share one train/dev/test split,
<out>/report-dev/ and <out>/report-test/ are written as `train` writes them. Members must have
the same tasks with the same labels in the same order; their per-class thresholds do not carry
over (the ensemble labels by argmax).

Members come from checkpoint folders (MODEL...), or are trained here: each --config once per
--seed, into <output_dir>/<run.name>-seed<S>. A member already trained with the same resolved
config is reused and an interrupted one resumes, so after Ctrl-C the same command continues.
--out may be a new or empty folder or an earlier ensemble; any other folder is refused.

Examples:
  stancekit ensemble --out checkpoints/diplomatic-mix checkpoints/diplomatic/model-best \\
      checkpoints/diplomatic-bow/model-best checkpoints/diplomatic-cnn/model-best
  stancekit ensemble --config configs/diplomatic-bow.toml --seeds 13,14,15 --out checkpoints/bow-x3
  stancekit ensemble -c configs/diplomatic.toml -c configs/diplomatic-bow.toml -o checkpoints/mix";

#[derive(Debug, Args)]
pub struct EnsembleArgs {
    /// Member checkpoint folders (e.g. checkpoints/run/model-best).
    #[arg(value_name = "MODEL")]
    pub models: Vec<PathBuf>,
    /// A config whose trained model is a member (repeatable); trained first when needed.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Vec<PathBuf>,
    /// Train each --config once per seed, e.g. --seeds 13,14,15 (default: its run.seed).
    #[arg(long, value_delimiter = ',', value_name = "S,S,...")]
    pub seeds: Vec<u64>,
    /// Override a key of every --config, e.g. --set train.epochs=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// The ensemble run folder to write (the checkpoint is <DIR>/model-best).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Print only the final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print the summary as JSON (the manifest, the model folder, the reports and their
    /// macro-F1 per task).
    #[arg(long)]
    pub json: bool,
}
