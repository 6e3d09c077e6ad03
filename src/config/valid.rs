//! Validation: the single place where config values are checked. Everything downstream takes a
//! `ValidConfig` and trusts it, so checks are not repeated (or forgotten) elsewhere.

use super::types::*;
use super::Config;
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::Path;

impl Config {
    /// Check every value once. `path` names the file in errors; `base` resolves relative paths.
    pub fn validate(mut self, path: &Path, base: &Path) -> Result<ValidConfig> {
        let err = |key: &str, message: String| Error::ConfigValue {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        // Absolute, so a resolved config saved elsewhere (a checkpoint, a resume folder) still
        // points at the same files.
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        let resolve = |p: &Path| {
            clean_path(&if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })
        };

        // [data]
        let (source, delimiter) = validate_data(&mut self.data, &resolve, &err)?;

        // [split]
        validate_split(&self.split, &err)?;
        validate_tune(&self.tune, &err)?;

        // [[tasks]]
        let tasks = validate_tasks(&self.tasks, &err)?;
        let stratify_task = match &self.split.stratify {
            None => 0,
            Some(name) => tasks.iter().position(|t| &t.name == name).ok_or_else(|| {
                err(
                    "split.stratify",
                    format!(
                        "`{name}` is not a task name (tasks: {})",
                        tasks
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
        };

        let primary_name = self.data.name.clone().unwrap_or_else(|| {
            let file = self.data.path.as_ref().or(self.data.train.as_ref());
            file.and_then(|p| p.file_stem())
                .map_or("data".into(), |s| s.to_string_lossy().into_owned())
        });
        let sources =
            super::sources::validate_sources(&mut self, &tasks, &primary_name, &resolve, &err)?;

        // [text]
        validate_text(&self.text, &err)?;

        // [model]
        let model = validate_model(&self.model, &err)?;
        if !self.model.vectors.is_empty() {
            self.model.vectors = resolve(Path::new(&self.model.vectors))
                .display()
                .to_string();
        }

        let pretrained = if model == ModelKind::Pretrained {
            let spec = self.pretrained_spec(&resolve, &err)?;
            self.model.path = spec.path.display().to_string();
            self.model.cache_dir = spec.cache_dir.display().to_string();
            Some(spec)
        } else {
            None
        };

        // [train]
        let (optimizer, schedule, device, class_weights) =
            super::valid_train::validate_train(&self.train, &tasks, &err)?;

        let output_dir = resolve(&self.run.output_dir);
        self.run.output_dir = output_dir.clone();
        let name = self.run.name.as_str();
        if name.trim().is_empty() || name.contains(['/', '\\', '\0']) || name == "." || name == ".."
        {
            return Err(err(
                "run.name",
                format!("expected a plain folder name (not `.` or `..`, no slashes), got `{name}`"),
            ));
        }
        let sampling = self.train.sampling;
        let distill = self
            .distill
            .as_mut()
            .map(|d| super::distill::validate_distill(d, &output_dir, sampling, &resolve, &err));
        let distill = distill.transpose()?;
        if let Err((key, message)) = super::limits::check_size(&self, model) {
            return Err(err(key, message));
        }
        Ok(ValidConfig {
            raw: self,
            config_path: path.to_path_buf(),
            source,
            delimiter,
            tasks,
            output_dir,
            model,
            pretrained,
            optimizer,
            schedule,
            device,
            class_weights,
            stratify_task,
            primary_name,
            sources,
            distill,
        })
    }
}

/// `[data]`: paths resolved against the config's folder, where the rows come from (one file
/// to split, or train/dev/test files), the format and the delimiter.
fn validate_data(
    d: &mut super::DataConfig,
    resolve: &dyn Fn(&Path) -> std::path::PathBuf,
    err: &dyn Fn(&str, String) -> Error,
) -> Result<(DataSource, Option<u8>)> {
    d.path = d.path.as_deref().map(resolve);
    d.train = d.train.as_deref().map(resolve);
    d.dev = d.dev.as_deref().map(resolve);
    d.test = d.test.as_deref().map(resolve);
    let source = match (&d.path, &d.train) {
        (Some(p), None) => {
            if d.dev.is_some() || d.test.is_some() {
                return Err(err("data.path", "give either data.path (split by [split]) or data.train/dev/test, not both".into()));
            }
            DataSource::Single(p.clone())
        }
        (None, Some(t)) => DataSource::Files {
            train: t.clone(),
            dev: d.dev.clone(),
            test: d.test.clone(),
        },
        (Some(_), Some(_)) => {
            return Err(err("data.path", "give either data.path or data.train, not both".into()))
        }
        (None, None) => {
            return Err(err("data.path", "no data: set data.path (one file to split) or data.train (with optional data.dev and data.test)".into()))
        }
    };
    if !["auto", "csv", "tsv", "jsonl", "ndjson", "parquet"].contains(&d.format.as_str()) {
        return Err(err(
            "data.format",
            format!(
                "expected auto, csv, tsv, jsonl or parquet, got `{}`",
                d.format
            ),
        ));
    }
    let delimiter =
        super::sources::parse_delimiter(&d.delimiter).map_err(|m| err("data.delimiter", m))?;
    if d.text_column.trim().is_empty() {
        return Err(err("data.text_column", "must name the text column".into()));
    }
    Ok((source, delimiter))
}

/// `[tune]`: at least two folds, and distributions over tunable keys only.
fn validate_tune(t: &super::TuneConfig, err: &dyn Fn(&str, String) -> Error) -> Result<()> {
    if t.folds < 2 {
        return Err(err(
            "tune.folds",
            format!("expected at least 2, got {}", t.folds),
        ));
    }
    for (key, dist) in &t.space {
        let section = key.split('.').next().unwrap_or("");
        if !super::TUNABLE_SECTIONS.contains(&section) || !key.contains('.') {
            return Err(err(
                &format!("tune.space.\"{key}\""),
                "only [text], [model] and [train] keys can be searched, written as \"section.key\""
                    .into(),
            ));
        }
        if let Some(problem) = dist.problem() {
            return Err(err(&format!("tune.space.\"{key}\""), problem));
        }
    }
    Ok(())
}

/// `[split]`: fractions that leave rows for training.
fn validate_split(s: &super::SplitConfig, err: &dyn Fn(&str, String) -> Error) -> Result<()> {
    for (key, v) in [("split.dev", s.dev), ("split.test", s.test)] {
        if !(0.0..1.0).contains(&v) {
            return Err(err(key, format!("expected a fraction in [0, 1), got {v}")));
        }
    }
    if s.folds == 1 {
        return Err(err(
            "split.folds",
            "cross-validation needs at least 2 folds (0 turns it off)".into(),
        ));
    }
    if s.fold > 0 && s.fold >= s.folds {
        return Err(err(
            "split.fold",
            format!(
                "fold {} does not exist: folds are numbered 0 to split.folds - 1 ({})",
                s.fold,
                s.folds.saturating_sub(1)
            ),
        ));
    }
    if s.dev + s.test >= 1.0 {
        return Err(err(
            "split.dev",
            format!(
                "split.dev + split.test must leave rows for training, got {}",
                s.dev + s.test
            ),
        ));
    }
    Ok(())
}

/// `[[tasks]]`: names, labels, label maps, policies and weights, checked into task specs.
fn validate_tasks(
    tasks_in: &[super::TaskConfig],
    err: &dyn Fn(&str, String) -> Error,
) -> Result<Vec<TaskSpec>> {
    if tasks_in.is_empty() {
        return Err(err(
            "tasks",
            "no [[tasks]]: add at least one table with name and labels".into(),
        ));
    }
    let mut names = BTreeSet::new();
    let mut tasks = Vec::new();
    for (i, t) in tasks_in.iter().enumerate() {
        let key = |k: &str| format!("tasks[{i}].{k}");
        if t.name.trim().is_empty() {
            return Err(err(&key("name"), "every task needs a name".into()));
        }
        if !names.insert(t.name.clone()) {
            return Err(err(
                &key("name"),
                format!("task `{}` is defined twice", t.name),
            ));
        }
        if t.labels.is_empty() {
            return Err(err(&key("labels"), format!("task `{}` has no labels; list them in order, e.g. labels = [\"negative\", \"positive\"]", t.name)));
        }
        let set: BTreeSet<&String> = t.labels.iter().collect();
        if set.len() != t.labels.len() {
            return Err(err(
                &key("labels"),
                format!("task `{}` lists a label twice", t.name),
            ));
        }
        for (from, to) in &t.label_map {
            if !set.contains(to) {
                return Err(err(
                    &key("label_map"),
                    format!(
                        "`{from}` maps to `{to}`, which is not in labels {:?}",
                        t.labels
                    ),
                ));
            }
        }
        let unknown =
            UnknownPolicy::parse(&t.unknown, &t.labels).map_err(|m| err(&key("unknown"), m))?;
        let missing = t.missing;
        if !(t.weight.is_finite() && t.weight >= 0.0) {
            return Err(err(
                &key("weight"),
                format!("expected a weight >= 0, got {}", t.weight),
            ));
        }
        tasks.push(TaskSpec {
            name: t.name.clone(),
            column: t.column.clone().unwrap_or_else(|| t.name.clone()),
            labels: t.labels.clone(),
            label_map: t.label_map.clone(),
            unknown,
            missing,
            weight: t.weight,
        });
    }
    Ok(tasks)
}

/// `[text]`: n-gram ranges, buckets and counts.
fn validate_text(x: &super::TextConfig, err: &dyn Fn(&str, String) -> Error) -> Result<()> {
    if x.word_ngrams == 0 {
        return Err(err(
            "text.word_ngrams",
            "expected 1 or more (1 = unigrams only)".into(),
        ));
    }
    if x.char_ngrams_max > 0 && (x.char_ngrams_min == 0 || x.char_ngrams_min > x.char_ngrams_max) {
        return Err(err(
            "text.char_ngrams_min",
            format!(
                "expected 1 <= char_ngrams_min <= char_ngrams_max, got {}..{}",
                x.char_ngrams_min, x.char_ngrams_max
            ),
        ));
    }
    let uses_buckets = x.word_ngrams > 1 || x.char_ngrams_max > 0;
    if uses_buckets && x.buckets == 0 {
        return Err(err(
            "text.buckets",
            "n-grams are hashed into buckets: expected buckets > 0".into(),
        ));
    }
    if x.min_count == 0 || x.max_tokens == 0 {
        return Err(err(
            if x.min_count == 0 {
                "text.min_count"
            } else {
                "text.max_tokens"
            },
            "expected a value >= 1".into(),
        ));
    }
    Ok(())
}

/// `[model]`: sizes and shapes of the architecture (a pretrained encoder's settings are
/// checked by `pretrained_spec`).
fn validate_model(
    m: &super::ModelConfig,
    err: &dyn Fn(&str, String) -> Error,
) -> Result<ModelKind> {
    let model = match m.kind.as_str() {
        "bow" => ModelKind::Bow,
        "cnn" => ModelKind::Cnn,
        "transformer" => ModelKind::Transformer,
        "pretrained" => ModelKind::Pretrained,
        other => {
            return Err(err(
                "model.kind",
                format!("expected bow, cnn, transformer or pretrained, got `{other}`"),
            ))
        }
    };
    if m.dim == 0 {
        return Err(err("model.dim", "expected an embedding size >= 1".into()));
    }
    if !(0.0..1.0).contains(&m.dropout) {
        return Err(err(
            "model.dropout",
            format!("expected a probability in [0, 1), got {}", m.dropout),
        ));
    }
    if !(0.0..1.0).contains(&m.ngram_dropout) {
        return Err(err(
            "model.ngram_dropout",
            format!("expected a probability in [0, 1), got {}", m.ngram_dropout),
        ));
    }
    if !(m.bias_lr.is_finite() && m.bias_lr >= 0.0) {
        return Err(err(
            "model.bias_lr",
            format!("expected a factor >= 0, got {}", m.bias_lr),
        ));
    }
    if m.linear && (m.hidden > 0 || m.dropout > 0.0) {
        return Err(err(
            "model.linear",
            "a linear bow has no hidden layer and no pooled dropout: set model.hidden = 0 and \
             model.dropout = 0 (model.ngram_dropout regularises it instead)"
                .into(),
        ));
    }
    if m.linear && !m.vectors.is_empty() {
        return Err(err(
            "model.vectors",
            "a linear bow's table holds one column per label, not word vectors: set \
             model.linear = false (with model.dim the encoder's width) or drop model.vectors"
                .into(),
        ));
    }
    if model == ModelKind::Cnn
        && (m.kernel_sizes.is_empty() || m.kernel_sizes.contains(&0) || m.filters == 0)
    {
        return Err(err(
            "model.kernel_sizes",
            "cnn needs filters >= 1 and non-empty kernel_sizes >= 1".into(),
        ));
    }
    if model == ModelKind::Transformer {
        if m.heads == 0 || !m.dim.is_multiple_of(m.heads) {
            return Err(err(
                "model.heads",
                format!(
                    "model.dim ({}) must be divisible by model.heads ({})",
                    m.dim, m.heads
                ),
            ));
        }
        if m.layers == 0 || m.ff_dim == 0 {
            return Err(err(
                "model.layers",
                "transformer needs layers >= 1 and ff_dim >= 1".into(),
            ));
        }
    }
    Ok(model)
}
