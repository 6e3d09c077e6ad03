//! Learning curves: the same config trained on nested fractions of its training split (same
//! dev and test), so an analyst sees whether more annotation will pay. Each fraction is an
//! ordinary run (`train.fraction`) under `<run>/learning-curve/`; the points are written to
//! `<run>/learning-curve.json`, which the run's HTML report plots.

use super::{train, TrainOptions, TrainSummary};
use crate::config::load_config;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file the points are written to, in the run folder.
pub const CURVE_FILE: &str = "learning-curve.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningPoint {
    pub fraction: f64,
    /// Training rows the model learnt from (the labels it cost).
    pub train_examples: usize,
    /// Per task, dev macro-F1 of that run's best model.
    pub dev_macro_f1: BTreeMap<String, f64>,
    /// Per task, test macro-F1 (empty without a test split).
    pub test_macro_f1: BTreeMap<String, f64>,
    pub run_dir: String,
}

/// Check `--learning-curve` fractions: each in (0, 1], ascending, no repeats.
pub fn check_fractions(fractions: &[f64]) -> Result<()> {
    let ok = fractions.iter().all(|f| *f > 0.0 && *f <= 1.0)
        && fractions.windows(2).all(|w| w[0] < w[1]);
    match ok && !fractions.is_empty() {
        true => Ok(()),
        false => Err(Error::Input(format!(
            "--learning-curve {fractions:?}: expected ascending fractions in (0, 1], e.g. 0.1,0.25,0.5,1.0"
        ))),
    }
}

fn point(fraction: f64, s: &TrainSummary) -> LearningPoint {
    let f1 = |m: &BTreeMap<String, crate::eval::Metrics>| {
        m.iter().map(|(k, v)| (k.clone(), v.macro_f1)).collect()
    };
    LearningPoint {
        fraction,
        train_examples: s.train_examples,
        dev_macro_f1: f1(&s.dev),
        test_macro_f1: f1(&s.test),
        run_dir: s.run_dir.display().to_string(),
    }
}

/// Train `config` (with `overrides`) on each fraction below the full run's, reuse `full` for
/// the fraction it trained on, and write the curve next to `full`'s run.
pub fn learning_curve(
    config: &Path,
    overrides: &[String],
    fractions: &[f64],
    full: &TrainSummary,
    opts: &TrainOptions,
) -> Result<Vec<LearningPoint>> {
    check_fractions(fractions)?;
    let full_fraction = full.config.as_ref().map_or(1.0, |c| c.raw.train.fraction);
    let base = full.run_dir.join("learning-curve");
    let mut points = Vec::new();
    for &f in fractions {
        if (f - full_fraction).abs() < 1e-12 {
            points.push(point(f, full));
            continue;
        }
        let mut o = overrides.to_vec();
        o.push(format!("train.fraction={f}"));
        o.push(format!(
            "run.output_dir={}",
            toml_string(&base.display().to_string())
        ));
        o.push(format!("run.name=\"fraction-{f}\""));
        let cfg = load_config(config, &o)?;
        let summary = train(cfg, opts)?;
        points.push(point(f, &summary));
    }
    let bytes = serde_json::to_vec_pretty(&points).map_err(|e| Error::Input(e.to_string()))?;
    crate::io::write_atomic(&full.run_dir.join(CURVE_FILE), &bytes)?;
    Ok(points)
}

/// The curve as a table for a terminal (empty without points).
pub fn render(points: &[LearningPoint]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if points.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "learning curve (dev macro-F1 per task; test in brackets):"
    );
    for p in points {
        let tasks: Vec<String> = p
            .dev_macro_f1
            .iter()
            .map(|(t, d)| match p.test_macro_f1.get(t) {
                Some(x) => format!("{t} {d:.4} [{x:.4}]"),
                None => format!("{t} {d:.4}"),
            })
            .collect();
        let _ = writeln!(
            s,
            "  {:>5.2}  {:>6} labels  {}",
            p.fraction,
            p.train_examples,
            tasks.join("  ")
        );
    }
    s
}

/// A TOML basic string, so a folder name with spaces or quotes survives `--set`.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The points written for `run_dir`; none when the run has no learning curve.
pub fn read_curve(run_dir: &Path) -> Vec<LearningPoint> {
    std::fs::read(run_dir.join(CURVE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_must_ascend_within_zero_and_one() {
        assert!(check_fractions(&[0.1, 0.25, 0.5, 1.0]).is_ok());
        assert!(check_fractions(&[0.5, 0.25]).is_err());
        assert!(check_fractions(&[0.0, 1.0]).is_err());
        assert!(check_fractions(&[1.5]).is_err());
        assert!(check_fractions(&[]).is_err());
    }

    #[test]
    fn smaller_fractions_are_subsets_of_larger_ones() {
        let rows: Vec<usize> = (0..1000).collect();
        let small = super::super::nested_subset(rows.clone(), 0.1, 7);
        let large = super::super::nested_subset(rows.clone(), 0.5, 7);
        assert_eq!((small.len(), large.len()), (100, 500));
        assert!(small.iter().all(|r| large.contains(r)));
        assert!(small.windows(2).all(|w| w[0] < w[1]), "file order kept");
        assert_ne!(small, super::super::nested_subset(rows, 0.1, 8));
    }
}
