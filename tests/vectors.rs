//! `model.vectors`: a `cnn` whose word table starts at a pretrained encoder's vector of each
//! word, on the real all-MiniLM-L6-v2 (found as in `tests/pretrained.rs`; SKIP without it).

use stancekit::config::{parse_config, LoadedConfig};
use stancekit::model::{build, pad_ids, vectors, ModelSpec};
use stancekit::text::{Features, TextPipeline};
use stancekit::train::{resume, train, TrainOptions};
use std::path::Path;

mod common;

use common::encoder::{corpus, quiet, run_config};

/// A run of this `[model]` body, with the same training settings for every kind.
fn config(dir: &Path, model: &str, extra: &[&str]) -> LoadedConfig {
    let train = "epochs = 2\nbatch_size = 8\nlr = 0.003\nthreads = 2";
    run_config(dir, model, train, extra)
}

fn vectors_line(vectors: Option<&Path>) -> String {
    vectors.map_or(String::new(), |p| format!("vectors = \"{}\"", p.display()))
}

/// A small `cnn` of the encoder's width, its table started from `vectors` when given.
fn cnn_config(dir: &Path, vectors: Option<&Path>, extra: &[&str]) -> LoadedConfig {
    let model = format!(
        "kind = \"cnn\"\ndim = 384\nfilters = 8\nkernel_sizes = [2, 3]\ndropout = 0.2\n{}",
        vectors_line(vectors)
    );
    config(dir, &model, extra)
}

/// A non-linear `bow` of the encoder's width, its word rows started from `vectors` when given.
fn bow_config(dir: &Path, vectors: Option<&Path>, extra: &[&str]) -> LoadedConfig {
    let model = format!(
        "kind = \"bow\"\ndim = 384\nhidden = 16\n{}",
        vectors_line(vectors)
    );
    config(dir, &model, extra)
}

fn train_texts(dir: &Path) -> Vec<String> {
    let table = common::read(&dir.join("train.csv"));
    common::column(&table, "text")
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect()
}

#[test]
fn each_word_row_starts_at_the_encoders_vector_of_the_word_alone() {
    let encoder = encoder_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let cfg = cnn_config(dir.path(), Some(&encoder), &[]);
    let texts = train_texts(dir.path());
    let pipeline = TextPipeline::fit(&cfg.valid.raw.text, texts.iter().map(String::as_str));
    let device = candle_core::Device::Cpu;
    let spec = |config, pipeline| ModelSpec {
        kind: cfg.valid.model,
        config,
        pipeline,
        encoder: None,
        heads: &[4],
        seed: 1,
    };
    let mut model = build(&spec(&cfg.valid.raw.model, &pipeline), &device).unwrap();
    let table = |m: &dyn stancekit::model::Classifier| -> Vec<Vec<f32>> {
        let vars = stancekit::model::sorted_vars(m.varmap());
        let (_, t) = vars.iter().find(|(n, _)| n == "embed.weight").unwrap();
        t.to_vec2().unwrap()
    };
    let seeded = table(model.as_ref());
    vectors::apply(
        model.as_mut(),
        &pipeline,
        &encoder,
        384,
        &dir.path().join("run.toml"),
        &device,
        true,
    )
    .unwrap();
    let started = table(model.as_ref());
    assert_eq!(
        started[..2],
        seeded[..2],
        "padding and unknown keep the seed"
    );

    // The reference: the frozen encoder's pooled, normalised vector of each word alone.
    let frozen = common::encoder::config(dir.path(), &encoder, &["model.max_seq_len=16"]);
    let fspec = frozen.valid.pretrained.clone().unwrap();
    let enc = stancekit::model::LoadedEncoder::load(&fspec.path, &fspec, &device).unwrap();
    // The most frequent word, one from the middle and the rarest.
    let n = pipeline.words.len();
    let rows = [2, 2 + n / 2, 1 + n];
    let words: Vec<&str> = rows
        .iter()
        .map(|r| pipeline.words[r - 2].as_str())
        .collect();
    let feats: Vec<Features> = words.iter().map(|w| enc.tokenizer.features(w)).collect();
    let refs: Vec<&Features> = feats.iter().collect();
    let epipe = TextPipeline::for_encoder(frozen.valid.raw.text.clone(), enc.tokenizer.clone());
    let fmodel = build(
        &ModelSpec {
            kind: frozen.valid.model,
            encoder: Some((&fspec, &enc)),
            ..spec(&frozen.valid.raw.model, &epipe)
        },
        &device,
    )
    .unwrap();
    let (ids, mask, _) = pad_ids(&refs, 1, &device).unwrap();
    let want: Vec<Vec<f32>> = fmodel
        .sentence_encoder()
        .unwrap()
        .embed(&ids, &mask)
        .unwrap()
        .to_vec2()
        .unwrap();
    let scale = 0.1 * 384f32.sqrt();
    for ((word, row), want) in words.iter().zip(rows).zip(want) {
        let worst = started[row]
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b * scale).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "{word}: off by {worst}");
        assert_ne!(started[row], seeded[row]);
    }
}

