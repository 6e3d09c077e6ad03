//! Command-line arguments. Parsing only: every command calls into the library.

mod classify;
mod data;
mod ensemble;
mod select;
mod tune;
pub use classify::ClassifyArgs;
pub use data::{AgreementArgs, DataCommand, ImportArgs};
pub use ensemble::EnsembleArgs;
pub use select::{ExportArg, SelectArgs, StrategyArg};
pub use tune::TuneArgs;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const SEGMENT_HELP: &str = "\
Output columns: <id column>, statement_index (0-based within the article), start and end
(offsets into the body in characters, i.e. Unicode scalar values, not bytes; end exclusive),
text. Blank lines always end a statement; abbreviations (Dr., Maj. Gen., U.S., No. 3, Jan. 5),
decimals, initials, ellipses and closing quotes do not split wrongly. An article with an empty
body still gets one row (statement_index 0, empty text), so no article is lost.

Examples:
  stancekit segment --input articles.csv --text-column body --id-column article_id --output statements.csv
  stancekit segment -i articles.jsonl --text-column body --id-column id -o - --output-format csv";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

/// Whether stored per-class thresholds apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ThresholdsArg {
    Stored,
    None,
}

/// The precision the encoder runs in for prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuantizeArg {
    /// As trained (f32).
    None,
    /// int8 weights and activations in the encoder's dense layers: faster on CPUs with
    /// AVX-512 VNNI, labels within about 1% of f32. Pretrained encoders only.
    Int8,
}

impl QuantizeArg {
    pub fn mode(self) -> Option<stancekit::model::int8::Quantize> {
        match self {
            QuantizeArg::None => None,
            QuantizeArg::Int8 => Some(stancekit::model::int8::Quantize::Int8),
        }
    }
}

/// How to read a table file: the same options for every command that reads one. A file's
/// options come from its extension and these flags, never from a checkpoint's training data.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Input format, overriding the extension (stdin defaults to csv).
    #[arg(long, alias = "input-format", value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// Field delimiter for csv/tsv input, one character (default: `,` for csv, tab for tsv).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// Read quote characters in csv/tsv input as ordinary text (SST-2 style TSV).
    #[arg(long)]
    pub no_quoting: bool,
}

/// Bootstrap settings for confidence intervals, the same for every command that reports them.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Bootstrap resamples for the 95% confidence intervals (0 = none).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub bootstrap: usize,
    /// Seed for the bootstrap resamples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BadRowArg {
    /// Stop with an error naming the file and line.
    Error,
    /// Write bad rows to <OUTPUT>.rejected.csv (line, reason, raw) and go on.
    Skip,
}

/// Input, output and reading options shared by classify and segment.
#[derive(Debug, Args)]
pub struct IoArgs {
    /// Input file (csv, tsv, jsonl or parquet); `-` reads stdin.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: PathBuf,
    /// Output file; `-` writes stdout. Never the input, the model's files or a checkpoint
    /// folder.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub table: TableArgs,
    /// Output format, overriding the extension (stdout defaults to the input format).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Option<FormatArg>,
    /// What to do with a malformed record (ragged row, blank line in a file of several
    /// columns, unclosed or misplaced quote, invalid UTF-8).
    #[arg(long, value_enum, default_value = "error")]
    pub on_bad_row: BadRowArg,
    /// With `--on-bad-row skip`: where the rejected rows go (default: OUTPUT.rejected.csv;
    /// required when the output is stdout).
    #[arg(long, value_name = "FILE")]
    pub rejected: Option<PathBuf>,
    /// Rows read, labelled and written per batch. Pretrained-encoder models read at least 4096
    /// rows at a time, sort them by length, and run forward passes of min(N, 64) rows.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub batch_size: usize,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print the end summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SegmentArgs {
    #[command(flatten)]
    pub io: IoArgs,
    /// Column with the article body.
    #[arg(long, value_name = "NAME")]
    pub text_column: String,
    /// Column with the article id, copied to every statement.
    #[arg(long, value_name = "NAME")]
    pub id_column: String,
}

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
  stancekit evaluate --model checkpoints/diplomatic/model-best --data test.csv --out reports/test
  stancekit compare reports/baseline reports/test --fail-below stance.macro_f1=0.8
  stancekit classify --model checkpoints/diplomatic/model-best --input news.csv --output labelled.csv
  stancekit segment --input articles.csv --text-column body --id-column article_id --output statements.csv
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
  stancekit train --config configs/diplomatic-bow.toml --set train.epochs=3 --set model.kind=cnn
  stancekit train --resume checkpoints/diplomatic        # continue after Ctrl-C
  stancekit train --config configs/diplomatic.toml --bundle   # encoder copied in")]
    Train(TrainArgs),
    /// Search a config's hyperparameters on cross-validation folds of its training split,
    /// within a time budget; writes the best config and a report of every trial.
    #[command(after_help = tune::TUNE_HELP)]
    Tune(TuneArgs),
    /// Evaluate a checkpoint on a labelled file: metrics with bootstrap CIs, calibration,
    /// confusions; writes report.json, report.md, report.html and predictions.csv.
    #[command(
        after_help = "Columns, label maps and unknown/missing policies default to the checkpoint's config.
