//! Training end to end on a tiny corpus made here: every architecture overfits it, a saved
//! model predicts exactly as before saving, batched equals unbatched, runs are bit-identical,
//! a resumed run equals a straight one, and a diverging run is stopped.

use stancekit::checkpoint;
use stancekit::config::{parse_config, LoadedConfig};
use stancekit::eval::predict;
use stancekit::train::{resume, train, TrainOptions};
use std::fs;
use std::path::Path;

/// 8 statements per class, each class with its own words, plus shared filler; the sentiment
/// label is missing on some rows (missing = "ignore").
fn corpus(dir: &Path) {
    let classes = [
        (
            "condemnation",
            "negative",
            ["condemned", "denounced", "deplored", "protested"],
        ),
        (
            "cooperation",
            "positive",
            ["agreed", "signed", "pledged", "partnered"],
        ),
        (
            "invitation",
            "positive",
            ["invited", "welcomed", "hosted", "asked"],
        ),
    ];
    let actors = [
        "Ghana", "Peru", "Japan", "Chile", "Kenya", "Oman", "Nepal", "Fiji",
    ];
    let mut body = String::from("article,text,stance,sentiment\n");
    for (c, (stance, sentiment, verbs)) in classes.iter().enumerate() {
        for (i, actor) in actors.iter().enumerate() {
            let verb = verbs[i % verbs.len()];
            let sent = if i % 4 == 3 { "" } else { sentiment };
            body.push_str(&format!(
                "a{c}{i},{actor} {verb} the {stance} move on day {i},{stance},{sent}\n"
            ));
        }
    }
    fs::write(dir.join("tiny.csv"), body).unwrap();
}

fn config(dir: &Path, kind: &str, extra: &[&str]) -> LoadedConfig {
    // Each kind's [model] section takes its own keys only.
    let own = match kind {
        "cnn" => "filters = 8\nkernel_sizes = [2, 3]\n",
        "transformer" => "layers = 1\nheads = 2\nff_dim = 32\n",
        _ => "",
    };
    let text = format!(
        r#"
[run]
name = "{kind}"
seed = 3
output_dir = "runs"
[data]
train = "tiny.csv"
dev = "tiny.csv"
group_column = "article"
[[tasks]]
name = "stance"
labels = ["condemnation", "cooperation", "invitation"]
[[tasks]]
name = "sentiment"
labels = ["negative", "positive"]
missing = "ignore"
[text]
buckets = 5000
max_tokens = 16
[model]
kind = "{kind}"
dim = 16
{own}dropout = 0.1
[train]
epochs = 30
batch_size = 4
lr = 0.02
threads = 1
"#
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    parse_config(&text, &dir.join("run.toml"), &overrides).unwrap()
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    }
}

const KINDS: [&str; 3] = ["bow", "cnn", "transformer"];

/// bow as a linear model over idf-weighted, pruned, L2-normalised bags, with n-gram dropout
/// and weight decay: the settings that bring every new part of the bow path into play.
const LINEAR_TFIDF: [&str; 8] = [
    "model.linear=true",
    "model.dropout=0.0",
    "model.ngram_dropout=0.1",
    "text.idf=true",
    "text.sublinear_tf=true",
    "text.norm=\"l2\"",
    "text.min_df=1",
    "train.weight_decay=0.05",
];

/// Each architecture, plus bow's linear TF-IDF mode and cnn on length-grouped batches, with
/// the overrides that select them.
fn variants() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut v: Vec<(&str, Vec<&str>)> = KINDS.iter().map(|k| (*k, vec![])).collect();
    v.push(("bow", LINEAR_TFIDF.to_vec()));
    v.push(("cnn", vec!["train.group_by_length=true"]));
    v
}

