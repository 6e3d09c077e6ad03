//! The `stancekit` binary: parse arguments, call the library, print, and map outcomes to exit
//! codes.

mod cli;

use clap::Parser;
use cli::{Cli, Command, ConfigCommand, DataCommand};
use stancekit::config::{load_config, REFERENCE_CONFIG};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a command reports back besides success.
enum Outcome {
    Ok,
    CheckFailed,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match e.downcast_ref::<stancekit::Error>() {
                Some(stancekit::Error::Interrupted) => 130,
                Some(se) if se.is_input_error() => 2,
                _ => 3,
            };
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Data { command } => {
            match command {
                DataCommand::Check { source, json } => {
                    let cfg = load_config(&source.config, &source.overrides)?;
                    let corpus = stancekit::data::load_corpus(&cfg.valid)?;
                    let report = stancekit::check::check_corpus(&cfg.valid, &corpus);
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        print!("{}", stancekit::check::render(&report));
                    }
                    Ok(if report.passed() {
                        Outcome::Ok
                    } else {
                        Outcome::CheckFailed
                    })
                }
                DataCommand::Import(args) => {
                    use stancekit::data::import::{import, write_csv};
                    let (imported, report) = import(&args.corpus, &args.from)?;
                    write_csv(&imported, &args.from, &args.out)?;
                    if args.json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        println!(
                            "{}: {} rows in, {} rows written to {}",
                            report.corpus,
                            report.rows_in,
                            report.rows_out,
                            args.out.display()
                        );
                        if report.duplicates_merged + report.conflicts_dropped > 0 {
                            println!("  {} duplicate rows merged, {} rows dropped for conflicting labels", report.duplicates_merged, report.conflicts_dropped);
                        }
                        if report.skipped > 0 {
                            println!(
                                "  {} rows skipped: {}",
                                report.skipped, report.skipped_reason
                            );
                        }
                        for (task, counts) in &report.labels {
                            let parts: Vec<String> =
                                counts.iter().map(|(l, n)| format!("{l}={n}")).collect();
                            println!("  {task}: {}", parts.join("  "));
                        }
                    }
                    Ok(Outcome::Ok)
                }
            }
        }
        Command::Config { command } => match command {
            ConfigCommand::Init { out, force } => {
                match out {
                    None => print!("{REFERENCE_CONFIG}"),
                    Some(path) => {
                        if path.exists() && !force {
                            return Err(stancekit::Error::Input(format!(
                                "{} exists; pass --force to replace it",
                                path.display()
                            ))
                            .into());
                        }
                        stancekit::io::write_atomic(&path, REFERENCE_CONFIG.as_bytes())?;
                        eprintln!("wrote {}", path.display());
                    }
                }
                Ok(Outcome::Ok)
            }
            ConfigCommand::Show { source, json } => {
                let cfg = load_config(&source.config, &source.overrides)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&cfg.valid.raw)?);
                } else {
                    print!("{}", cfg.resolved_toml);
                }
                Ok(Outcome::Ok)
            }
        },
        Command::Train(args) => train(args),
        Command::Evaluate(args) => evaluate(args),
        Command::Compare(args) => compare(args),
        Command::Classify(args) => classify(args),
        Command::Segment(args) => segment(args),
        Command::Bundle { checkpoint } => {
            let to = stancekit::checkpoint::bundle_encoder(&checkpoint)?;
            println!("encoder bundled into {}", to.display());
            Ok(Outcome::Ok)
        }
    }
}

fn parse_bars(specs: &[String]) -> anyhow::Result<Vec<stancekit::report::gate::Bar>> {
    Ok(specs
        .iter()
        .map(|s| stancekit::report::gate::parse_bar(s))
        .collect::<stancekit::Result<_>>()?)
}

/// Print gate failures; `CheckFailed` when there are any.
fn gate_outcome(failures: &[stancekit::report::gate::GateFailure]) -> Outcome {
    for f in failures {
        eprintln!(
            "fail-below: {}.{} = {:.4} is below {}",
            f.task, f.metric, f.value, f.bar
        );
    }
    if failures.is_empty() {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    }
}