Rows with missing or unknown gold labels are counted and excluded from that task's metrics.
Exits 1 when a --fail-below bar is not met.

Examples:
  stancekit evaluate --model checkpoints/diplomatic/model-best --data test.csv --out reports/test
  stancekit evaluate -m checkpoints/diplomatic/model-best -d news.jsonl -o reports/news \\
      --text-column body --label-column stance=gold_stance --slice-by source
  stancekit evaluate -m checkpoints/diplomatic/model-best -d test.csv -o reports/ci \\
      --fail-below macro_f1=0.80 --fail-below stance.accuracy=0.85"
    )]
    Evaluate(EvaluateArgs),
    /// Compare two reports: metric deltas per task, significant when the 95% CIs do not overlap.
    #[command(
        after_help = "REPORT_A and REPORT_B are report folders or their report.json files.
--fail-below applies to REPORT_B; exits 1 when a bar is not met.

Examples:
  stancekit compare reports/baseline reports/candidate
  stancekit compare reports/baseline/report.json reports/candidate --json
  stancekit compare reports/baseline reports/candidate --fail-below stance.macro_f1=0.8"
    )]
    Compare(CompareArgs),
    /// Label a file of statements (or of whole articles, with --segment) with a trained model.
    #[command(after_help = classify::CLASSIFY_HELP)]
    Classify(ClassifyArgs),
    /// Split article bodies into statements, one row per sentence.
    #[command(after_help = SEGMENT_HELP)]
    Segment(SegmentArgs),
    /// Choose the unlabelled rows most worth annotating next, with the model's predictions.
    #[command(after_help = select::SELECT_HELP)]
    Select(SelectArgs),
    /// Combine trained checkpoints (or train configs over several seeds) into one ensemble
    /// checkpoint whose members' probabilities are averaged.
    #[command(after_help = ensemble::ENSEMBLE_HELP)]
    Ensemble(EnsembleArgs),
    /// Copy a pretrained model's encoder into its checkpoint, so it loads without the
    /// original encoder folder (checked against the hashes recorded at training time).
    #[command(after_help = "Examples:
  stancekit bundle checkpoints/diplomatic/model-best")]
    Bundle {
        /// The checkpoint folder (e.g. checkpoints/<run>/model-best).
        #[arg(value_name = "CHECKPOINT")]
        checkpoint: PathBuf,
    },
    /// Corpus tools: check a corpus before training, import a public corpus, measure how far
    /// annotators agree.
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
    /// Also train on these nested fractions of the training split (same dev and test), e.g.
    /// 0.1,0.25,0.5,1.0; runs go under <run>/learning-curve/, and the report plots dev
    /// macro-F1 against the number of training labels.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "FRACTIONS",
        conflicts_with = "resume"
    )]
    pub learning_curve: Vec<f64>,
    /// kind = "pretrained": copy the encoder into model-best/ and model-last/, so the
    /// checkpoints load without the original encoder folder.
    #[arg(long)]
    pub bundle: bool,
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
  stancekit config show --config configs/diplomatic-bow.toml --set model.kind=cnn --json")]
    Show {
        #[command(flatten)]
        source: ConfigSource,
        /// Print as JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The checkpoint folder, e.g. checkpoints/<run>/model-best.
    #[arg(long, short = 'm', value_name = "DIR")]
    pub model: PathBuf,
    /// The labelled file (csv, tsv, jsonl or parquet).
    #[arg(long, short = 'd', value_name = "FILE")]
    pub data: PathBuf,
    /// The report folder to write (created).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// The text column (default: the checkpoint's data.text_column).
    #[arg(long, value_name = "COLUMN")]
    pub text_column: Option<String>,
    /// A task's gold label column, e.g. stance=gold (repeatable; default: the config's).
    #[arg(long = "label-column", value_name = "TASK=COLUMN")]
    pub label_columns: Vec<String>,
    #[command(flatten)]
    pub table: TableArgs,
    #[command(flatten)]
    pub resampling: BootstrapArgs,
    /// Also report metrics per value of this column.
    #[arg(long, value_name = "COLUMN")]
    pub slice_by: Option<String>,
    /// `stored`: report the metrics before and after the checkpoint's per-class thresholds, and
    /// add the thresholded label to predictions.csv. `none`: leave them out.
    #[arg(long, value_enum, default_value = "stored")]
    pub thresholds: ThresholdsArg,
    /// The precision of the encoder's dense layers.
    #[arg(long, value_enum, default_value = "none")]
    pub quantize: QuantizeArg,
    /// Exit 1 when a metric is below a bar, e.g. macro_f1=0.80 or stance.macro_f1=0.8 (repeatable).
    #[arg(long = "fail-below", value_name = "METRIC=VALUE")]
    pub fail_below: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline report (folder or report.json).
    #[arg(value_name = "REPORT_A")]
    pub a: PathBuf,
    /// The candidate report (folder or report.json).
    #[arg(value_name = "REPORT_B")]
    pub b: PathBuf,
    /// Exit 1 when a metric of REPORT_B is below a bar, e.g. stance.macro_f1=0.8 (repeatable).
    #[arg(long = "fail-below", value_name = "METRIC=VALUE")]
    pub fail_below: Vec<String>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}