fn with(base: &[&'static str], extra: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(extra).copied().collect()
}

#[test]
fn every_architecture_overfits_a_tiny_set() {
    for (kind, variant) in variants() {
        let dir = tempfile::tempdir().unwrap();
        corpus(dir.path());
        // Attention needs a gentler rate than a bag of words.
        let extra: &[&str] = if kind == "transformer" {
            &["train.lr=0.005"]
        } else {
            &[]
        };
        let s = train(config(dir.path(), kind, &with(&variant, extra)), &quiet()).unwrap();
        let acc = s.dev["stance"].accuracy;
        assert_eq!(
            acc, 1.0,
            "{kind} reached only {acc} on its own training data"
        );
        assert_eq!(
            s.dev["sentiment"].n, 18,
            "{kind}: rows without a sentiment label are not scored"
        );
    }
}

/// A freshly built model for `cfg`'s kind, with one 3-label and one 2-label task.
fn built(
    cfg: &LoadedConfig,
    pipeline: &stancekit::text::TextPipeline,
) -> Box<dyn stancekit::model::Classifier> {
    use stancekit::model::{build, ModelSpec};
    let spec = ModelSpec {
        kind: cfg.valid.model,
        config: &cfg.valid.raw.model,
        pipeline,
        encoder: None,
        heads: &[3, 2],
        seed: 1,
    };
    build(&spec, &candle_core::Device::Cpu).unwrap()
}

/// The model as it is in memory after some training steps, its text pipeline and config.
fn trained_in_memory(
    dir: &Path,
    kind: &str,
    variant: &[&'static str],
) -> (
    Box<dyn stancekit::model::Classifier>,
    stancekit::text::TextPipeline,
    LoadedConfig,
) {
    use stancekit::optim::Optimizer;
    let cfg = config(dir, kind, variant);
    let texts = [
        "Peru condemned the move",
        "Fiji was invited to the talks",
        "agreed",
    ];
    let pipeline = stancekit::text::TextPipeline::fit(&cfg.valid.raw.text, texts);
    let mut model = built(&cfg, &pipeline);
    let vars = stancekit::model::sorted_vars(model.varmap());
    let t = &cfg.valid.raw.train;
    let mut opt = Optimizer::new(cfg.valid.optimizer, t.weight_decay, t.momentum, vars).unwrap();
    let feats: Vec<_> = texts.iter().map(|t| pipeline.features(t)).collect();
    let refs: Vec<_> = feats.iter().collect();
    // A few steps of a loss that moves every weight, so the test is not of a fresh init.
    for _ in 0..3 {
        let batch = model.batch(&refs, true).unwrap();
        let logits = model.forward_t(&batch, true).unwrap();
        let loss = logits
            .iter()
            .map(|l| l.sqr().unwrap().sum_all().unwrap())
            .reduce(|a, b| (a + b).unwrap())
            .unwrap();
        let grads = loss.backward().unwrap();
        opt.step_dense(&grads, 0.05, 1.0).unwrap();
        if let Some(g) = model.sparse_grad(&batch, &grads).unwrap() {
            model.step_sparse(&batch, &g, &opt, 0.05, 1.0);
        }
    }
    (model, pipeline, cfg)
}

#[test]
fn a_saved_model_predicts_like_the_model_in_memory_and_batched_equals_unbatched() {
    for (kind, variant) in variants() {
        let dir = tempfile::tempdir().unwrap();
        corpus(dir.path());
        let (model, pipeline, cfg) = trained_in_memory(dir.path(), kind, &variant);
        let file = checkpoint::PipelineFile {
            format_version: checkpoint::FORMAT_VERSION,
            tasks: cfg
                .valid
                .tasks
                .iter()
                .map(|t| checkpoint::TaskLabels {
                    name: t.name.clone(),
                    labels: t.labels.clone(),
                    thresholds: None,
                })
                .collect(),
            text: pipeline.clone(),
        };
        let manifest = checkpoint::Manifest {
            format_version: checkpoint::FORMAT_VERSION,
            crate_version: String::new(),
            model_kind: kind.into(),
            seed: 3,
            threads: 1,
            device: "cpu".into(),
            step: 3,
            data: Vec::new(),
            config_sha256: String::new(),
            weights_sha256: String::new(),
            pipeline_sha256: None,
            metrics: Default::default(),
            train_seconds: 0.0,
            encoder: None,
            distill: None,
            ensemble: None,
        };
        let saved = dir.path().join("saved");
        let weights = model.named_weights().unwrap();
        checkpoint::save(&saved, weights, &file, &cfg.resolved_toml, manifest).unwrap();
        let loaded = checkpoint::load(&saved, &candle_core::Device::Cpu).unwrap();
        let texts = [
            "Peru condemned the move",
            "Fiji was invited to the talks in Suva on day 9",
            "",
            "agreed",
        ];
        let in_memory = predict(model.as_ref(), &pipeline, &texts, 4).unwrap();
        let reloaded = loaded.predict(&texts, 4).unwrap().probs;
        assert_eq!(
            in_memory, reloaded,
            "{kind} {variant:?}: the saved model predicts otherwise than the one in memory"
        );
        let one_by_one = predict(model.as_ref(), &pipeline, &texts, 1).unwrap();
        for t in 0..2 {
            assert_eq!(in_memory.argmax(t), one_by_one.argmax(t), "{kind}");
            for (x, y) in in_memory.probs[t]
                .iter()
                .flatten()
                .zip(one_by_one.probs[t].iter().flatten())
            {
                assert!((x - y).abs() < 1e-5, "{kind}: batched {x} vs unbatched {y}");
            }
        }
    }
}

#[test]
fn two_runs_give_identical_weights() {
    for (kind, variant) in variants() {
        let hashes: Vec<String> = (0..2)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                corpus(dir.path());
                let extra = with(&variant, &["train.epochs=3"]);
                train(config(dir.path(), kind, &extra), &quiet())
                    .unwrap()
                    .weights_sha256
            })
            .collect();
        assert_eq!(hashes[0], hashes[1], "{kind} is not reproducible");
    }
}

