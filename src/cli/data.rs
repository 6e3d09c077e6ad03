//! `stancekit data ...`: the corpus commands' arguments (check, import, agreement).

use super::{BootstrapArgs, ConfigSource, TableArgs};
use clap::{Args, Subcommand};
use std::path::PathBuf;

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
    /// Convert a public corpus, or an annotation tool's export, into stancekit's canonical CSV.
    #[command(after_help = "Public corpora (id, group, text, one column per task):
  stancekit data import plv --from ../shared/datasets/plv/train.tsv --out data/plv.csv
  stancekit data import sst2 --from ../shared/datasets/sst2/dev.tsv --out data/sst2-dev.csv
  stancekit data import newsmtsc --from ../shared/datasets/newsmtsc/train.jsonl --out data/newsmtsc.csv

Annotation exports (id, text, annotator, one column per task; one row per statement and
annotator, ready for `data agreement`):
  label-studio  the JSON export: tasks with `data` and `annotations`; each choices control
                (`from_name`) is a task; cancelled annotations are skipped
  prodigy       db-out JSONL: `text`, `answer`, `_annotator_id`, `accept` or binary `label`;
                the item id is meta.id, else _input_hash; ignored and rejected answers skipped
  argilla       records (JSON array or JSONL) with `fields` and `responses`, Argilla 1 or 2
                shape; only submitted responses count

  stancekit data import label-studio --from export.json --out coded.csv
  stancekit data import prodigy --from stance.jsonl --out coded.csv \\
      --task stance=condemnation,cooperation,invitation,other --task sentiment=negative,neutral,positive
  stancekit data import argilla --from records.json --out coded.csv --task stance

An annotator who answers an item twice is merged (same labels) or counted as conflicting (the
later answer is kept); the summary counts every skipped record by reason.")]
    Import(ImportArgs),
    /// Inter-annotator agreement on double- or triple-coded rows, per task.
    #[command(
        after_help = "One row per (item, annotator); each --label-column is a task. Reports Krippendorff's
alpha (nominal) with a 95% bootstrap interval over items, per-class agreement, and Cohen's
kappa with the confusion matrix for every pair of annotators.

Examples:
  stancekit data agreement --input coded.csv --item-column id --annotator-column coder \\
      --label-column stance --label-column sentiment --disagreements to-adjudicate.csv
  stancekit data agreement --input coded.csv --item-column id --annotator-column coder \\
      --label-column stance --json"
    )]
    Agreement(AgreementArgs),
}

#[derive(Debug, Args)]
pub struct AgreementArgs {
    /// The coded rows (csv, tsv, jsonl or parquet).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: PathBuf,
    /// The column that identifies the statement being coded.
    #[arg(long, value_name = "COLUMN")]
    pub item_column: String,
    /// The column that names the annotator.
    #[arg(long, value_name = "COLUMN")]
    pub annotator_column: String,
    /// A label column; each is a task (repeatable).
    #[arg(long = "label-column", value_name = "COLUMN", required = true)]
    pub label_columns: Vec<String>,
    /// Write the items the annotators disagree on (item, task, annotator=label list) here.
    #[arg(long, value_name = "FILE")]
    pub disagreements: Option<PathBuf>,
    #[command(flatten)]
    pub table: TableArgs,
    #[command(flatten)]
    pub resampling: BootstrapArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Corpus: plv, kil-quadclass, kil-relevance, newsmtsc or sst2 (label maps:
    /// datasets/CATALOG.md); or an annotation tool: label-studio, prodigy or argilla.
    pub corpus: String,
    /// The corpus file as distributed.
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// The canonical CSV to write (id, group, text, one column per task).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Annotation exports only: a task column to keep, as NAME or NAME=LABEL,LABEL,... (repeatable;
    /// default: every task found; Prodigy: `label`). The labels route Prodigy's accepted options.
    #[arg(long = "task", value_name = "TASK")]
    pub tasks: Vec<stancekit::data::annotations::TaskArg>,
    /// Print the import summary as JSON.
    #[arg(long)]
    pub json: bool,
}