fn evaluate(args: cli::EvaluateArgs) -> anyhow::Result<Outcome> {
    use stancekit::report::evaluate::{evaluate_file, EvaluateRequest};
    let bars = parse_bars(&args.fail_below)?;
    let req = EvaluateRequest {
        model: args.model,
        data: args.data,
        out: args.out,
        text_column: args.text_column,
        label_columns: args.label_columns,
        format: args.format,
        slice_by: args.slice_by,
        resamples: args.bootstrap,
        seed: args.seed,
    };
    let (ev, files) = evaluate_file(&req)?;
    let report = &ev.report;
    let failures = stancekit::report::gate::check(report, &bars)?;
    if args.json {
        let v = serde_json::json!({"files": files, "fail_below": failures, "report": report});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(gate_outcome(&failures));
    }
    println!(
        "evaluated {} rows of {} ({} with an empty text); 95% CIs from {} bootstrap resamples (seed {})",
        report.data.rows,
        report.data.path,
        report.data.empty_text,
        report.bootstrap.resamples,
        report.bootstrap.seed
    );
    for t in &report.tasks {
        let (m, i) = (&t.metrics, &t.intervals);
        println!(
            "{:<12} n {:>5}  accuracy {:.4} [{:.4}, {:.4}]  macro-F1 {:.4} [{:.4}, {:.4}]  ECE {:.4}  ({} missing, {} unknown gold)",
            t.name, t.evaluated, m.accuracy, i.accuracy.low, i.accuracy.high, m.macro_f1,
            i.macro_f1.low, i.macro_f1.high, t.calibration.ece, t.missing_gold, t.unknown_gold
        );
    }
    for f in &files {
        println!("wrote {}", f.display());
    }
    Ok(gate_outcome(&failures))
}

fn compare(args: cli::CompareArgs) -> anyhow::Result<Outcome> {
    use stancekit::report::compare::{compare, load_report, render};
    let bars = parse_bars(&args.fail_below)?;
    let a = load_report(&args.a)?;
    let b = load_report(&args.b)?;
    let c = compare(
        &a,
        &b,
        &args.a.display().to_string(),
        &args.b.display().to_string(),
    );
    let failures = stancekit::report::gate::check(&b, &bars)?;
    if args.json {
        let v = serde_json::json!({"comparison": c, "fail_below": failures});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render(&c));
    }
    Ok(gate_outcome(&failures))
}

/// A flag set by Ctrl-C; the streaming loop checks it between batches and stops, leaving no
/// partial output. A second Ctrl-C exits at once.
fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let flag = std::sync::Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: stopping after this batch; no output file will be left");
    });
    flag
}

fn format_of(f: Option<cli::FormatArg>) -> Option<stancekit::config::FileFormat> {
    use stancekit::config::FileFormat;
    f.map(|f| match f {
        cli::FormatArg::Csv => FileFormat::Csv,
        cli::FormatArg::Tsv => FileFormat::Tsv,
        cli::FormatArg::Jsonl => FileFormat::Jsonl,
        cli::FormatArg::Parquet => FileFormat::Parquet,
    })
}

fn io_options(a: &cli::IoArgs) -> stancekit::classify::IoOptions {
    stancekit::classify::IoOptions {
        input: a.input.clone(),
        output: a.output.clone(),
        input_format: format_of(a.format),
        output_format: format_of(a.output_format),
        on_bad_row: match a.on_bad_row {
            cli::BadRowArg::Error => stancekit::classify::BadRowPolicy::Error,
            cli::BadRowArg::Skip => stancekit::classify::BadRowPolicy::Skip,
        },
        batch_size: a.batch_size,
        quiet: a.quiet,
    }
}

fn classify(args: cli::ClassifyArgs) -> anyhow::Result<Outcome> {
    use stancekit::classify::{classify_file, ClassifyOptions, LabelOptions, SegmentOptions};
    if let Some(p) = args.abstain_below {
        if !(0.0..=1.0).contains(&p) {
            return Err(stancekit::Error::Input(format!(
                "--abstain-below {p}: expected a probability between 0 and 1"
            ))
            .into());
        }
    }
    stancekit::train::configure_threads(args.threads);
    let model = stancekit::checkpoint::load(&args.model, &candle_core::Device::Cpu)?;
    let io = io_options(&args.io);
    let opts = ClassifyOptions {
        text_column: args.text_column.clone(),
        tasks: args.tasks.clone(),
        labels: LabelOptions {
            probs: args.probs,
            top_k: args.top_k,
            abstain_below: args.abstain_below,
        },
        segment: match (args.segment, &args.text_column, &args.id_column) {
            (true, Some(t), Some(id)) => Some(SegmentOptions {
                text_column: t.clone(),
                id_column: id.clone(),
            }),
            _ => None,
        },
    };
    let flag = interrupt_flag();
    let summary = classify_file(&model, &io, &opts, Some(&flag))?;
    print_summary(&summary, &args.io)?;
    Ok(Outcome::Ok)
}

fn segment(args: cli::SegmentArgs) -> anyhow::Result<Outcome> {
    let io = io_options(&args.io);
    let opts = stancekit::classify::SegmentOptions {
        text_column: args.text_column.clone(),
        id_column: args.id_column.clone(),
    };
    let flag = interrupt_flag();
    let summary = stancekit::classify::segment_file(&io, &opts, Some(&flag))?;
    print_summary(&summary, &args.io)?;
    Ok(Outcome::Ok)
}

