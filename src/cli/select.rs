//! `stancekit select`: arguments for choosing what to annotate next.

use super::TableArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

pub const SELECT_HELP: &str = "\
Never proposes a text the model was trained, tuned or tested on (its config's data files), a text
in an --exclude file, or a repeat within the pool (all compared after normalising case, spaces and
punctuation). Deterministic for a --seed.

Output (--to): csv (every pool column, then per task pred_<task>, pred_<task>_score and
pred_<task>_margin, then select_rank and select_score), label-studio (JSON tasks with predictions), prodigy
(JSONL with meta and accept) or argilla (JSON records with suggestions).

Examples:
  stancekit select -m checkpoints/diplomatic-bow/model-best -i pool.csv -o next.csv -n 200
  stancekit select -m checkpoints/diplomatic/model-best -i pool.parquet -o next.json \\
      --strategy diverse --to label-studio --exclude annotated.csv
  stancekit select -m checkpoints/diplomatic-bow/model-best -i articles.csv -o next.csv \\
      --segment --text-column body --id-column article_id";

#[derive(Debug, Args)]
pub struct SelectArgs {
    /// The checkpoint folder, e.g. checkpoints/<run>/model-best.
    #[arg(long, short = 'm', value_name = "DIR")]
    pub model: PathBuf,
    /// The unlabelled pool (csv, tsv, jsonl or parquet).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write the selected rows.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// How many rows to select.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub n: usize,
    /// How to rank the pool.
    #[arg(long, value_enum, default_value = "margin")]
    pub strategy: StrategyArg,
    /// The task whose uncertainty ranks rows (default: the model's first).
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
    /// Take the same number of rows for each predicted label where the pool allows.
    #[arg(long)]
    pub stratify: bool,
    /// The pool's text column (default: the model's data.text_column).
    #[arg(long, value_name = "COLUMN")]
    pub text_column: Option<String>,
    /// The pool's id column (default: the model's data.id_column if the pool has it, else
    /// the line number).
    #[arg(long, value_name = "COLUMN")]
    pub id_column: Option<String>,
    /// The pool holds whole articles: split --text-column into statements first (as
    /// `stancekit segment` does); each is identified as <id>:<statement index>.
    #[arg(long, requires_all = ["text_column", "id_column"])]
    pub segment: bool,
    /// A labelled file whose texts must not be proposed again (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Output shape.
    #[arg(long, value_enum, default_value = "csv")]
    pub to: ExportArg,
    #[command(flatten)]
    pub table: TableArgs,
    /// Seed for random and diverse selection.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrategyArg {
    /// Smallest gap between the two most probable labels first.
    Margin,
    /// Highest entropy first.
    Entropy,
    /// A seeded random sample (the baseline).
    Random,
    /// Uncertain rows spread over clusters of the model's representations.
    Diverse,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportArg {
    Csv,
    LabelStudio,
    Prodigy,
    Argilla,
}