#[test]
fn a_different_seed_gives_different_weights() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let a = train(config(dir.path(), "bow", &["train.epochs=2"]), &quiet()).unwrap();
    let b = train(
        config(dir.path(), "bow", &["train.epochs=2", "run.seed=4"]),
        &quiet(),
    )
    .unwrap();
    assert_ne!(a.weights_sha256, b.weights_sha256);
}

#[test]
fn resuming_after_an_interruption_gives_the_same_weights_as_a_straight_run() {
    for (kind, variant) in variants() {
        let dir = tempfile::tempdir().unwrap();
        corpus(dir.path());
        let extra = with(
            &variant,
            &[
                "train.epochs=3",
                "train.schedule=\"linear\"",
                "train.warmup_steps=2",
            ],
        );
        let straight = train(config(dir.path(), kind, &extra), &quiet()).unwrap();
        let last = fs::read(straight.run_dir.join("model-last/model.safetensors")).unwrap();

        let dir2 = tempfile::tempdir().unwrap();
        corpus(dir2.path());
        let cfg = config(dir2.path(), kind, &extra);
        let run = cfg.valid.run_dir();
        // Stop mid-epoch (6 steps per epoch), then again across an epoch boundary.
        let stop = TrainOptions {
            stop_after_steps: Some(4),
            ..quiet()
        };
        assert!(matches!(
            train(cfg, &stop),
            Err(stancekit::Error::Interrupted)
        ));
        assert!(run.join("resume/state.json").is_file());
        assert!(matches!(
            resume(&run, &stop),
            Err(stancekit::Error::Interrupted)
        ));
        let resumed = resume(&run, &quiet()).unwrap();
        assert_eq!(resumed.steps, straight.steps);
        let resumed_last = fs::read(run.join("model-last/model.safetensors")).unwrap();
        assert!(
            resumed_last == last,
            "{kind}: resumed weights differ from a straight run"
        );
        assert_eq!(
            resumed.weights_sha256, straight.weights_sha256,
            "{kind}: model-best differs"
        );
        assert!(
            !run.join("resume").exists(),
            "resume state is removed once the run completes"
        );
    }
}

#[test]
fn a_diverging_loss_stops_training_and_names_the_step() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    // A rate this large overflows f32 within a few steps.
    let cfg = config(
        dir.path(),
        "bow",
        &["train.lr=1e38", "train.optimizer=\"sgd\""],
    );
    match train(cfg, &quiet()) {
        Err(stancekit::Error::NonFiniteLoss { step, hint, .. }) => {
            assert!(step >= 1);
            assert!(hint.contains("train.lr"));
        }
        other => panic!(
            "expected a non-finite loss error, got {:?}",
            other.map(|s| s.steps)
        ),
    }
}

