//! Command-line arguments. Parsing only: every command calls into the library.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  a check or quality gate failed (data check found errors, --fail-below not met)
  2  usage, config or input error (the message names the file, line, column or key)
  3  internal failure
  130 interrupted (Ctrl-C); train leaves a resumable checkpoint

Examples:
  stancekit data check --config configs/diplomatic.toml
  stancekit train --config configs/diplomatic.toml
  stancekit config init --out my-run.toml";

#[derive(Debug, Parser)]
#[command(
    name = "stancekit",
    version,
    about = "Train and apply small neural classifiers that label news statements by stance and sentiment.",
    long_about = "Train and apply small neural classifiers that label news statements by stance \
(condemnation, cooperation, invitation, ...) and sentiment, reproducibly and offline.\n\n\
One TOML config describes a run: data, tasks, text pipeline, model and training.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model from a config file and write checkpoints.
    #[command(after_help = "Examples:
  stancekit train --config configs/diplomatic.toml
  stancekit train --config configs/diplomatic.toml --set train.epochs=3 --set model.kind=cnn
  stancekit train --resume checkpoints/diplomatic        # continue after Ctrl-C")]
    Train(TrainArgs),
    /// Check a corpus before training: counts, duplicates, conflicts, leakage, unknown labels.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Write or show configs.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Args)]
pub struct ConfigSource {
    /// The run config (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Override a config key, e.g. --set train.epochs=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        required_unless_present = "resume"
    )]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. --set train.epochs=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Resume an interrupted run from its run folder.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// Print only the final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Report rows, label counts, duplicates, conflicting labels, leakage and lengths.
    #[command(
        after_help = "Exits 1 when it finds errors (leakage, conflicting labels, unknown or missing labels);
warnings (duplicates, empty texts, unused labels) are printed without failing.

Examples:
  stancekit data check --config configs/diplomatic.toml
  stancekit data check --config configs/plv-plover15-bow.toml --json > plv-check.json"
    )]
    Check {
        #[command(flatten)]
        source: ConfigSource,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Convert a public corpus into stancekit's canonical CSV.
    #[command(after_help = "Examples:
  stancekit data import plv --from ../shared/datasets/plv/train.tsv --out data/plv.csv
  stancekit data import sst2 --from ../shared/datasets/sst2/dev.tsv --out data/sst2-dev.csv
  stancekit data import newsmtsc --from ../shared/datasets/newsmtsc/train.jsonl --out data/newsmtsc.csv")]
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Corpus: plv, kil-quadclass, kil-relevance, newsmtsc or sst2 (label maps: datasets/CATALOG.md).
    pub corpus: String,
    /// The corpus file as distributed.
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// The canonical CSV to write (id, group, text, one column per task).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print the import summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a fully commented config in which every key is explained.
    #[command(after_help = "Examples:
  stancekit config init                  # print to stdout
  stancekit config init --out run.toml")]
    Init {
        /// Where to write it (default: stdout).
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the config after overrides and validation, with every default filled in.
    #[command(after_help = "Examples:
  stancekit config show --config configs/diplomatic.toml
  stancekit config show --config configs/diplomatic.toml --set model.kind=cnn --json")]
    Show {
        #[command(flatten)]
        source: ConfigSource,
        /// Print as JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
}