/// The end summary, on stdout unless the data itself went to stdout.
fn print_summary(s: &stancekit::classify::Summary, io: &cli::IoArgs) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut out = String::new();
    if io.json {
        out = serde_json::to_string_pretty(s)? + "\n";
    } else {
        let unit = if s.segmented { "articles" } else { "rows" };
        writeln!(
            out,
            "wrote {} ({} rows) in {:.2} s, {:.0} {unit}/s",
            s.output, s.rows_out, s.seconds, s.rows_per_second
        )?;
        if s.segmented {
            write!(
                out,
                "articles in: {}, statements out: {}",
                s.rows_in, s.rows_out
            )?;
            if s.empty_articles > 0 {
                write!(
                    out,
                    " ({} articles without text kept as one empty row)",
                    s.empty_articles
                )?;
            }
            writeln!(out)?;
        } else {
            writeln!(out, "rows in: {}, rows out: {}", s.rows_in, s.rows_out)?;
        }
        if s.rejected > 0 {
            writeln!(
                out,
                "rejected: {} bad rows written to {} ({unit} in {} = accounted for {} + rejected {})",
                s.rejected,
                s.rejected_file.as_deref().unwrap_or(std::path::Path::new("?")).display(),
                s.rows_in,
                s.rows_in - s.rejected,
                s.rejected
            )?;
        }
        if s.rows_check {
            writeln!(out, "row check: ok, every input row is accounted for")?;
        }
        for (task, c) in &s.tasks {
            let dist: Vec<String> = c.labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
            write!(out, "{task}: {}", dist.join(", "))?;
            if c.abstained > 0 {
                write!(out, " (abstained: {})", c.abstained)?;
            }
            writeln!(out)?;
        }
        if !s.tasks.is_empty() {
            writeln!(
                out,
                "empty text: {}, truncated: {}",
                s.empty_text, s.truncated
            )?;
        }
    }
    if io.output.as_os_str() == "-" {
        eprint!("{out}");
    } else {
        print!("{out}");
    }
    Ok(())
}

fn train(args: cli::TrainArgs) -> anyhow::Result<Outcome> {
    use stancekit::train::{resume, train, TrainOptions};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // First Ctrl-C: finish the step and save a resumable state. Second: stop at once.
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: finishing the current step and saving a resumable state (Ctrl-C again to abort)");
    });
    let opts = TrainOptions {
        quiet: args.quiet,
        interrupt: Some(flag),
        stop_after_steps: None,
        bundle: args.bundle,
    };
    let (result, run_dir) = match (&args.resume, &args.config) {
        (Some(dir), _) => (resume(dir, &opts), dir.clone()),
        (None, Some(config)) => {
            let cfg = load_config(config, &args.overrides)?;
            let dir = cfg.valid.run_dir();
            (train(cfg, &opts), dir)
        }
        (None, None) => unreachable!("clap requires --config or --resume"),
    };
    let summary = match result {
        Err(stancekit::Error::Interrupted) => {
            eprintln!("saved a resumable state in {}/resume", run_dir.display());
            eprintln!(
                "resume with: stancekit train --resume {}",
                run_dir.display()
            );
            return Err(stancekit::Error::Interrupted.into());
        }
        other => other?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(Outcome::Ok);
    }
    println!("run: {}", summary.run_dir.display());
    println!(
        "trained {} steps ({} epochs) on {} examples in {:.2} s ({:.0} examples/s, {} threads)",
        summary.steps,
        summary.epochs,
        summary.train_examples,
        summary.train_seconds,
        summary.examples_per_second,
        summary.threads
    );
    if summary.dropped.dropped_empty_text + summary.dropped.dropped_unknown > 0 {
        println!(
            "left out: {} rows with empty text, {} rows with unknown labels (unknown = \"drop\")",
            summary.dropped.dropped_empty_text, summary.dropped.dropped_unknown
        );
    }
    if let Some(best) = summary.best_value {
        println!(
            "best {} = {best:.4} at step {}",
            summary.early_stopping_metric, summary.best_step
        );
    }
    for (split, metrics) in [("dev", &summary.dev), ("test", &summary.test)] {
        for (task, m) in metrics {
            println!(
                "{split:>4} {task:<12} accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  (n = {})",
                m.accuracy, m.macro_f1, m.weighted_f1, m.n
            );
        }
    }
    println!("model-best weights sha256 {}", summary.weights_sha256);
    for dir in &summary.reports {
        println!("report: {}", dir.join("report.html").display());
    }
    Ok(Outcome::Ok)
}