#[test]
fn corrupt_or_unknown_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let cfg = config(dir.path(), "bow", &["train.epochs=1"]);
    let run = cfg.valid.run_dir();
    train(cfg, &quiet()).unwrap();
    let best = run.join("model-best");
    let weights = best.join("model.safetensors");
    let mut bytes = fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&weights, bytes).unwrap();
    let err = checkpoint::load(&best, &candle_core::Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("does not match its manifest"), "{err}");
    let err = checkpoint::load(dir.path(), &candle_core::Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no manifest.json"), "{err}");
}

#[test]
fn every_parameter_receives_a_gradient() {
    use stancekit::config::ModelKind;
    use stancekit::model::sorted_vars;
    use stancekit::text::TextPipeline;
    let dir = tempfile::tempdir().unwrap();
    for (kind, mk) in [
        ("bow", ModelKind::Bow),
        ("cnn", ModelKind::Cnn),
        ("transformer", ModelKind::Transformer),
    ] {
        // bow's shared hidden layer is a bow key; the other kinds have none.
        let extra: &[&str] = if kind == "bow" {
            &["model.hidden=8"]
        } else {
            &[]
        };
        let cfg = config(dir.path(), kind, extra);
        let texts = [
            "ghana condemned the raid today",
            "peru agreed",
            "japan invited chile to the talks",
        ];
        let pipeline = TextPipeline::fit(&cfg.valid.raw.text, texts);
        assert_eq!(cfg.valid.model, mk);
        let model = built(&cfg, &pipeline);
        let feats: Vec<_> = texts.iter().map(|t| pipeline.features(t)).collect();
        let refs: Vec<_> = feats.iter().collect();
        let batch = model.batch(&refs, true).unwrap();
        let logits = model.forward_t(&batch, true).unwrap();
        let loss = stancekit::train::loss::cross_entropy(
            &logits[0],
            &[Some(0), Some(1), Some(2)],
            None,
            None,
            0.0,
        )
        .unwrap()
        .unwrap();
        let loss = (loss
            + stancekit::train::loss::cross_entropy(
                &logits[1],
                &[Some(0), Some(1), Some(1)],
                None,
                None,
                0.0,
            )
            .unwrap()
            .unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in sorted_vars(model.varmap()) {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{kind}: no gradient reaches `{name}`"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(norm > 0.0, "{kind}: gradient of `{name}` is zero");
        }
        if kind == "bow" {
            let sparse = model.sparse_grad(&batch, &grads).unwrap();
            assert!(
                sparse.is_some_and(|g| g.iter().any(|x| *x != 0.0)),
                "bow: no gradient reaches the embedding rows"
            );
        }
    }
}

#[test]
fn a_bow_checkpoint_grows_with_the_rows_training_touched_not_with_the_hash_buckets() {
    let size = |buckets: &str| {
        let dir = tempfile::tempdir().unwrap();
        corpus(dir.path());
        let extra = ["train.epochs=2", "text.word_ngrams=2", buckets];
        let s = train(config(dir.path(), "bow", &extra), &quiet()).unwrap();
        fs::metadata(s.run_dir.join("model-best/model.safetensors"))
            .unwrap()
            .len()
    };
    let (small, large) = (size("text.buckets=5000"), size("text.buckets=2000000"));
    // A dense 2M x 16 table alone would be 128 MB.
    assert!(large < 1_000_000, "{large} bytes for 2M buckets");
    assert!(
        large < small * 3 / 2,
        "{small} bytes with 5k buckets, {large} with 2M"
    );
}

/// The weights' sha256 after training `kind` in a fresh folder with `sets`.
fn weights_after(kind: &str, sets: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    train(config(dir.path(), kind, sets), &quiet())
        .unwrap()
        .weights_sha256
}

#[test]
fn balanced_sampling_is_reproducible_and_trains_differently_from_shuffling() {
    let balanced = ["train.epochs=3", "train.sampling=\"balanced\""];
    assert_eq!(
        weights_after("bow", &balanced),
        weights_after("bow", &balanced)
    );
    assert_ne!(
        weights_after("bow", &balanced),
        weights_after("bow", &["train.epochs=3"])
    );
}

#[test]
fn batches_grouped_by_length_train_differently_from_shuffled_ones() {
    assert_ne!(
        weights_after("cnn", &["train.epochs=2", "train.group_by_length=true"]),
        weights_after("cnn", &["train.epochs=2"])
    );
}
