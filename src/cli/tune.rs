//! `stancekit tune`: arguments for the hyperparameter search.

use clap::Args;
use std::path::PathBuf;

pub const TUNE_HELP: &str = "\
Each trial is the config with the keys of its search space changed: [tune.space] in the config,
or, without one, defaults for the model kind (printed when the search starts). Trial 0 is the
config as given. Every trial trains on tune.folds - 1 grouped folds of the training split and is
scored on the remaining one, fold by fold (the config's early-stopping metric); the dev and test
splits are never used. A trial below the median of the finished trials after its first folds is
stopped there.

Writes to --out: trials.jsonl (one line per finished fold run), tune-report.json and .md (every
trial), and best.toml (the best trial's config, named <run>-tuned; train it with stancekit train).
Ctrl-C stops after the current run; the same command resumes. The same config and seed give the
same trials and scores; with --budget, how many trials fit depends on the machine, so the report
gives the count and --trials N repeats the search exactly.

Examples:
  stancekit tune --config configs/diplomatic-bow.toml --budget 20m
  stancekit tune -c configs/diplomatic-bow.toml --set model.kind=cnn --budget 1h --out tune/cnn
  stancekit tune -c configs/diplomatic-bow.toml --trials 10 --seed 7 --json";

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The base config (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Override a config key of the base, e.g. --set train.epochs=10 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Stop starting runs after this much training time, e.g. 20m, 1h30m, 90s (resumed runs
    /// count).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub budget: Option<std::time::Duration>,
    /// Stop after this many trials (trial 0 included).
    #[arg(long, value_name = "N")]
    pub trials: Option<usize>,
    /// Seed of the trials' draws (default: the config's run.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the log, the reports and best.toml go (default: <output_dir>/<run>-tune).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep every run's checkpoints under <out>/runs/ (by default only scores are kept).
    #[arg(long)]
    pub keep_runs: bool,
    /// Print only the final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Testing: behave as if interrupted after this many new runs.
    #[arg(long, hide = true)]
    pub stop_after_runs: Option<usize>,
}