type MakeConfig = fn(&Path, Option<&Path>, &[&str]) -> LoadedConfig;

/// Two runs from vectors give the same weights; a run from the seeded start other weights.
fn assert_vectors_train_reproducibly(make: MakeConfig) {
    let encoder = encoder_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let run = |vectors: Option<&Path>| {
        train(make(dir.path(), vectors, &[]), &quiet())
            .unwrap()
            .weights_sha256
    };
    let from_vectors = run(Some(&encoder));
    assert_eq!(run(Some(&encoder)), from_vectors);
    assert_ne!(run(None), from_vectors);
}

#[test]
fn a_cnn_started_from_vectors_trains_the_same_bits_twice_and_other_bits_than_from_random() {
    assert_vectors_train_reproducibly(cnn_config);
}

#[test]
fn a_bow_started_from_vectors_trains_the_same_bits_twice_and_other_bits_than_from_random() {
    assert_vectors_train_reproducibly(bow_config);
}

#[test]
fn vectors_wider_or_narrower_than_model_dim_are_refused_naming_model_dim() {
    let encoder = encoder_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let err = train(
        cnn_config(dir.path(), Some(&encoder), &["model.dim=64"]),
        &quiet(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("model.dim") && msg.contains("384"), "{msg}");
}

#[test]
fn vectors_on_a_linear_bow_are_refused_naming_model_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let model = "kind = \"bow\"\nlinear = true\ndim = 4\nvectors = \"enc\"";
    let text = format!("[data]\npath = \"x.csv\"\n[[tasks]]\nname = \"s\"\nlabels = [\"a\", \"b\"]\n[model]\n{model}\n");
    let err = parse_config(&text, &dir.path().join("run.toml"), &[]).unwrap_err();
    assert!(err.to_string().contains("model.vectors"), "{err}");
}

/// Regression: a resumed run read the vectors again (the encoder's time spent, its files
/// needed) only to overwrite them with the saved weights at once.
#[cfg(unix)]
#[test]
fn a_resumed_vectors_run_needs_no_encoder_and_ends_on_the_straight_runs_bits() {
    let encoder = encoder_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    // The encoder's folder as links, removed before resuming.
    let linked = dir.path().join("encoder");
    std::fs::create_dir(&linked).unwrap();
    for entry in std::fs::read_dir(&encoder).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), linked.join(entry.file_name())).unwrap();
    }
    let run = |name: &str, opts: &TrainOptions| {
        let name = format!("run.name=\"{name}\"");
        train(
            cnn_config(dir.path(), Some(&linked), &[name.as_str()]),
            opts,
        )
    };
    let straight = run("straight", &quiet()).unwrap();
    let stop = TrainOptions {
        stop_after_steps: Some(5),
        ..quiet()
    };
    let cut = run("cut", &stop);
    assert!(matches!(cut, Err(stancekit::Error::Interrupted)));
    std::fs::remove_dir_all(&linked).unwrap();
    let resumed = resume(&dir.path().join("runs/cut"), &quiet()).unwrap();
    assert_eq!(resumed.steps, straight.steps);
    assert_eq!(resumed.weights_sha256, straight.weights_sha256);
}
