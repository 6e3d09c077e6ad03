//! The handlers of the commands that run models: train, tune, evaluate, compare, classify and
//! segment. Each turns its arguments into a library call and prints the outcome.

use crate::{cli, render, Outcome};
use stancekit::config::load_config;
use std::io::Write;

/// Print gate failures; `CheckFailed` when there are any.
fn gate_outcome(failures: &[stancekit::report::gate::GateFailure]) -> Outcome {
    for f in failures {
        eprintln!(
            "fail-below: {}.{} = {:.4} is below {}",
            f.task, f.metric, f.value, f.bar
        );
    }
    match failures.is_empty() {
        true => Outcome::Ok,
        false => Outcome::CheckFailed,
    }
}

pub(crate) fn evaluate(args: cli::EvaluateArgs) -> anyhow::Result<Outcome> {
    use stancekit::report::evaluate::{evaluate_file, EvaluateRequest};
    let bars = render::parse_bars(&args.fail_below)?;
    let req = EvaluateRequest {
        model: args.model,
        data: args.data,
        out: args.out,
        text_column: args.text_column,
        label_columns: args.label_columns,
        read: render::table_flags(&args.table)?,
        slice_by: args.slice_by,
        resamples: args.resampling.bootstrap,
        seed: args.resampling.seed,
        thresholds: args.thresholds == cli::ThresholdsArg::Stored,
        quantize: args.quantize.mode(),
    };
    let (ev, files) = evaluate_file(&req)?;
    let failures = stancekit::report::gate::check(&ev.report, &bars)?;
    if args.json {
        let v = serde_json::json!({"files": files, "fail_below": failures, "report": ev.report});
        out!("{}\n", serde_json::to_string_pretty(&v)?);
    } else {
        out!(
            "{}",
            stancekit::report::evaluate::render_summary(&ev.report, &files)
        );
    }
    Ok(gate_outcome(&failures))
}

pub(crate) fn compare(args: cli::CompareArgs) -> anyhow::Result<Outcome> {
    use stancekit::report::compare::{compare, load_report, render};
    let bars = render::parse_bars(&args.fail_below)?;
    let a = load_report(&args.a)?;
    let b = load_report(&args.b)?;
    let (name_a, name_b) = (args.a.display().to_string(), args.b.display().to_string());
    let c = compare(&a, &b, &name_a, &name_b);
    let failures = stancekit::report::gate::check(&b, &bars)?;
    if args.json {
        let v = serde_json::json!({"comparison": c, "fail_below": failures});
        out!("{}\n", serde_json::to_string_pretty(&v)?);
    } else {
        out!("{}", render(&c));
    }
    Ok(gate_outcome(&failures))
}

pub(crate) fn classify(args: cli::ClassifyArgs) -> anyhow::Result<Outcome> {
    if let Some(p) = args.abstain_below {
        if !(0.0..=1.0).contains(&p) {
            let msg = format!("--abstain-below {p}: expected a probability between 0 and 1");
            return Err(stancekit::Error::Input(msg).into());
        }
    }
    stancekit::runtime::check_threads("--threads", args.threads)?;
    stancekit::runtime::with_threads(args.threads, |_| classify_on_pool(&args))?
}

fn classify_on_pool(args: &cli::ClassifyArgs) -> anyhow::Result<Outcome> {
    use stancekit::classify::{classify_file, ClassifyOptions, LabelOptions, SegmentOptions};
    let mut model = stancekit::checkpoint::load(&args.model, &candle_core::Device::Cpu)?;
    if args.quantize.mode().is_some() {
        model.quantize_int8()?;
    }
    let io = render::io_options(&args.io)?;
    let opts = ClassifyOptions {
        text_column: args.text_column.clone(),
        tasks: args.tasks.clone(),
        labels: LabelOptions {
            probs: args.probs,
            top_k: args.top_k,
            abstain_below: args.abstain_below,
            ignore_thresholds: args.thresholds == cli::ThresholdsArg::None,
        },
        segment: match (args.segment, &args.text_column, &args.id_column) {
            (true, Some(t), Some(id)) => Some(SegmentOptions {
                text_column: t.clone(),
                id_column: id.clone(),
            }),
            _ => None,
        },
    };
    let flag = stancekit::runtime::catch_signals(render::STREAM_NOTICE);
    let summary = classify_file(&model, &io, &opts, Some(&flag))?;
    render::summary(&summary, &args.io)?;
    Ok(Outcome::Ok)
}

pub(crate) fn segment(args: cli::SegmentArgs) -> anyhow::Result<Outcome> {
    let io = render::io_options(&args.io)?;
    let opts = stancekit::classify::SegmentOptions {
        text_column: args.text_column.clone(),
        id_column: args.id_column.clone(),
    };
    let flag = stancekit::runtime::catch_signals(render::STREAM_NOTICE);
    let summary = stancekit::classify::segment_file(&io, &opts, Some(&flag))?;
    render::summary(&summary, &args.io)?;
    Ok(Outcome::Ok)
}

