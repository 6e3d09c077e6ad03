//! Drawing trials from a search space. Trial `i`'s values come from their own RNG stream
//! (`seed`, stream `i`), so a trial's parameters depend only on the seed, the space and its
//! number: a resumed search draws what an unbroken one would, and trial 0 is always the config
//! as given, so the search never reports worse than where it started.

use crate::config::{Dist, ModelKind, ValidConfig};
use crate::rng::SeededRng;
use std::collections::BTreeMap;

/// A trial's values, key to TOML literal (`"train.lr" -> "0.0123"`), in key order.
pub type Params = BTreeMap<String, String>;

const TUNE_STREAM: u64 = 0x7e7e_0000;

/// The space to search: the config's `[tune.space]`, or the defaults for its model kind,
/// centred on the config's own values where a scale matters (learning rate, epochs).
pub fn space_for(v: &ValidConfig) -> BTreeMap<String, Dist> {
    if !v.raw.tune.space.is_empty() {
        return v.raw.tune.space.clone();
    }
    let lr = v.raw.train.lr;
    let epochs = v.raw.train.epochs as i64;
    let choice = |xs: &[i64]| Dist::Choice(xs.iter().map(|x| toml::Value::Integer(*x)).collect());
    let mut s = BTreeMap::new();
    s.insert("train.lr".into(), Dist::LogUniform([lr / 4.0, lr * 4.0]));
    s.insert(
        "train.epochs".into(),
        Dist::Int([(epochs / 2).max(1), (epochs * 2).max(2)]),
    );
    match v.model {
        ModelKind::Bow if v.raw.model.linear => {
            s.insert("text.word_ngrams".into(), Dist::Int([1, 3]));
            s.insert("train.weight_decay".into(), Dist::LogUniform([1e-6, 1e-2]));
        }
        ModelKind::Bow => {
            s.insert("model.dim".into(), choice(&[16, 32, 64, 128]));
            s.insert("model.dropout".into(), Dist::Uniform([0.0, 0.5]));
            s.insert("model.ngram_dropout".into(), Dist::Uniform([0.0, 0.3]));
            s.insert("text.word_ngrams".into(), Dist::Int([1, 3]));
            s.insert("train.batch_size".into(), choice(&[8, 16, 32, 64]));
        }
        ModelKind::Cnn => {
            s.insert("model.dim".into(), choice(&[64, 128, 256]));
            s.insert("model.filters".into(), choice(&[64, 128, 256]));
            s.insert("model.dropout".into(), Dist::Uniform([0.1, 0.6]));
            s.insert("train.batch_size".into(), choice(&[16, 32, 64]));
        }
        ModelKind::Transformer => {
            s.insert("model.dropout".into(), Dist::Uniform([0.0, 0.3]));
            s.insert("model.layers".into(), Dist::Int([1, 4]));
            s.insert("train.batch_size".into(), choice(&[16, 32, 64]));
        }
        ModelKind::Pretrained => {
            s.insert("model.dropout".into(), Dist::Uniform([0.0, 0.3]));
            s.insert("train.weight_decay".into(), Dist::LogUniform([1e-4, 0.1]));
            if v.raw.model.mode == crate::config::EncoderMode::Finetune {
                s.insert("train.layer_lr_decay".into(), Dist::Uniform([0.5, 1.0]));
            }
        }
    }
    s
}

/// Trial `trial`'s values; trial 0 is the config as given (no values).
pub fn draw(space: &BTreeMap<String, Dist>, seed: u64, trial: usize) -> Params {
    if trial == 0 {
        return Params::new();
    }
    let mut rng = SeededRng::new(seed, TUNE_STREAM + trial as u64);
    // Keys in order (a BTreeMap), each one draw or a fixed number of them: adding a key to
    // the space changes only the values of the keys after it.
    space
        .iter()
        .map(|(key, dist)| (key.clone(), sample(dist, &mut rng)))
        .collect()
}

fn sample(dist: &Dist, rng: &mut SeededRng) -> String {
    // Four significant digits: enough resolution for a search, and the trial table stays
    // readable; the written value is the value used.
    let float = |x: f64| toml::Value::Float(format!("{x:.4e}").parse().unwrap_or(x)).to_string();
    let u = f64::from(rng.uniform());
    match dist {
        Dist::Choice(values) => values[rng.below(values.len())].to_string(),
        Dist::Uniform([a, b]) => float(a + (b - a) * u),
        Dist::LogUniform([a, b]) => float((a.ln() + (b.ln() - a.ln()) * u).exp()),
        Dist::Int([a, b]) => {
            let span = (b - a + 1) as usize;
            (a + rng.below(span) as i64).to_string()
        }
    }
}

/// `--set` assignments for `params`.
pub fn overrides(params: &Params) -> Vec<String> {
    params.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// One line per key, for `--help`-like output and the report.
pub fn describe(space: &BTreeMap<String, Dist>) -> Vec<String> {
    space
        .iter()
        .map(|(k, d)| {
            let what = match d {
                Dist::Choice(v) => format!(
                    "one of {}",
                    v.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Dist::Uniform([a, b]) => format!("uniform in [{a}, {b}]"),
                Dist::LogUniform([a, b]) => format!("log-uniform in [{a}, {b}]"),
                Dist::Int([a, b]) => format!("an integer in [{a}, {b}]"),
            };
            format!("{k}: {what}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> BTreeMap<String, Dist> {
        BTreeMap::from([
            ("train.lr".to_string(), Dist::LogUniform([0.001, 0.1])),
            (
                "model.dim".to_string(),
                Dist::Choice(vec![32.into(), 64.into()]),
            ),
            ("train.epochs".to_string(), Dist::Int([3, 5])),
            ("model.dropout".to_string(), Dist::Uniform([0.0, 0.5])),
        ])
    }

    #[test]
    fn a_trial_draws_the_same_values_for_a_seed_and_other_values_for_another() {
        let s = space();
        assert_eq!(draw(&s, 7, 3), draw(&s, 7, 3));
        assert_ne!(draw(&s, 7, 3), draw(&s, 8, 3));
        assert_ne!(draw(&s, 7, 3), draw(&s, 7, 4));
        assert!(draw(&s, 7, 0).is_empty(), "trial 0 is the config as given");
    }

    #[test]
    fn drawn_values_stay_inside_their_distributions() {
        let s = space();
        for trial in 1..200 {
            let p = draw(&s, 1, trial);
            let lr: f64 = p["train.lr"].parse().unwrap();
            assert!((0.001..=0.1).contains(&lr), "{lr}");
            assert!(["32", "64"].contains(&p["model.dim"].as_str()));
            let e: i64 = p["train.epochs"].parse().unwrap();
            assert!((3..=5).contains(&e));
            let d: f64 = p["model.dropout"].parse().unwrap();
            assert!((0.0..=0.5).contains(&d));
        }
    }
}
