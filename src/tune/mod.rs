//! `stancekit tune`: a seeded search over a config's hyperparameters within a time budget,
//! fastText's `-autotune` for every model kind. Each trial is the config with some keys
//! changed (`space`), trained and scored on grouped cross-validation folds of the training
//! split (`split.folds`), so the dev and test splits never steer the search. Trials that fall
//! below the median of the finished ones on their first folds are stopped early (the median
//! stopping rule). Every fold run is logged as it finishes (`log`), so a search stopped by
//! Ctrl-C resumes where it was by running the same command again, and the same seed gives the
//! same trials, scores and choice.

pub mod log;
pub mod space;

use crate::config::{load_config, LoadedConfig};
use crate::error::{Error, Result};
use crate::train::{train, TrainOptions, TrainSummary};
use log::{FoldRun, Header, Trial, TrialStatus, TuneSummary};
use space::Params;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct TuneOptions {
    /// Stop starting fold runs once the runs so far (resumed ones included) took this long.
    pub budget: Option<Duration>,
    /// Stop after this many trials (trial 0, the config as given, included).
    pub max_trials: Option<usize>,
    /// Where the log, the report and the best config go (default `<run dir>-tune`).
    pub out: Option<PathBuf>,
    /// Seed of the trials' draws (default `run.seed`).
    pub seed: Option<u64>,
    pub quiet: bool,
    /// Keep each fold run's checkpoints (by default only its score is kept).
    pub keep_runs: bool,
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Behave as if interrupted after this many new fold runs (for testing resume).
    pub stop_after_runs: Option<usize>,
}

/// Finished trials needed before the median rule may stop another one.
const PRUNE_AFTER: usize = 5;

/// Run the search for `config` (with `overrides`).
pub fn tune(config: &Path, overrides: &[String], opts: &TuneOptions) -> Result<TuneSummary> {
    let base = load_config(config, overrides)?;
    let v = &base.valid;
    if v.raw.split.folds != 0 {
        return Err(Error::ConfigValue {
            path: v.config_path.clone(),
            key: "split.folds".into(),
            message: "tune chooses the folds itself (tune.folds); leave split.folds unset".into(),
        });
    }
    let folds = v.raw.tune.folds;
    let seed = opts.seed.unwrap_or(v.raw.run.seed);
    let space = space::space_for(v);
    let out = opts.out.clone().unwrap_or_else(|| {
        let dir = v.run_dir();
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        dir.with_file_name(format!("{}-tune", name.unwrap_or_default()))
    });
    // A key that does not exist fails here rather than after trial 0's folds; a drawn value
    // that its key refuses only fails its own trial.
    let mut probe = overrides.to_vec();
    probe.extend(space::overrides(&space::draw(&space, seed, 1)));
    match load_config(config, &probe) {
        Err(e) if !trial_failure(&e) => return Err(e),
        _ => {}
    }

    let header = Header::new(&base, seed, folds, space::describe(&space));
    let mut runs = log::open(&out, &header)?;
    let mut elapsed: f64 = runs.iter().map(|r| r.seconds).sum();
    let ctx = RunCtx {
        config,
        overrides,
        out: &out,
        folds,
        opts,
    };
    if !opts.quiet {
        eprintln!(
            "tune: {} folds, seed {seed}, {} in {}",
            folds,
            budget_text(opts),
            out.display()
        );
        for line in space::describe(&space) {
            eprintln!("  {line}");
        }
    }
    let mut trials: Vec<Trial> = Vec::new();
    let mut new_runs = 0;
    let mut stopped_by = "trials";
    'search: for trial in 0.. {
        if opts.max_trials.is_some_and(|m| trial >= m) {
            break;
        }
        let params = space::draw(&space, seed, trial);
        let mut t = Trial::new(trial, params.clone());
        for fold in 0..folds {
            let run = match runs.iter().find(|r| r.trial == trial && r.fold == fold) {
                Some(r) => r.clone(),
                None => {
                    if opts.budget.is_some_and(|b| elapsed >= b.as_secs_f64()) {
                        stopped_by = "budget";
                        trials.push(t);
                        break 'search;
                    }
                    if interrupted(opts, new_runs) {
                        return Err(Error::Interrupted);
                    }
                    let r = ctx.run_fold(trial, fold, &params)?;
                    elapsed += r.seconds;
                    new_runs += 1;
                    runs.push(r.clone());
                    log::save(&out, &runs)?;
                    r
                }
            };
            t.seconds += run.seconds;
            if let Some(why) = &run.failed {
                t.status = TrialStatus::Failed;
                t.failure = Some(why.clone());
                break;
            }
            t.fold_scores.push(run.score);
            if fold + 1 < folds && should_prune(&t.fold_scores, &trials) {
                t.status = TrialStatus::Pruned;
                break;
            }
        }
        if t.status == TrialStatus::Unfinished {
            t.finish();
        }
        if !opts.quiet {
            eprintln!("{}", log::progress_line(&t, &trials, elapsed, opts.budget));
        }
        trials.push(t);
    }
    let summary = log::finish(
        &base,
        &header,
        trials,
        elapsed,
        stopped_by,
        &out,
        |params| best_config(config, overrides, params, &base),
    )?;
    Ok(summary)
}

fn budget_text(opts: &TuneOptions) -> String {
    match (opts.budget, opts.max_trials) {
        (Some(b), Some(n)) => format!("a budget of {} or {n} trials", log::clock(b.as_secs_f64())),
        (Some(b), None) => format!("a budget of {}", log::clock(b.as_secs_f64())),
        (None, Some(n)) => format!("{n} trials"),
        (None, None) => "no limit (Ctrl-C stops; the same command resumes)".into(),
    }
}