pub(crate) fn tune(args: cli::TuneArgs) -> anyhow::Result<Outcome> {
    use stancekit::tune::{log, tune, TuneOptions};
    let flag = stancekit::runtime::catch_signals(
        "interrupt: finishing the current run; the same command resumes (again to abort)",
    );
    let opts = TuneOptions {
        budget: args.budget,
        max_trials: args.trials,
        out: args.out,
        seed: args.seed,
        quiet: args.quiet,
        keep_runs: args.keep_runs,
        interrupt: Some(flag),
        stop_after_runs: args.stop_after_runs,
    };
    let summary = match tune(&args.config, &args.overrides, &opts) {
        Err(stancekit::Error::Interrupted) => {
            eprintln!("stopped; finished runs are logged: run the same command to resume");
            return Err(stancekit::Error::Interrupted.into());
        }
        other => other?,
    };
    match args.json {
        true => out!("{}\n", serde_json::to_string_pretty(&summary)?),
        false => out!("{}", log::render(&summary)),
    }
    Ok(Outcome::Ok)
}

/// Options for a command that trains, with its signal handling installed: the first signal
/// finishes the step and saves a resumable state, the second stops at once.
fn train_options(quiet: bool, bundle: bool) -> stancekit::train::TrainOptions {
    let flag = stancekit::runtime::catch_signals(
        "interrupt: finishing the current step and saving a resumable state (again to abort)",
    );
    stancekit::train::TrainOptions {
        quiet,
        interrupt: Some(flag),
        stop_after_steps: None,
        bundle,
    }
}

