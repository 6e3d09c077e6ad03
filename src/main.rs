//! The `stancekit` binary: parse arguments, call the library, print, and map outcomes to exit
//! codes.

mod cli;

use anyhow::Context;
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
        Command::Data { command } => match command {
            DataCommand::Check { source, json } => {
                let cfg = load_config(&source.config, &source.overrides)?;
                let corpus = stancekit::data::load_corpus(&cfg.valid)?;
                let report = stancekit::check::check_corpus(&cfg.valid, &corpus);
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{}", stancekit::check::render(&report));
                }
                Ok(if report.passed() { Outcome::Ok } else { Outcome::CheckFailed })
            }
        },
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
        Command::Train(args) => {
            let _ = args;
            Err(stancekit::Error::Input("train: not available in this build".into()))
                .context("train")
        }
    }
}
