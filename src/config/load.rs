//! Reading a config file, applying `--set key=value` overrides, and turning serde's terse
//! "unknown field" into an error that names the section and suggests the nearest valid key.

use super::{types::ValidConfig, Config};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A parsed, overridden and validated config, with the text it came from (for hashing).
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub valid: ValidConfig,
    /// The resolved config serialised back to TOML: what the run actually used.
    pub resolved_toml: String,
}

impl LoadedConfig {
    /// Point the run at `run_dir` (absolute): output folder, run name, and an embedding cache
    /// that lived inside the old output folder. Used by a resumed run whose folder moved.
    pub fn relocate(&mut self, run_dir: &Path) -> Result<()> {
        let bad = || Error::Input(format!("{}: not a run folder path", run_dir.display()));
        let name = run_dir
            .file_name()
            .ok_or_else(bad)?
            .to_string_lossy()
            .into_owned();
        let parent = run_dir.parent().ok_or_else(bad)?.to_path_buf();
        let old = self.valid.output_dir.clone();
        let raw = &mut self.valid.raw;
        let cache = PathBuf::from(&raw.model.cache_dir);
        if let Ok(rest) = cache.strip_prefix(&old) {
            raw.model.cache_dir = parent.join(rest).display().to_string();
        }
        raw.run.name = name;
        raw.run.output_dir = parent.clone();
        self.valid.output_dir = parent;
        if let Some(p) = &mut self.valid.pretrained {
            if let Ok(rest) = p.cache_dir.strip_prefix(&old) {
                p.cache_dir = self.valid.output_dir.join(rest);
            }
        }
        self.resolved_toml =
            toml::to_string_pretty(&self.valid.raw).map_err(|e| Error::ConfigSyntax {
                path: self.valid.config_path.clone(),
                message: e.to_string(),
            })?;
        Ok(())
    }
}

/// Parse a config that stancekit itself saved (a checkpoint's or a resume state's
/// `config.toml`). Those written before `[model]` sections were typed hold every key of every
/// kind; the keys of other kinds are dropped first.
pub fn parse_saved_config(text: &str, path: &Path) -> Result<LoadedConfig> {
    let mut value: toml::Table =
        toml::from_str(text).map_err(|e| map_toml_error(&e, text, path))?;
    if let Some(toml::Value::Table(model)) = value.get_mut("model") {
        super::model::drop_other_kinds(model);
    }
    let cleaned = toml::to_string(&value).map_err(|e| Error::ConfigSyntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_config(&cleaned, path, &[])
}

/// Read `path`, apply `overrides` (`train.epochs=3`), validate.
pub fn load_config(path: &Path, overrides: &[String]) -> Result<LoadedConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_config(&text, path, overrides)
}

/// Parse config `text` as if read from `path` (relative paths resolve against its folder).
pub fn parse_config(text: &str, path: &Path, overrides: &[String]) -> Result<LoadedConfig> {
    let mut raw: Config = toml::from_str(text).map_err(|e| map_toml_error(&e, text, path))?;
    if !overrides.is_empty() {
        let mut value: toml::Value =
            toml::from_str(text).map_err(|e| map_toml_error(&e, text, path))?;
        for assignment in overrides {
            apply_override(&mut value, assignment)?;
        }
        raw = value.try_into().map_err(|e: toml::de::Error| {
            let (key, suggestion) = unknown_field(e.message());
            Error::BadOverride {
                assignment: overrides.join(" "),
                message: match key {
                    Some(k) => format!(
                        "unknown key `{k}`{}",
                        suggestion
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default()
                    ),
                    None => e.message().to_string(),
                },
            }
        })?;
    }
    // A bare file name has the empty parent, which cannot be made absolute: use ".".
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let valid = raw.validate(path, &base)?;
    let resolved_toml = toml::to_string_pretty(&valid.raw).map_err(|e| Error::ConfigSyntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(LoadedConfig {
        valid,
        resolved_toml,
    })
}

fn map_toml_error(e: &toml::de::Error, text: &str, path: &Path) -> Error {
    if let Some(err) = unknown_variant(e.message(), text, path) {
        return err;
    }
    let (key, suggestion) = unknown_field(e.message());
    match key {
        Some(key) => Error::UnknownKey {
            path: path.to_path_buf(),
            section: e
                .span()
                .map(|s| section_at(text, s.start))
                .unwrap_or_default(),
            key,
            suggestion,
        },
        None => {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let message = e.message().trim().to_string();
            Error::ConfigSyntax {
                path: path.to_path_buf(),
                message: match line {
                    Some(l) => format!("line {l}: {message}"),
                    None => message,
                },
            }
        }
    }
}

/// serde's "unknown variant `x`, expected `a` or `b`" for an enumerated value, as an error
/// that names the key: the line of `text` that sets a key to "x", in its section.
fn unknown_variant(message: &str, text: &str, path: &Path) -> Option<Error> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (value, expected) = rest.split_once('`')?;
    let expected = expected
        .trim_start_matches(", expected ")
        .trim_start_matches("one of ")
        .replace('`', "");
    let expected = match expected.rsplit_once(", ") {
        Some((head, last)) => format!("{head} or {last}"),
        None => expected,
    };
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let Some((key, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.split('#').next().unwrap_or("").trim();
        if v.trim_matches('"') == value && v.starts_with('"') {
            let mut section = section_at(text, here);
            // An array of tables is addressed by index, as the validation messages do.
            let header = format!("[[{section}]]");
            let entries = text[..here].lines().filter(|l| l.trim() == header).count();
            if entries > 0 {
                section = format!("{section}[{}]", entries - 1);
            }
            let key = key.trim();
            return Some(Error::ConfigValue {
                path: path.to_path_buf(),
                key: match section.is_empty() {
                    true => key.to_string(),
                    false => format!("{section}.{key}"),
                },
                message: format!("expected {expected}, got `{value}`"),
            });
        }
    }
    None
}

/// Pull the key and the nearest expected key out of serde's
/// "unknown field `x`, expected one of `a`, `b`" message.
fn unknown_field(message: &str) -> (Option<String>, Option<String>) {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return (None, None);
    };
    let Some(end) = rest.find('`') else {
        return (None, None);
    };
    let key = rest[..end].to_string();
    let expected: Vec<&str> = rest[end + 1..]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    let suggestion = nearest(&key, &expected).map(str::to_string);
    (Some(key), suggestion)
}

