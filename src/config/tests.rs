use super::*;
use std::path::Path;

const TASK: &str = "[[tasks]]\nname = \"stance\"\nlabels = [\"a\", \"b\"]\n";

fn err_of(text: &str) -> String {
    match parse_config(text, Path::new("/cfg/run.toml"), &[]) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_validation_error_names_its_key_and_expectation() {
    let data = "[data]\npath = \"d.csv\"\n";
    let cases: &[(&str, &str, &str)] = &[
        ("[data]\ntext_column = \"t\"\n", "data.path", "no data"),
        (
            "[data]\npath = \"a\"\ntrain = \"b\"\n",
            "data.path",
            "not both",
        ),
        (
            "[data]\npath = \"a\"\ndev = \"b\"\n",
            "data.path",
            "not both",
        ),
        (
            "[data]\npath = \"a\"\nformat = \"xlsx\"\n",
            "data.format",
            "expected auto, csv",
        ),
        (
            "[data]\npath = \"a\"\ndelimiter = \";;\"\n",
            "data.delimiter",
            "one ASCII character",
        ),
        (
            "[data]\npath = \"a\"\ntext_column = \" \"\n",
            "data.text_column",
            "must name",
        ),
        ("[split]\ndev = 1.5\n", "split.dev", "fraction"),
        (
            "[split]\ndev = 0.6\ntest = 0.5\n",
            "split.dev",
            "leave rows for training",
        ),
        (
            "[split]\nstratify = \"topic\"\n",
            "split.stratify",
            "not a task name",
        ),
        (
            "[text]\nnormalize = \"nfd\"\n",
            "text.normalize",
            "nfkc or none",
        ),
        ("[text]\nword_ngrams = 0\n", "text.word_ngrams", "1 or more"),
        (
            "[text]\nchar_ngrams_min = 5\nchar_ngrams_max = 3\n",
            "text.char_ngrams_min",
            "<= char_ngrams_max",
        ),
        ("[text]\nbuckets = 0\n", "text.buckets", "buckets > 0"),
        ("[text]\nmin_count = 0\n", "text.min_count", ">= 1"),
        (
            "[model]\nkind = \"lstm\"\n",
            "model.kind",
            "bow, cnn, transformer or pretrained",
        ),
        (
            "[model]\nkind = \"pretrained\"\n",
            "model.path",
            "needs the encoder folder",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\nmode = \"thaw\"\n",
            "model.mode",
            "frozen or finetune",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\npooling = \"max\"\n",
            "model.pooling",
            "mean or cls",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\ndropout_samples = 0\n",
            "model.dropout_samples",
            "at least 1",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\nmode = \"finetune\"\nencoder_dropout = 1.0\n",
            "model.encoder_dropout",
            "[0, 1)",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\nencoder_dropout = 0.1\n",
            "model.encoder_dropout",
            "frozen",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\npool_layers = 0\n",
            "model.pool_layers",
            "at least 1",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\nkernels = \"quick\"\n",
            "model.kernels",
            "exact or fast",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\nmax_seq_len = 1\n",
            "model.max_seq_len",
            "at least 2",
        ),
        (
            "[model]\nkind = \"pretrained\"\npath = \"enc\"\nmode = \"finetune\"\n[train]\nencoder_lr = 0.0\n",
            "train.encoder_lr",
            "> 0",
        ),
        ("[model]\ndim = 0\n", "model.dim", ">= 1"),
        ("[model]\ndropout = 1.0\n", "model.dropout", "[0, 1)"),
        (
            "[model]\nkind = \"cnn\"\nkernel_sizes = []\n",
            "model.kernel_sizes",
            "non-empty",
        ),
        (
            "[model]\nkind = \"transformer\"\ndim = 30\nheads = 4\n",
            "model.heads",
            "divisible",
        ),
        ("[train]\nepochs = 0\n", "train.epochs", "both are 0"),
        (
            "[train]\nlayer_lr_decay = 0.0\n",
            "train.layer_lr_decay",
            "(0, 1]",
        ),
        (
            "[train]\nsampling = \"balanced\"\nclass_weights = \"balanced\"\n",
            "train.sampling",
            "use one",
        ),
        ("[split]\nfolds = 1\n", "split.folds", "at least 2"),
        ("[split]\nfolds = 3\nfold = 3\n", "split.fold", "does not exist"),
        ("[tune]\nfolds = 1\n", "tune.folds", "at least 2"),
        ("[train]\nbatch_size = 0\n", "train.batch_size", ">= 1"),
        ("[train]\nlr = -1.0\n", "train.lr", "> 0"),
        (
            "[train]\nmomentum = 1.0\n",
            "train.momentum",
            "momentum < 1",
        ),
        (
            "[train]\nlabel_smoothing = 1.0\n",
            "train.label_smoothing",
            "[0, 1)",
        ),
        (
            "[train]\nfraction = 1.5\n",
            "train.fraction",
            "(0, 1]",
        ),
        (
            "[train]\nthreshold_precision = 0.0\n",
            "train.threshold_precision",
            "(0, 1]",
        ),
        (
            "[train]\nthresholds = \"max\"\n",
            "train.thresholds",
            "none, f1 or precision",
        ),
        (
            "[train]\noptimizer = \"lbfgs\"\n",
            "train.optimizer",
            "adamw or sgd",
        ),
        (
            "[train]\nschedule = \"step\"\n",
            "train.schedule",
            "constant, linear or cosine",
        ),
        (
            "[train]\ndevice = \"tpu\"\n",
            "train.device",
            "cpu, cuda or auto",
        ),
        (
            "[train]\nearly_stopping_metric = \"stance.auc\"\n",
            "train.early_stopping_metric",
            "<task>.<metric>",
        ),
        (
            "[train]\nclass_weights = \"inverse\"\n",
            "train.class_weights",
            "balanced",
        ),
        (
            "[train]\nclass_weights = { stance = { c = 2.0 } }\n",
            "train.class_weights",
            "not a label",
        ),
        (
            "[train]\nclass_weights = { topic = { a = 2.0 } }\n",
            "train.class_weights",
            "not a task",
        ),
        ("[run]\nname = \"a/b\"\n", "run.name", "plain folder name"),
        (
            "[model]\nlinear = true\nhidden = 8\n",
            "model.linear",
            "no hidden layer",
        ),
        (
            "[model]\nlinear = true\ndropout = 0.2\n",
            "model.linear",
            "ngram_dropout regularises",
        ),
        (
            "[model]\nngram_dropout = 1.0\n",
            "model.ngram_dropout",
            "[0, 1)",
        ),
        ("[model]\nbias_lr = -1.0\n", "model.bias_lr", ">= 0"),
        (
            "[text]\nnorm = \"l1\"\n",
            "text.norm",
            "mean or l2",
        ),
        (
            "[train]\nlr = 8.0\nweight_decay = 0.2\n",
            "train.weight_decay",
            "lr * weight_decay < 1",
        ),
    ];
    for (snippet, key, message) in cases {
        let text = if snippet.starts_with("[data]") {
            format!("{snippet}{TASK}")
        } else {
            format!("{data}{snippet}{TASK}")
        };
        let err = err_of(&text);
        assert!(err.contains("/cfg/run.toml"), "no file in: {err}");
        assert!(
            err.contains(&format!("`{key}`")),
            "expected key {key} in: {err}"
        );
        assert!(err.contains(message), "expected `{message}` in: {err}");
    }
}

#[test]
fn task_errors_name_the_task_entry() {
    let data = "[data]\npath = \"d.csv\"\n";
    let cases: &[(&str, &str, &str)] = &[
        ("", "tasks", "no [[tasks]]"),
        ("[[tasks]]\nlabels = [\"a\"]\n", "tasks[0].name", "needs a name"),
        ("[[tasks]]\nname = \"s\"\n", "tasks[0].labels", "has no labels"),
        ("[[tasks]]\nname = \"s\"\nlabels = [\"a\", \"a\"]\n", "tasks[0].labels", "twice"),
        (
            "[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\n[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\n",
            "tasks[1].name",
            "defined twice",
        ),
        ("[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\nlabel_map = { X = \"z\" }\n", "tasks[0].label_map", "not in labels"),
        ("[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\nunknown = \"skip\"\n", "tasks[0].unknown", "error, drop or map:<label>"),
        ("[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\nunknown = \"map:z\"\n", "tasks[0].unknown", "not in labels"),
        ("[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\nmissing = \"drop\"\n", "tasks[0].missing", "error or ignore"),
        ("[[tasks]]\nname = \"s\"\nlabels = [\"a\"]\nweight = -1.0\n", "tasks[0].weight", ">= 0"),
    ];
    for (snippet, key, message) in cases {
        let err = err_of(&format!("{data}{snippet}"));
        assert!(
            err.contains(&format!("`{key}`")),
            "expected key {key} in: {err}"
        );
        assert!(err.contains(message), "expected `{message}` in: {err}");
    }
}

#[test]
fn defaults_validate_with_only_data_and_a_task() {
    let cfg = parse_config(
        &format!("[data]\npath = \"d.csv\"\n{TASK}"),
        Path::new("/cfg/run.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(cfg.valid.model, ModelKind::Bow);
    assert_eq!(cfg.valid.tasks[0].column, "stance");
    assert_eq!(cfg.valid.run_dir(), Path::new("/cfg/checkpoints/run"));
}

#[test]
fn a_config_named_by_a_bare_file_name_saved_relative_data_paths_into_its_checkpoint() {
    let cfg = parse_config(
        &format!("[data]\npath = \"d.csv\"\n{TASK}"),
        Path::new("run.toml"),
        &[],
    )
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(cfg.valid.data_files(), vec![cwd.join("d.csv")]);
    assert!(cfg.valid.run_dir().is_absolute());
    assert_eq!(cfg.valid.split_seed(), cfg.valid.raw.run.seed);
}

#[test]
fn reference_config_parses_and_mentions_every_key() {
    let cfg = parse_config(
        REFERENCE_CONFIG,
        Path::new("/cfg/configs/reference.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(cfg.valid.tasks.len(), 2);
    // Every key of every section must appear (commented or not) in the reference.
    let mut with_source = Config {
        tasks: vec![TaskConfig::default()],
        ..Config::default()
    };
    with_source.data.sources = vec![super::SourceConfig {
        tasks: Some(vec![]),
        delimiter: Some(",".into()),
        group_column: Some("g".into()),
        id_column: Some("i".into()),
        ..Default::default()
    }];
    with_source.distill = Some(super::DistillConfig {
        teacher: Some("t".into()),
        teacher_config: Some("t.toml".into()),
        cache_dir: Some("c".into()),
        pool: vec![super::PoolConfig {
            delimiter: Some(",".into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    let full: toml::Value = toml::Value::try_from(with_source).unwrap();
    let mut keys = vec![
        "path",
        "train",
        "dev",
        "test",
        "delimiter",
        "group_column",
        "id_column",
        "stratify",
        "folds",
        "fold",
        "space",
        "column",
        "name",
    ];
    let mut owned = Vec::new();
    if let toml::Value::Table(t) = &full {
        for (_, section) in t {
            let tables: Vec<&toml::Table> = match section {
                toml::Value::Table(s) => vec![s],
                toml::Value::Array(a) => a.iter().filter_map(|v| v.as_table()).collect(),
                _ => vec![],
            };
            for s in tables {
                owned.extend(s.keys().cloned());
                // [[data.sources]] entries have keys of their own.
                for nested in s.values().filter_map(|v| v.as_array()) {
                    for t in nested.iter().filter_map(|v| v.as_table()) {
                        owned.extend(t.keys().cloned());
                    }
                }
            }
        }
    }
    // [model] writes only its kind's keys: add every kind's.
    for kind in ["bow", "cnn", "transformer", "pretrained"] {
        let m = ModelConfig {
            kind: kind.into(),
            ..ModelConfig::default()
        };
        if let toml::Value::Table(t) = toml::Value::try_from(&m).unwrap() {
            owned.extend(t.keys().cloned());
        }
    }
    keys.extend(owned.iter().map(String::as_str));
    for key in keys {
        let (assign, table) = (format!("{key} ="), format!(".{key}]"));
        let array = format!(".{key}]]");
        assert!(
            REFERENCE_CONFIG.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&assign) || l.ends_with(&table) || l.ends_with(&array)
            }),
            "configs/reference.toml does not explain `{key}`"
        );
    }
}

#[test]
fn shipped_configs_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            load_config(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn a_raw_label_resolves_through_the_map_then_the_unknown_policy() {
    let mut task = TaskSpec {
        name: "stance".into(),
        column: "stance".into(),
        labels: vec!["a".into(), "b".into()],
        label_map: [("1".to_string(), "b".to_string())].into_iter().collect(),
        unknown: UnknownPolicy::Error,
        missing: MissingPolicy::Error,
        weight: 1.0,
    };
    assert_eq!(task.mapped("1"), "b");
    assert_eq!(task.mapped("z"), "z");
    assert_eq!((task.resolve("a"), task.resolve("1")), (Some(0), Some(1)));
    assert_eq!(task.resolve("z"), None);
    task.unknown = UnknownPolicy::Map("a".into());
    assert_eq!(task.resolve("z"), Some(0));
}
