//! `stancekit classify`: arguments for labelling a file.

use super::{IoArgs, ThresholdsArg};
use clap::Args;
use std::path::PathBuf;

pub const CLASSIFY_HELP: &str = "\
Output: every input column in its order, then per task `<task>` (label), `<task>_score` (the
label's probability: the top one, unless stored per-class thresholds chose another; for
`abstain`, the top one), `<task>_margin` (top-1 minus top-2), the --probs / --top-k columns,
and `status`: ok, empty_text (no label; the row is kept) or truncated (text cut at the model's
max_tokens). A checkpoint trained with `train.thresholds` labels a row `abstain` when no label
reaches its threshold (--thresholds none: argmax).
Output row N is input row N; the run ends by checking rows in = rows out (+ rejected).
The output is written to a temporary file and renamed in at the end: on an error or a signal
(INT, TERM, HUP, QUIT) no partial file is left. No output may resolve to the input, the model's
files or a checkpoint folder (symlinks and hard links included): exit 2. A closed stdout
(`| head`) is a clean stop, exit 0. The end summary (--json: as JSON) goes to stdout, or to stderr when the
output itself goes to stdout. With --segment the output is the segment columns (see `segment --help`)
plus the classification columns.

Examples:
  stancekit classify --model checkpoints/diplomatic/model-best --input news.csv --output out.csv
  stancekit classify -m checkpoints/diplomatic/model-best -i news.jsonl -o out.parquet --probs --top-k 2
  stancekit classify -m checkpoints/diplomatic/model-best -i news.csv -o out.csv --abstain-below 0.5 --on-bad-row skip
  cat news.csv | stancekit classify -m checkpoints/diplomatic/model-best -i - -o - --tasks stance > out.csv
  stancekit classify -m checkpoints/diplomatic/model-best -i articles.csv -o statements.csv \\
      --segment --text-column body --id-column article_id";

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Checkpoint folder, e.g. checkpoints/diplomatic/model-best.
    #[arg(long, short = 'm', value_name = "DIR")]
    pub model: PathBuf,
    #[command(flatten)]
    pub io: IoArgs,
    /// Column with the text (default: the checkpoint's data.text_column; with --segment: the
    /// article body column, required).
    #[arg(long, value_name = "NAME")]
    pub text_column: Option<String>,
    /// Tasks to label, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_name = "TASKS")]
    pub tasks: Vec<String>,
    /// Add one probability column per label, `<task>_p_<label>`.
    #[arg(long)]
    pub probs: bool,
    /// Add `<task>_top<k>` and `<task>_top<k>_p` for the K most probable labels.
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub top_k: usize,
    /// Write the label `abstain` when the top probability is under P.
    #[arg(long, value_name = "P")]
    pub abstain_below: Option<f32>,
    /// `stored`: apply the per-class thresholds the checkpoint holds (`train.thresholds`);
    /// rows whose labels are all under their thresholds get `abstain`. `none`: argmax.
    #[arg(long, value_enum, default_value = "stored")]
    pub thresholds: ThresholdsArg,
    /// The precision of the encoder's dense layers.
    #[arg(long, value_enum, default_value = "none")]
    pub quantize: super::QuantizeArg,
    /// CPU threads (default: all cores).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Split article bodies into statements first (needs --text-column and --id-column).
    #[arg(long, requires_all = ["text_column", "id_column"])]
    pub segment: bool,
    /// Article id column (with --segment).
    #[arg(long, value_name = "NAME", requires = "segment")]
    pub id_column: Option<String>,
}