/// The candidate closest to `key` by edit distance, if it is close enough to be a typo.
pub(crate) fn nearest<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(key, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(key.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The `[section]` (or `[[section]]`) header in force at byte `offset`.
fn section_at(text: &str, offset: usize) -> String {
    text[..offset.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        .unwrap_or_default()
}

/// Apply one `a.b.c=value` override. The value is parsed as TOML (`3`, `true`, `[1, 2]`,
/// `"x"`), and taken as a plain string when it is not valid TOML (`--set run.name=foo`).
/// Array elements are addressed by index: `tasks.0.weight=2`.
fn apply_override(root: &mut toml::Value, assignment: &str) -> Result<()> {
    let bad = |message: &str| Error::BadOverride {
        assignment: assignment.to_string(),
        message: message.to_string(),
    };
    let (key, raw_value) = assignment
        .split_once('=')
        .ok_or_else(|| bad("expected KEY=VALUE, e.g. train.epochs=3"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("empty key"));
    }
    let value = toml::from_str::<toml::Table>(&format!("v = {}", raw_value.trim()))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw_value.trim().to_string()));
    let parts: Vec<&str> = key.split('.').collect();
    let mut node = root;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        node = match node {
            toml::Value::Table(t) => {
                if last {
                    t.insert(part.to_string(), value);
                    return Ok(());
                }
                t.entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            toml::Value::Array(a) => {
                let idx: usize = part
                    .parse()
                    .map_err(|_| bad(&format!("`{part}` is not an array index")))?;
                let len = a.len();
                let slot = a.get_mut(idx).ok_or_else(|| {
                    bad(&format!(
                        "index {idx} is out of range (array has {len} items)"
                    ))
                })?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            _ => return Err(bad(&format!("`{}` is not a table", parts[..i].join(".")))),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, overrides: &[&str]) -> Result<LoadedConfig> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        parse_config(text, Path::new("/tmp/cfg/x.toml"), &o)
    }

    const MINIMAL: &str = r#"
[data]
path = "data.csv"
[[tasks]]
name = "stance"
labels = ["a", "b"]
"#;

    #[test]
    fn unknown_key_names_section_and_suggests_nearest() {
        let text = format!("{MINIMAL}\n[train]\nepoch = 3\n");
        let err = parse(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("unknown key `epoch`"), "{err}");
        assert!(err.contains("[train]"), "{err}");
        assert!(err.contains("did you mean `epochs`"), "{err}");
    }

    #[test]
    fn unknown_top_level_section_is_an_error() {
        let err = parse(&format!("{MINIMAL}\n[trian]\nepochs = 3\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`trian`") && err.contains("did you mean `train`"),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = parse("[run]\nseed = = 3\n", &[]).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let err = parse(&format!("{MINIMAL}\n[train]\nepochs = \"many\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.toml"), "{err}");
    }

    #[test]
    fn overrides_set_nested_keys_and_array_items() {
        let cfg = parse(
            MINIMAL,
            &["train.epochs=3", "run.name=probe", "tasks.0.weight=2.5"],
        )
        .unwrap();
        assert_eq!(cfg.valid.raw.train.epochs, 3);
        assert_eq!(cfg.valid.raw.run.name, "probe");
        assert_eq!(cfg.valid.tasks[0].weight, 2.5);
        assert!(cfg.resolved_toml.contains("epochs = 3"));
    }

    #[test]
    fn override_with_unknown_key_suggests_nearest() {
        let err = parse(MINIMAL, &["train.epoch=3"]).unwrap_err().to_string();
        assert!(err.contains("did you mean `epochs`"), "{err}");
    }

    #[test]
    fn override_without_equals_is_rejected() {
        let err = parse(MINIMAL, &["train.epochs"]).unwrap_err().to_string();
        assert!(err.contains("KEY=VALUE"), "{err}");
    }

    #[test]
    fn override_into_out_of_range_task_is_rejected() {
        let err = parse(MINIMAL, &["tasks.3.weight=1"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn relative_paths_resolve_against_config_folder() {
        let cfg = parse(MINIMAL, &[]).unwrap();
        match &cfg.valid.source {
            crate::config::DataSource::Single(p) => {
                assert_eq!(p, Path::new("/tmp/cfg/data.csv"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cfg.valid.output_dir, Path::new("/tmp/cfg/checkpoints"));
    }

    #[test]
    fn nearest_ignores_far_candidates() {
        assert_eq!(nearest("zzzzzz", &["epochs", "lr"]), None);
        assert_eq!(nearest("lr_rate", &["lr", "epochs"]), None);
        assert_eq!(
            nearest("bach_size", &["batch_size", "lr"]),
            Some("batch_size")
        );
    }
}
