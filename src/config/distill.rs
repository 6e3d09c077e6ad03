//! `[distill]`: learn from a teacher model's probabilities on unlabelled text as well as from
//! the gold labels (knowledge distillation). Users own the pool already: the statements they
//! mean to label. The section names the teacher (a checkpoint, or the config that trains it),
//! the unlabelled files, the temperature and the weight between the two losses.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DistillConfig {
    /// The teacher's checkpoint folder (default: `model-best` of `teacher_config`'s run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher: Option<PathBuf>,
    /// The config that trains the teacher, run first when its checkpoint is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher_config: Option<PathBuf>,
    /// Unlabelled files whose texts the teacher labels for the student.
    pub pool: Vec<PoolConfig>,
    /// Softens both distributions before they are compared (Hinton et al.).
    pub temperature: f64,
    /// Weight of the soft-label loss; the gold loss gets 1 - alpha.
    pub alpha: f64,
    /// Whether the teacher's probabilities also guide the labelled training rows.
    pub on_train: bool,
    /// Where the teacher's probabilities are cached (default: `<output_dir>/teacher-cache`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// Perturbed copies of each labelled training text for the teacher to label (0 = none).
    pub augment: usize,
    /// In a copy, the probability of masking each word.
    pub augment_mask: f64,
    /// The probability that a copy keeps only a window of its sentence.
    pub augment_window: f64,
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            teacher: None,
            teacher_config: None,
            pool: Vec::new(),
            temperature: 2.0,
            alpha: 0.5,
            on_train: true,
            cache_dir: None,
            augment: 0,
            augment_mask: 0.1,
            augment_window: 0.25,
        }
    }
}

/// One `[[distill.pool]]` file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    pub path: PathBuf,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub quoting: bool,
    pub text_column: String,
    /// Each cell is a whole article: split it into sentences with the segmenter.
    pub articles: bool,
    /// Read at most this many rows of the file (0 = all).
    pub max_rows: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            path: PathBuf::new(),
            format: "auto".into(),
            delimiter: None,
            quoting: true,
            text_column: "text".into(),
            articles: false,
            max_rows: 0,
        }
    }
}

/// A checked `[distill]`: paths absolute, numbers in range.
#[derive(Debug, Clone, PartialEq)]
pub struct DistillSpec {
    pub teacher: PathBuf,
    pub teacher_config: Option<PathBuf>,
    pub pool: Vec<PoolSpec>,
    pub temperature: f64,
    pub alpha: f64,
    pub on_train: bool,
    pub cache_dir: PathBuf,
    pub augment: usize,
    pub augment_mask: f64,
    pub augment_window: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub path: PathBuf,
    pub format: String,
    pub delimiter: Option<u8>,
    pub quoting: bool,
    pub text_column: String,
    pub articles: bool,
    pub max_rows: usize,
}