pub(crate) fn train(args: cli::TrainArgs) -> anyhow::Result<Outcome> {
    use stancekit::train::{resume, train};
    let opts = train_options(args.quiet, args.bundle);
    if !args.learning_curve.is_empty() {
        stancekit::train::learning::check_fractions(&args.learning_curve)?;
    }
    let (result, run_dir) = match (&args.resume, &args.config) {
        (Some(dir), _) => (resume(dir, &opts), dir.clone()),
        (None, Some(config)) => {
            let cfg = load_config(config, &args.overrides)?;
            let dir = cfg.valid.run_dir();
            (train(cfg, &opts), dir)
        }
        (None, None) => unreachable!("clap requires --config or --resume"),
    };
    let mut summary = match result {
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
    let curve = match (&args.config, args.learning_curve.is_empty()) {
        (Some(config), false) => stancekit::train::learning::learning_curve(
            config,
            &args.overrides,
            &args.learning_curve,
            &summary,
            &opts,
        )?,
        _ => Vec::new(),
    };
    stancekit::report::splits::write_run_reports(&mut summary)?;
    match args.json {
        true => {
            let mut v = serde_json::to_value(&summary)?;
            if !curve.is_empty() {
                v["learning_curve"] = serde_json::to_value(&curve)?;
            }
            out!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        false => {
            out!("{}", summary.render());
            out!("{}", stancekit::train::learning::render(&curve));
        }
    }
    Ok(Outcome::Ok)
}

/// `data import`: a public corpus or an annotation tool's export into the canonical CSV.
pub(crate) fn import(args: cli::ImportArgs) -> anyhow::Result<Outcome> {
    use stancekit::data::annotations::{import_annotations, write_coded, TOOLS};
    use stancekit::data::import::{import, write_csv};
    stancekit::guard::Protected::new()
        .file(&args.from)
        .check("--out", &args.out)?;
    if TOOLS.contains(&args.corpus.as_str()) {
        let (coded, report) = import_annotations(&args.corpus, &args.from, &args.tasks)?;
        write_coded(&coded, &args.out)?;
        match args.json {
            true => out!("{}\n", serde_json::to_string_pretty(&report)?),
            false => out!(
                "{}",
                stancekit::data::import_render::render_coded(&report, &args.out)
            ),
        }
        return Ok(Outcome::Ok);
    }
    if !args.tasks.is_empty() {
        let only = "--task applies to annotation exports (label-studio, prodigy, argilla) only";
        return Err(stancekit::Error::Input(only.into()).into());
    }
    let (imported, report) = import(&args.corpus, &args.from)?;
    write_csv(&imported, &args.from, &args.out)?;
    match args.json {
        true => out!("{}\n", serde_json::to_string_pretty(&report)?),
        false => out!(
            "{}",
            stancekit::data::import_render::render(&report, &args.out)
        ),
    }
    Ok(Outcome::Ok)
}

pub(crate) fn agreement(args: cli::AgreementArgs) -> anyhow::Result<Outcome> {
    use stancekit::agreement::{agreement, render, write_disagreements, AgreementOptions};
    if let Some(out) = &args.disagreements {
        stancekit::guard::Protected::new()
            .file(&args.input)
            .check("--disagreements", out)?;
    }
    let opts = AgreementOptions {
        item_column: args.item_column.clone(),
        annotator_column: args.annotator_column.clone(),
        label_columns: args.label_columns.clone(),
        read: render::table_flags(&args.table)?,
        resamples: args.resampling.bootstrap,
        seed: args.resampling.seed,
    };
    let (report, disagreements) = agreement(&args.input, &opts)?;
    if let Some(out) = &args.disagreements {
        write_disagreements(out, &disagreements)?;
    }
    match args.json {
        true => out!("{}\n", serde_json::to_string_pretty(&report)?),
        false => out!("{}", render(&report)),
    }
    Ok(Outcome::Ok)
}

pub(crate) fn select(args: cli::SelectArgs) -> anyhow::Result<Outcome> {
    use cli::{ExportArg, StrategyArg};
    use stancekit::select::{render, select, Export, SelectOptions, Strategy};
    let model = stancekit::checkpoint::load(&args.model, &candle_core::Device::Cpu)?;
    let mut guard = model.protected().file(&args.input);
    for f in &args.exclude {
        guard = guard.file(f);
    }
    for f in model.config.data_files() {
        guard = guard.file(&f);
    }
    guard.check("--output", &args.output)?;
    let opts = SelectOptions {
        n: args.n,
        strategy: match args.strategy {
            StrategyArg::Margin => Strategy::Margin,
            StrategyArg::Entropy => Strategy::Entropy,
            StrategyArg::Random => Strategy::Random,
            StrategyArg::Diverse => Strategy::Diverse,
        },
        task: args.task.clone(),
        stratify: args.stratify,
        text_column: args.text_column.clone(),
        id_column: args.id_column.clone(),
        segment: args.segment,
        exclude: args.exclude.clone(),
        read: render::table_flags(&args.table)?,
        seed: args.seed,
        to: match args.to {
            ExportArg::Csv => Export::Csv,
            ExportArg::LabelStudio => Export::LabelStudio,
            ExportArg::Prodigy => Export::Prodigy,
            ExportArg::Argilla => Export::Argilla,
        },
    };
    let summary = select(&model, &args.input, &args.output, &opts)?;
    match args.json {
        true => out!("{}\n", serde_json::to_string_pretty(&summary)?),
        false => out!("{}", render(&summary)),
    }
    Ok(Outcome::Ok)
}

pub(crate) fn ensemble(args: cli::EnsembleArgs) -> anyhow::Result<Outcome> {
    use stancekit::train::members::train_members;
    if !args.seeds.is_empty() && args.config.is_empty() {
        let msg = "--seeds applies to --config: name the config to train once per seed";
        return Err(stancekit::Error::Input(msg.into()).into());
    }
    let opts = train_options(args.quiet, false);
    let mut members = args.models.clone();
    match train_members(&args.config, &args.seeds, &args.overrides, &opts) {
        Err(stancekit::Error::Interrupted) => {
            eprintln!("stopped; run the same command to resume the member being trained");
            return Err(stancekit::Error::Interrupted.into());
        }
        other => members.extend(other?),
    }
    let manifest = stancekit::ensemble::assemble_run(&members, &args.out)?;
    let best = args.out.join(stancekit::ensemble::BEST);
    let model = stancekit::checkpoint::load(&best, &candle_core::Device::Cpu)?;
    let shared = manifest.ensemble.as_ref().is_some_and(|e| e.shared_split);
    let reports = match shared {
        true => stancekit::report::splits::write_split_reports(
            &model.config,
            &args.out,
            &model,
            &Default::default(),
        )?,
        false => {
            eprintln!("the members were trained on different data or splits: no dev/test report (evaluate the ensemble on rows none of them trained on)");
            Vec::new()
        }
    };
    let scores = reports
        .iter()
        .map(|r| report_scores(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.json {
        let v = serde_json::json!({"manifest": manifest, "model": best, "reports": reports, "macro_f1": scores});
        out!("{}\n", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Ok);
    }
    let record = manifest
        .ensemble
        .as_ref()
        .map(|e| &e.members[..])
        .unwrap_or(&[]);
    out!(
        "wrote the ensemble {} ({} members, mean of probabilities; sha256 {})\n",
        best.display(),
        record.len(),
        manifest.weights_sha256
    );
    for m in record {
        out!(
            "  {}  {:<12} seed {:<6} {}  from {}\n",
            m.dir,
            m.model_kind,
            m.seed,
            &m.weights_sha256[..16.min(m.weights_sha256.len())],
            m.source
        );
    }
    for s in &scores {
        out!(
            "  {} macro-F1: {}\n",
            s["split"].as_str().unwrap_or(""),
            s["tasks"]
        );
    }
    for r in &reports {
        out!("  report: {}\n", r.display());
    }
    Ok(Outcome::Ok)
}

/// A written report's macro-F1 per task, by its folder (`report-dev`, `report-test`).
fn report_scores(dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("report.json"))?;
    let report: serde_json::Value = serde_json::from_str(&text)?;
    let tasks = report["tasks"].as_array().cloned().unwrap_or_default();
    let f1: serde_json::Map<String, serde_json::Value> = tasks
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_string(),
                t["metrics"]["macro_f1"].clone(),
            )
        })
        .collect();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(serde_json::json!({"split": name.trim_start_matches("report-"), "tasks": f1}))
}