fn interrupted(opts: &TuneOptions, new_runs: usize) -> bool {
    opts.stop_after_runs.is_some_and(|n| new_runs >= n)
        || opts
            .interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
}

/// Errors that end one trial, not the search: a drawn value the config refuses, a loss that
/// diverged.
fn trial_failure(e: &Error) -> bool {
    matches!(e, Error::ConfigValue { .. } | Error::NonFiniteLoss { .. })
}

/// The median stopping rule: stop a trial whose mean over its first folds is below the median
/// of the finished trials' means over the same folds.
fn should_prune(scores: &[f64], trials: &[Trial]) -> bool {
    let n = scores.len();
    let mut prefix: Vec<f64> = trials
        .iter()
        .filter(|t| t.status == TrialStatus::Complete)
        .map(|t| t.fold_scores[..n].iter().sum::<f64>() / n as f64)
        .collect();
    if prefix.len() < PRUNE_AFTER {
        return false;
    }
    prefix.sort_by(f64::total_cmp);
    let mid = prefix.len() / 2;
    let median = match prefix.len() % 2 {
        1 => prefix[mid],
        _ => (prefix[mid - 1] + prefix[mid]) / 2.0,
    };
    scores.iter().sum::<f64>() / (n as f64) < median
}

/// The winning trial's config, renamed so that training it does not overwrite the base run.
fn best_config(
    config: &Path,
    overrides: &[String],
    params: &Params,
    base: &LoadedConfig,
) -> Result<String> {
    let mut o = overrides.to_vec();
    o.extend(space::overrides(params));
    o.push(format!(
        "run.name={}",
        toml::Value::String(format!("{}-tuned", base.valid.raw.run.name))
    ));
    Ok(load_config(config, &o)?.resolved_toml)
}

struct RunCtx<'a> {
    config: &'a Path,
    overrides: &'a [String],
    out: &'a Path,
    folds: usize,
    opts: &'a TuneOptions,
}

impl RunCtx<'_> {
    /// Train `params` on every fold but `fold` and score it on `fold`.
    fn run_fold(&self, trial: usize, fold: usize, params: &Params) -> Result<FoldRun> {
        let runs_dir = self.out.join("runs");
        let name = format!("trial-{trial:04}-fold-{fold}");
        let run_dir = runs_dir.join(&name);
        // Left over from a run that was killed: it never reached the log.
        if run_dir.exists() {
            std::fs::remove_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
        }
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut o = self.overrides.to_vec();
        o.extend(space::overrides(params));
        o.push(format!("split.folds={}", self.folds));
        o.push(format!("split.fold={fold}"));
        o.push(format!(
            "run.output_dir={}",
            quote(&runs_dir.display().to_string())
        ));
        o.push(format!("run.name={}", quote(&name)));
        let failed = |e: &Error| FoldRun {
            trial,
            fold,
            params: params.clone(),
            score: 0.0,
            metric: String::new(),
            seconds: 0.0,
            steps: 0,
            train_examples: 0,
            failed: Some(e.to_string()),
        };
        let cfg = match load_config(self.config, &o) {
            Ok(cfg) => cfg,
            Err(e) if trial_failure(&e) => return Ok(failed(&e)),
            Err(e) => return Err(e),
        };
        let opts = TrainOptions {
            quiet: true,
            interrupt: self.opts.interrupt.clone(),
            stop_after_steps: None,
            bundle: false,
        };
        let started = std::time::Instant::now();
        let result = train(cfg, &opts);
        if !self.opts.keep_runs || result.is_err() {
            // A failed or interrupted run is not resumable from here: the trial reruns.
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        let summary = match result {
            Err(e) if trial_failure(&e) => return Ok(failed(&e)),
            other => other?,
        };
        Ok(FoldRun {
            trial,
            fold,
            params: params.clone(),
            score: objective(&summary),
            metric: summary.early_stopping_metric.clone(),
            seconds: started.elapsed().as_secs_f64(),
            steps: summary.steps,
            train_examples: summary.train_examples,
            failed: None,
        })
    }
}

/// A run's score: its early-stopping metric on the held-out fold, or the mean macro-F1 over
/// tasks when it has none.
fn objective(s: &TrainSummary) -> f64 {
    match s.best_value {
        Some(v) => v,
        None => {
            let n = s.dev.len().max(1) as f64;
            s.dev.values().map(|m| m.macro_f1).sum::<f64>() / n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(scores: &[f64]) -> Trial {
        let mut t = Trial::new(0, Params::new());
        t.fold_scores = scores.to_vec();
        t.finish();
        t
    }

    #[test]
    fn the_median_rule_waits_for_enough_finished_trials_then_stops_the_weak() {
        let few: Vec<Trial> = (0..4).map(|_| done(&[0.8, 0.8, 0.8])).collect();
        assert!(!should_prune(&[0.1], &few), "too few trials to judge");
        let many: Vec<Trial> = [0.70, 0.75, 0.80, 0.85, 0.90]
            .iter()
            .map(|s| done(&[*s, *s, *s]))
            .collect();
        assert!(should_prune(&[0.79], &many));
        assert!(!should_prune(&[0.80], &many));
        assert!(!should_prune(&[0.95, 0.70], &many), "mean 0.825 >= 0.80");
    }
}
