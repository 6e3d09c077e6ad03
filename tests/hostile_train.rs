//! Regression tests for hostile input (issue 12), part three: training's folders under moves,
//! torn saves and divergence. `resume/` and checkpoints are whole or refused, a resumed run
//! writes where its folder is now, and stale temporary folders are swept.

use stancekit::config::parse_config;
use stancekit::train::{resume, train, TrainOptions};
use std::fs;
use std::path::{Path, PathBuf};

fn corpus(dir: &Path) {
    let mut body = String::from("article,text,stance\n");
    for i in 0..40 {
        let (verb, stance) = match i % 3 {
            0 => ("condemned", "condemnation"),
            1 => ("signed", "cooperation"),
            _ => ("invited", "invitation"),
        };
        body.push_str(&format!(
            "a{i},Country {i} {verb} the plan on day {i},{stance}\n"
        ));
    }
    fs::write(dir.join("d.csv"), body).unwrap();
}

fn config(dir: &Path, extra: &str) -> stancekit::config::LoadedConfig {
    let text = format!(
        "[run]\nname = \"r\"\nseed = 5\noutput_dir = \"out\"\n[data]\npath = \"d.csv\"\ngroup_column = \"article\"\n[split]\ndev = 0.25\ntest = 0.0\n\
[[tasks]]\nname = \"stance\"\nlabels = [\"condemnation\", \"cooperation\", \"invitation\"]\n\
[text]\nbuckets = 1000\n[model]\nkind = \"bow\"\ndim = 8\n[train]\nepochs = 4\nbatch_size = 4\nlr = 0.05\nthreads = 1\n{extra}"
    );
    parse_config(&text, &dir.join("run.toml"), &[]).unwrap()
}

fn stop_after(steps: usize) -> TrainOptions {
    TrainOptions {
        quiet: true,
        stop_after_steps: Some(steps),
        ..TrainOptions::default()
    }
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..TrainOptions::default()
    }
}

fn interrupted_run(dir: &Path) -> PathBuf {
    corpus(dir);
    let err = train(config(dir, ""), &stop_after(5)).unwrap_err();
    assert!(matches!(err, stancekit::Error::Interrupted), "{err}");
    dir.join("out/r")
}

#[test]
fn a_moved_run_resumes_into_its_new_folder_and_leaves_the_old_place_alone() {
    let dir = tempfile::tempdir().unwrap();
    let run = interrupted_run(dir.path());
    let moved = dir.path().join("elsewhere/r");
    fs::create_dir_all(moved.parent().unwrap()).unwrap();
    fs::rename(&run, &moved).unwrap();
    // Somebody else's run now sits where the old folder was.
    fs::create_dir_all(&run).unwrap();
    fs::write(run.join("theirs.txt"), "keep").unwrap();
    let s = resume(&moved, &quiet()).unwrap();
    assert_eq!(s.run_dir, fs::canonicalize(&moved).unwrap());
    assert!(moved.join("model-best/model.safetensors").is_file());
    let left: Vec<_> = fs::read_dir(&run).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written over the other run");
    let saved = fs::read_to_string(moved.join("model-best/config.toml")).unwrap();
    assert!(saved.contains("elsewhere"), "{saved}");
}

#[test]
fn a_resume_state_whose_files_come_from_different_saves_is_refused_with_a_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let run = interrupted_run(dir.path());
    // A second, later save whose weights then replace the first save's.
    let later = dir.path().join("later");
    fs::create_dir(&later).unwrap();
    corpus(&later);
    let err = train(config(&later, ""), &stop_after(9)).unwrap_err();
    assert!(matches!(err, stancekit::Error::Interrupted));
    fs::copy(
        later.join("out/r/resume/model.safetensors"),
        run.join("resume/model.safetensors"),
    )
    .unwrap();
    let err = resume(&run, &quiet()).unwrap_err().to_string();
    assert!(err.contains("different saves"), "{err}");
    assert!(err.contains("stancekit train --config"), "{err}");
    // A resume folder that is missing while the previous copy survived says how to get it back.
    fs::rename(run.join("resume"), run.join(".stancekit-old-resume")).unwrap();
    let err = resume(&run, &quiet()).unwrap_err().to_string();
    assert!(err.contains("mv "), "{err}");
}

#[test]
fn a_resumed_run_logs_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = interrupted_run(dir.path());
    // Lines written after the state was saved (steps that will be redone).
    let log = run.join(stancekit::train::LOG_FILE);
    let mut text = fs::read_to_string(&log).unwrap();
    text.push_str("{\"step\":7,\"epoch\":1}\n{\"step\":8,");
    fs::write(&log, text).unwrap();
    resume(&run, &quiet()).unwrap();
    let steps: Vec<u64> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut sorted = steps.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(steps, sorted, "steps repeat or go back");
}

#[test]
fn temporary_folders_left_by_a_killed_save_are_swept_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = interrupted_run(dir.path());
    for stale in [".stancekit-ckpt-abc", ".stancekit-resume-def"] {
        fs::create_dir(run.join(stale)).unwrap();
        fs::write(run.join(stale).join("model.safetensors"), vec![0u8; 1000]).unwrap();
    }
    fs::write(run.join(".stancekit-x.tmp"), "half").unwrap();
    resume(&run, &quiet()).unwrap();
    let left: Vec<String> = fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stancekit-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_loss_that_diverges_before_any_evaluation_does_not_point_at_a_missing_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let err = train(
        config(dir.path(), "optimizer = \"sgd\"\n").with_lr(1e38),
        &quiet(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no checkpoint was written"), "{err}");
    assert!(!dir.path().join("out/r/model-best").exists());
}

trait WithLr {
    fn with_lr(self, lr: f64) -> Self;
}

impl WithLr for stancekit::config::LoadedConfig {
    fn with_lr(mut self, lr: f64) -> Self {
        self.valid.raw.train.lr = lr;
        self
    }
}
