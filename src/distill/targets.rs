//! The teacher's probabilities, computed once per (teacher, texts) and kept on disk.
//!
//! Labelling a pool with an encoder teacher costs minutes; training a student on it costs
//! seconds. The probabilities are saved under a key made of the teacher's weights and pipeline
//! hashes and every text, so a re-run, a resume or a second student reads them back. Texts go
//! through the teacher in chunks, so memory holds one chunk's features at a time.

use crate::checkpoint::LoadedModel;
use crate::error::Result;
use crate::progress::Progress;
use crate::tensors::{save_tensors, sha256_hex};
use candle_core::{Device, Tensor};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Texts featurised and labelled at a time.
const CHUNK: usize = 2048;
const BATCH: usize = 256;

/// Per teacher task, the probabilities of `texts`, row-major `[texts, labels]`.
pub type TaskProbs = Vec<Vec<f32>>;

/// The cache file for `texts` under `teacher`.
pub fn cache_path(teacher: &LoadedModel, texts: &[&str], cache_dir: &Path) -> PathBuf {
    let m = &teacher.manifest;
    let mut key = format!(
        "stancekit-teacher-v1\n{}\n{}\n{}\n",
        m.weights_sha256,
        m.pipeline_sha256.as_deref().unwrap_or(""),
        texts.len()
    )
    .into_bytes();
    for t in texts {
        key.extend_from_slice(&(t.len() as u64).to_le_bytes());
        key.extend_from_slice(t.as_bytes());
    }
    cache_dir.join(format!("{}.safetensors", sha256_hex(&key)))
}

/// The teacher's probabilities for `texts`, read from the cache in `cache_dir` when there,
/// else computed (in chunks) and written to it.
pub fn teacher_probs(
    teacher: &LoadedModel,
    texts: &[&str],
    cache_dir: &Path,
    label: &str,
    quiet: bool,
) -> Result<TaskProbs> {
    let widths: Vec<usize> = teacher.tasks.iter().map(|t| t.labels.len()).collect();
    if texts.is_empty() {
        return Ok(vec![Vec::new(); widths.len()]);
    }
    let path = cache_path(teacher, texts, cache_dir);
    if let Some(hit) = read(&path, texts.len(), &widths) {
        return Ok(hit);
    }
    let mut out: TaskProbs = widths
        .iter()
        .map(|k| Vec::with_capacity(texts.len() * k))
        .collect();
    let mut progress = Progress::new(quiet);
    progress.start(&format!("teacher on {label}"), texts.len() as u64);
    let started = Instant::now();
    for (c, chunk) in texts.chunks(CHUNK).enumerate() {
        let probs = teacher.predict(chunk, BATCH)?.probs;
        for (t, rows) in probs.probs.into_iter().enumerate() {
            out[t].extend(rows.into_iter().flatten());
        }
        let done = (c * CHUNK + chunk.len()) as u64;
        let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress.update(done, texts.len() as u64, &format!("{rate:.0} texts/s"));
    }
    progress.finish();
    progress.line(&format!(
        "teacher labelled {} {label} texts in {:.1} s; cached in {}",
        texts.len(),
        started.elapsed().as_secs_f64(),
        path.display()
    ));
    let tensors = out
        .iter()
        .zip(&widths)
        .enumerate()
        .map(|(t, (v, &k))| {
            Ok((
                format!("task{t}"),
                Tensor::from_slice(v, (texts.len(), k), &Device::Cpu)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    save_tensors(&path, tensors)?;
    Ok(out)
}

/// The cached probabilities, if the file exists and every task has the expected shape
/// (anything else is a miss, recomputed).
fn read(path: &Path, n: usize, widths: &[usize]) -> Option<TaskProbs> {
    let map = candle_core::safetensors::load(path, &Device::Cpu).ok()?;
    widths
        .iter()
        .enumerate()
        .map(|(t, &k)| {
            let x = map.get(&format!("task{t}"))?;
            (x.dims() == [n, k]).then_some(())?;
            x.flatten_all().ok()?.to_vec1::<f32>().ok()
        })
        .collect()
}