/// Check `[distill]`; `err(key, message)` builds the error. The teacher's run folder, when
/// only its config is named, comes from that config (read here, so a wrong path fails early).
pub fn validate_distill(
    d: &mut DistillConfig,
    output_dir: &Path,
    sampling: super::Sampling,
    resolve: &dyn Fn(&Path) -> PathBuf,
    err: &dyn Fn(&str, String) -> crate::Error,
) -> crate::Result<DistillSpec> {
    if !(d.temperature.is_finite() && d.temperature > 0.0) {
        let m = format!("expected a temperature > 0, got {}", d.temperature);
        return Err(err("distill.temperature", m));
    }
    if !(0.0..=1.0).contains(&d.alpha) {
        let m = format!("expected a weight in [0, 1], got {}", d.alpha);
        return Err(err("distill.alpha", m));
    }
    if sampling == super::Sampling::Balanced {
        let m = "balanced sampling draws by gold label, and the pool's rows have none: use class_weights with [distill]";
        return Err(err("train.sampling", m.into()));
    }
    d.teacher_config = d.teacher_config.as_deref().map(resolve);
    d.teacher = d.teacher.as_deref().map(resolve);
    let teacher = match (&d.teacher, &d.teacher_config) {
        (Some(t), _) => t.clone(),
        (None, Some(c)) => {
            let teacher = nested(|| crate::config::load_config(c, &[])).ok_or_else(|| {
                err(
                    "distill.teacher_config",
                    "the teachers' configs name each other in a loop".into(),
                )
            })??;
            teacher.valid.run_dir().join("model-best")
        }
        (None, None) => {
            let m = "name the teacher's checkpoint (teacher) or the config that trains it (teacher_config)";
            return Err(err("distill.teacher", m.into()));
        }
    };
    if d.pool.is_empty() && !d.on_train {
        let m =
            "with no [[distill.pool]] file and on_train = false the teacher would teach nothing";
        return Err(err("distill.pool", m.into()));
    }
    let mut pool = Vec::new();
    for (i, p) in d.pool.iter_mut().enumerate() {
        let key = |k: &str| format!("distill.pool[{i}].{k}");
        if p.path.as_os_str().is_empty() {
            return Err(err(&key("path"), "name the unlabelled file".into()));
        }
        p.path = resolve(&p.path);
        let delimiter =
            super::sources::parse_delimiter(&p.delimiter).map_err(|m| err(&key("delimiter"), m))?;
        pool.push(PoolSpec {
            path: p.path.clone(),
            format: p.format.clone(),
            delimiter,
            quoting: p.quoting,
            text_column: p.text_column.clone(),
            articles: p.articles,
            max_rows: p.max_rows,
        });
    }
    // Saved configs (checkpoints, resume states) then name the teacher without reading its
    // config again.
    d.teacher = Some(teacher.clone());
    let cache_dir = match &d.cache_dir {
        Some(c) => resolve(c),
        None => output_dir.join("teacher-cache"),
    };
    Ok(DistillSpec {
        teacher,
        teacher_config: d.teacher_config.clone(),
        pool,
        temperature: d.temperature,
        alpha: d.alpha,
        on_train: d.on_train,
        cache_dir,
        augment: d.augment,
        augment_mask: d.augment_mask,
        augment_window: d.augment_window,
    })
}

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Run `f` one teacher config deeper; `None` past a depth only a loop reaches.
fn nested<T>(f: impl FnOnce() -> T) -> Option<T> {
    let depth = DEPTH.with(|d| d.get());
    if depth >= 8 {
        return None;
    }
    DEPTH.with(|d| d.set(depth + 1));
    let out = f();
    DEPTH.with(|d| d.set(depth));
    Some(out)
}

#[cfg(test)]
mod tests {
    use crate::config::parse_config;
    use std::path::Path;

    const BASE: &str = r#"
[data]
path = "d.csv"
[[tasks]]
name = "stance"
labels = ["a", "b"]
"#;

    fn refused(extra: &str) -> String {
        let text = format!("{BASE}{extra}");
        let e = parse_config(&text, Path::new("/cfg/run.toml"), &[]).unwrap_err();
        e.to_string()
    }

    #[test]
    fn distill_values_out_of_range_are_refused_naming_their_key() {
        let pool = "[[distill.pool]]\npath = \"p.csv\"\n";
        let t = "[distill]\nteacher = \"t\"\n";
        let e = refused(&format!("{t}temperature = 0.0\n{pool}"));
        assert!(e.contains("distill.temperature"), "{e}");
        let e = refused(&format!("{t}alpha = 1.5\n{pool}"));
        assert!(e.contains("distill.alpha"), "{e}");
        let e = refused(&format!("[distill]\n{pool}"));
        assert!(e.contains("distill.teacher"), "{e}");
        let e = refused(&format!("{t}on_train = false\n"));
        assert!(e.contains("distill.pool"), "{e}");
        let e = refused(&format!("[train]\nsampling = \"balanced\"\n{t}{pool}"));
        assert!(e.contains("train.sampling"), "{e}");
        let e = refused(&format!("{t}teacher_cfg = \"x.toml\"\n{pool}"));
        assert!(e.contains("teacher_cfg"), "{e}");
    }

    #[test]
    fn a_valid_distill_section_resolves_its_paths_and_defaults_its_cache() {
        let text =
            format!("{BASE}[distill]\nteacher = \"t\"\n[[distill.pool]]\npath = \"p.csv\"\n");
        let cfg = parse_config(&text, Path::new("/cfg/run.toml"), &[]).unwrap();
        let d = cfg.valid.distill.unwrap();
        assert_eq!(d.teacher, Path::new("/cfg/t"));
        assert_eq!(d.pool[0].path, Path::new("/cfg/p.csv"));
        assert_eq!(d.cache_dir, Path::new("/cfg/checkpoints/teacher-cache"));
        assert_eq!((d.temperature, d.alpha), (2.0, 0.5));
    }
}
