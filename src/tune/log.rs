//! What a search writes, and reads back to resume: `tune.json` (what is being searched, so a
//! folder is never resumed with another config or seed), `trials.jsonl` (one line per finished
//! fold run, rewritten through a temp file after each), then `tune-report.json`,
//! `tune-report.md` and `best.toml` at the end.

use super::space::Params;
use crate::config::LoadedConfig;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const HEADER: &str = "tune.json";
const RUNS: &str = "trials.jsonl";
const REPORT_JSON: &str = "tune-report.json";
const REPORT_MD: &str = "tune-report.md";
const BEST: &str = "best.toml";

/// What a search folder belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub config_sha256: String,
    pub seed: u64,
    pub folds: usize,
    pub space: Vec<String>,
}

impl Header {
    pub fn new(base: &LoadedConfig, seed: u64, folds: usize, space: Vec<String>) -> Self {
        Header {
            config_sha256: crate::tensors::sha256_hex(base.resolved_toml.as_bytes()),
            seed,
            folds,
            space,
        }
    }
}

/// One trial trained on all folds but `fold` and scored on `fold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldRun {
    pub trial: usize,
    pub fold: usize,
    pub params: Params,
    pub score: f64,
    pub metric: String,
    /// Wall time of the run (for the budget; not part of any result).
    pub seconds: f64,
    pub steps: usize,
    pub train_examples: usize,
    /// Why the run could not train (a drawn value the config refuses, a diverging loss); its
    /// trial is then out of the running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    Complete,
    /// Stopped by the median rule after its first folds.
    Pruned,
    /// The budget ran out before its folds did.
    Unfinished,
    /// A run of it could not train (`Trial::failure` says why).
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub trial: usize,
    pub params: Params,
    pub fold_scores: Vec<f64>,
    /// Mean over all folds; only for complete trials.
    pub mean: Option<f64>,
    pub status: TrialStatus,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Trial {
    pub fn new(trial: usize, params: Params) -> Self {
        Trial {
            trial,
            params,
            fold_scores: Vec::new(),
            mean: None,
            status: TrialStatus::Unfinished,
            seconds: 0.0,
            failure: None,
        }
    }

    pub fn finish(&mut self) {
        let n = self.fold_scores.len().max(1) as f64;
        self.mean = Some(self.fold_scores.iter().sum::<f64>() / n);
        self.status = TrialStatus::Complete;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TuneSummary {
    pub out_dir: PathBuf,
    pub metric: String,
    pub folds: usize,
    pub seed: u64,
    pub space: Vec<String>,
    pub trials: Vec<Trial>,
    /// The complete trial with the highest mean (the lowest number on ties).
    pub best: Option<usize>,
    /// Trial 0's mean: the config as given.
    pub baseline: Option<f64>,
    pub best_config: Option<PathBuf>,
    pub elapsed_seconds: f64,
    /// "budget" or "trials".
    pub stopped_by: String,
}

/// Create `out` for `header`, or check that it holds the same search; the runs logged so far.
pub fn open(out: &Path, header: &Header) -> Result<Vec<FoldRun>> {
    let path = out.join(HEADER);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let found: Header = serde_json::from_str(&text)
            .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
        if &found != header {
            return Err(Error::Input(format!(
                "{} holds another search (a different config, seed, folds or space); \
                 use another --out or remove the folder",
                out.display()
            )));
        }
    } else {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let bytes = serde_json::to_vec_pretty(header).map_err(|e| Error::Input(e.to_string()))?;
        crate::io::write_atomic(&path, &bytes)?;
    }
    let path = out.join(RUNS);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::Input(format!(
                    "{}:{}: not a trial record: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Rewrite the log with `runs`.
pub fn save(out: &Path, runs: &[FoldRun]) -> Result<()> {
    let mut text = String::new();
    for r in runs {
        let line = serde_json::to_string(r).map_err(|e| Error::Input(e.to_string()))?;
        text.push_str(&line);
        text.push('\n');
    }
    crate::io::write_atomic(&out.join(RUNS), text.as_bytes())
}

/// Pick the best trial, write the best config and the reports.
pub fn finish<F>(
    base: &LoadedConfig,
    header: &Header,
    trials: Vec<Trial>,
    elapsed: f64,
    stopped_by: &str,
    out: &Path,
    best_config: F,
) -> Result<TuneSummary>
where
    F: Fn(&Params) -> Result<String>,
{
    let best = best_of(&trials).map(|(i, _)| i);
    let best_path = match best.and_then(|b| trials.iter().find(|t| t.trial == b)) {
        Some(t) => {
            let path = out.join(BEST);
            crate::io::write_atomic(&path, best_config(&t.params)?.as_bytes())?;
            Some(path)
        }
        None => None,
    };
    let metric = base.valid.raw.train.early_stopping_metric.clone();
    let summary = TuneSummary {
        out_dir: out.to_path_buf(),
        metric,
        folds: header.folds,
        seed: header.seed,
        space: header.space.clone(),
        baseline: trials.iter().find(|t| t.trial == 0).and_then(|t| t.mean),
        trials,
        best,
        best_config: best_path,
        elapsed_seconds: elapsed,
        stopped_by: stopped_by.to_string(),
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Input(e.to_string()))?;
    crate::io::write_atomic(&out.join(REPORT_JSON), &json)?;
    crate::io::write_atomic(&out.join(REPORT_MD), render_markdown(&summary).as_bytes())?;
    Ok(summary)
}

/// The complete trial with the highest mean, and that mean (the lowest number on ties).
fn best_of<'a>(trials: impl IntoIterator<Item = &'a Trial>) -> Option<(usize, f64)> {
    trials
        .into_iter()
        .filter_map(|t| t.mean.map(|m| (t.trial, m)))
        .fold(None, |acc, (i, m)| match acc {
            Some((_, b)) if b >= m => acc,
            _ => Some((i, m)),
        })
}

/// `1h02m`, `3m05s`, `42s`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

fn params_text(p: &Params) -> String {
    match p.is_empty() {
        true => "(the config as given)".into(),
        false => p
            .iter()
            .map(|(k, v)| format!("{}={v}", k.split_once('.').map_or(k.as_str(), |(_, k)| k)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn scores_text(t: &Trial) -> String {
    let folds: Vec<String> = t.fold_scores.iter().map(|s| format!("{s:.4}")).collect();
    match (t.status, t.mean) {
        (TrialStatus::Complete, Some(m)) => format!("{m:.4} ({})", folds.join(" ")),
        (TrialStatus::Pruned, _) => format!("pruned ({})", folds.join(" ")),
        (TrialStatus::Failed, _) => "failed".into(),
        _ => format!("unfinished ({})", folds.join(" ")),
    }
}

/// One line of the progress table, printed as each trial ends.
pub fn progress_line(
    t: &Trial,
    before: &[Trial],
    elapsed: f64,
    budget: Option<Duration>,
) -> String {
    let best = best_of(before.iter().chain(std::iter::once(t)));
    let best = best.map_or("-".into(), |(i, m)| format!("{m:.4} (trial {i})"));
    let time = match budget {
        Some(b) => format!("{} of {}", clock(elapsed), clock(b.as_secs_f64())),
        None => clock(elapsed),
    };
    let mut line = format!(
        "trial {:>3}  {:<34}  best {:<20}  {:>14}  {}",
        t.trial,
        scores_text(t),
        best,
        time,
        params_text(&t.params)
    );
    if let Some(why) = &t.failure {
        line.push_str(&format!("\n           failed: {why}"));
    }
    line
}

/// The summary for a terminal.
pub fn render(s: &TuneSummary) -> String {
    let mut out = String::new();
    let done = s
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Complete)
        .count();
    let pruned = s
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Pruned)
        .count();
    let failed = s
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Failed)
        .count();
    let _ = writeln!(
        out,
        "{} trials ({done} complete, {pruned} pruned, {failed} failed) in {}, stopped by {}; {} on {} folds of the training split",
        s.trials.len(),
        clock(s.elapsed_seconds),
        s.stopped_by,
        s.metric,
        s.folds
    );
    if let Some(b) = s.baseline {
        let _ = writeln!(out, "config as given (trial 0): {b:.4}");
    }
    match s.best.and_then(|b| s.trials.iter().find(|t| t.trial == b)) {
        Some(t) => {
            let _ = writeln!(out, "best: trial {}  {}", t.trial, scores_text(t));
            let _ = writeln!(out, "      {}", params_text(&t.params));
        }
        None => {
            let _ = writeln!(out, "no trial finished all its folds: raise the budget");
        }
    }
    if let Some(p) = &s.best_config {
        let _ = writeln!(out, "best config: {}", p.display());
        let _ = writeln!(out, "train it:    stancekit train --config {}", p.display());
    }
    let _ = writeln!(out, "report:      {}", s.out_dir.join(REPORT_MD).display());
    out
}

fn render_markdown(s: &TuneSummary) -> String {
    let mut out = String::from("# stancekit tune\n\n");
    let _ = writeln!(
        out,
        "Seed {}, {} folds of the training split, metric `{}`, {} elapsed, stopped by {}.\n",
        s.seed,
        s.folds,
        s.metric,
        clock(s.elapsed_seconds),
        s.stopped_by
    );
    let _ = writeln!(out, "Search space:\n");
    for line in &s.space {
        let _ = writeln!(out, "- `{line}`");
    }
    let _ = writeln!(
        out,
        "\n| trial | score (folds) | seconds | values |\n|---:|---|---:|---|"
    );
    for t in &s.trials {
        let mark = if Some(t.trial) == s.best {
            " **best**"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {}{mark} | {} | {:.0} | {} |",
            t.trial,
            scores_text(t),
            t.seconds,
            params_text(&t.params)
        );
    }
    out
}
