//! The `stancekit` binary: parse arguments, call the library, print, and map outcomes to exit
//! codes. A closed stdout (`| head -1`) is a clean stop, as in ripgrep: exit 0, no message.

use clap::Parser;
use cli::{Cli, Command, ConfigCommand, DataCommand};
use stancekit::config::{load_config, REFERENCE_CONFIG};
use std::io::Write;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (mimalloc 3.x's `mi_option_t`; libmimalloc-sys names
/// no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed memory in the process rather than handing it back to the OS 10 ms later, as
/// mimalloc does by default. Training and encoder inference free and allocate tensors of the
/// same sizes at every step; pages handed back came back from the kernel zeroed on their
/// next use, which was 12% of the CPU time of a fine-tuning profile (`clear_page_erms`;
/// 4% with this). The high-water mark, which is what peak memory measures, is reached
/// either way. A `MIMALLOC_PURGE_DELAY` the user set is kept.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one option's value; runs first in `main`, before any other thread.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    }
}

/// What a command reports back besides success.
pub(crate) enum Outcome {
    Ok,
    CheckFailed,
}

/// Write to stdout; a closed pipe surfaces as an error that `main` turns into a clean exit.
macro_rules! out {
    ($($t:tt)*) => {
        write!(std::io::stdout().lock(), $($t)*)?
    };
}

mod cli;
mod commands;
mod render;

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(e) if render::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Library errors already carry their cause in their message: print it once.
            match e.downcast_ref::<stancekit::Error>() {
                Some(se) => eprintln!("error: {se}"),
                None => eprintln!("error: {e:#}"),
            }
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
    // Streaming and training stop cleanly at their next batch or step; the rest stop at once,
    // leaving no temporary file either way.
    let graceful = matches!(
        cli.command,
        Command::Train(_)
            | Command::Tune(_)
            | Command::Ensemble(_)
            | Command::Classify(_)
            | Command::Segment(_)
    );
    if !graceful {
        stancekit::runtime::exit_on_signal();
    }
    match cli.command {
        Command::Data {
            command: DataCommand::Check { source, json },
        } => {
            let cfg = load_config(&source.config, &source.overrides)?;
            let corpus = stancekit::data::load_corpus(&cfg.valid)?;
            let report = stancekit::check::check_corpus(&cfg.valid, &corpus);
            if json {
                out!("{}\n", serde_json::to_string_pretty(&report)?);
            } else {
                out!("{}", stancekit::check::render(&report));
            }
            Ok(if report.passed() {
                Outcome::Ok
            } else {
                Outcome::CheckFailed
            })
        }
        Command::Data {
            command: DataCommand::Import(args),
        } => commands::import(args),
        Command::Data {
            command: DataCommand::Agreement(args),
        } => commands::agreement(args),
        Command::Config { command } => match command {
            ConfigCommand::Init { out: None, .. } => {
                out!("{REFERENCE_CONFIG}");
                Ok(Outcome::Ok)
            }
            ConfigCommand::Init {
                out: Some(path),
                force,
            } => {
                if path.exists() && !force {
                    let msg = format!("{} exists; pass --force to replace it", path.display());
                    return Err(stancekit::Error::Input(msg).into());
                }
                stancekit::io::write_atomic(&path, REFERENCE_CONFIG.as_bytes())?;
                eprintln!("wrote {}", path.display());
                Ok(Outcome::Ok)
            }
            ConfigCommand::Show { source, json } => {
                let cfg = load_config(&source.config, &source.overrides)?;
                match json {
                    true => out!("{}\n", serde_json::to_string_pretty(&cfg.valid.raw)?),
                    false => out!("{}", cfg.resolved_toml),
                }
                Ok(Outcome::Ok)
            }
        },
        Command::Train(args) => commands::train(args),
        Command::Tune(args) => commands::tune(args),
        Command::Evaluate(args) => commands::evaluate(args),
        Command::Compare(args) => commands::compare(args),
        Command::Classify(args) => commands::classify(args),
        Command::Segment(args) => commands::segment(args),
        Command::Select(args) => commands::select(args),
        Command::Ensemble(args) => commands::ensemble(args),
        Command::Bundle { checkpoint } => {
            let to = stancekit::checkpoint::bundle_encoder(&checkpoint)?;
            out!("encoder bundled into {}\n", to.display());
            Ok(Outcome::Ok)
        }
    }
}
