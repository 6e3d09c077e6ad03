//! Weight averaging (`train.average_from`): model-swa is the exact mean of the checkpoints
//! it names, the same bits on every run and after a resume, chosen as model-best only when it
//! scores better on dev, and refused for bow.

mod common;

use stancekit::checkpoint::load_tensors;
use stancekit::config::{parse_config, LoadedConfig};
use stancekit::train::{resume, train, TrainOptions};
use std::path::Path;

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    }
}

/// A small cnn on `common::model`'s tiny corpus; constant learning rate, so the first epochs
/// of a shorter and a longer run are the same steps.
fn config(dir: &Path, name: &str, extra: &[&str]) -> LoadedConfig {
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    parse_config(&text(name), &dir.join("run.toml"), &overrides).unwrap()
}

const CNN: &str = "kind = \"cnn\"\ndim = 16\nfilters = 8\nkernel_sizes = [2, 3]\n";

fn text(name: &str) -> String {
    format!(
        r#"
[run]
name = "{name}"
seed = 7
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
[text]
buckets = 5000
max_tokens = 16
[model]
{CNN}dropout = 0.1
[train]
epochs = 3
batch_size = 4
lr = 0.02
threads = 1
"#
    )
}

fn weights(dir: &Path) -> std::collections::HashMap<String, Vec<f32>> {
    load_tensors(&dir.join("model.safetensors"), &candle_core::Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect()
}

#[test]
fn model_swa_is_the_mean_of_the_checkpoints_from_its_start_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::model(dir);
    // Epoch 2's weights are model-last of a 2-epoch run (the same steps as the first two
    // epochs of a 3-epoch run at a constant rate); epoch 3's are the 3-epoch run's model-last.
    let two = train(config(dir, "two", &["train.epochs=2"]), &quiet()).unwrap();
    let three = train(config(dir, "three", &["train.average_from=2"]), &quiet()).unwrap();
    let averaged = three.averaged.as_ref().expect("an averaging record");
    assert_eq!(averaged.checkpoints, 2);
    let (w2, w3) = (
        weights(&two.run_dir.join("model-last")),
        weights(&three.run_dir.join("model-last")),
    );
    let swa = weights(&three.run_dir.join("model-swa"));
    assert_eq!(swa.len(), w3.len());
    for (name, mean) in &swa {
        for ((m, a), b) in mean.iter().zip(&w2[name]).zip(&w3[name]) {
            assert_eq!(*m, (a + b) / 2.0, "{name}");
        }
    }
    let best = weights(&three.run_dir.join("model-best"));
    assert_eq!(
        best == swa,
        averaged.chosen,
        "model-best is the mean exactly when chosen"
    );
}

#[test]
fn weight_averaging_is_reproducible_and_resumes_to_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::model(dir);
    let set = ["train.average_from=1", "train.epochs=4"];
    let a = train(config(dir, "a", &set), &quiet()).unwrap();
    let b = train(config(dir, "b", &set), &quiet()).unwrap();
    let swa = |run: &Path| std::fs::read(run.join("model-swa/model.safetensors")).unwrap();
    assert_eq!(swa(&a.run_dir), swa(&b.run_dir));
    assert_eq!(a.weights_sha256, b.weights_sha256);
    // Interrupted after the averaging began (5 steps an epoch), then resumed.
    let cfg = config(dir, "c", &set);
    let run = cfg.valid.run_dir();
    let stop = TrainOptions {
        stop_after_steps: Some(12),
        ..quiet()
    };
    assert!(matches!(
        train(cfg, &stop),
        Err(stancekit::Error::Interrupted)
    ));
    assert!(run.join("resume/swa.safetensors").is_file());
    let c = resume(&run, &quiet()).unwrap();
    assert_eq!(swa(&c.run_dir), swa(&a.run_dir));
    assert_eq!(c.weights_sha256, a.weights_sha256);
    assert_eq!(c.averaged.unwrap().checkpoints, 4);
}

#[test]
fn weight_averaging_is_refused_for_bow_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::model(dir);
    let bow = text("bow").replace(CNN, "kind = \"bow\"\ndim = 16\n");
    let cfg = parse_config(
        &bow,
        &dir.join("run.toml"),
        &["train.average_from=1".into()],
    )
    .unwrap();
    let err = train(cfg, &quiet()).err().unwrap().to_string();
    assert!(
        err.contains("train.average_from") && err.contains("bow"),
        "{err}"
    );
}
