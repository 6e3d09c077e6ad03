//! Frozen-encoder embeddings, computed once per dataset and kept on disk.
//!
//! In `frozen` mode the encoder's output for a text never changes, so running it every epoch
//! would waste nearly all of training's time. The embeddings of a split are computed once,
//! saved under a key made of the encoder's hashes, the pooling settings and every token id
//! of the split, and re-read by any later run with the same encoder and data: re-training a
//! head then takes seconds.

use super::EncoderRecord;
use crate::config::{Kernels, PretrainedSpec};
use crate::error::Result;
use crate::model::{length_order, pad_ids, SentenceEncoder, SEQUENCE_BATCH};
use crate::progress::Progress;
use crate::tensors::{save_tensors, sha256_hex};
use crate::text::Features;
use candle_core::Tensor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const TENSOR: &str = "embeddings";

/// Pooled embeddings of `feats`, row-major `[N, H]`, in the order of `feats`; the progress
/// line counts `unit`s ("sentences", "words").
pub fn embed_all(
    model: &dyn SentenceEncoder,
    feats: &[Features],
    progress: &mut Progress,
    unit: &str,
) -> Result<Vec<f32>> {
    let h = model.hidden_size();
    let mut out = vec![0f32; feats.len() * h];
    let order = length_order(feats);
    let started = Instant::now();
    let total = order.len() as u64;
    for (b, chunk) in order.chunks(SEQUENCE_BATCH).enumerate() {
        let refs: Vec<&Features> = chunk.iter().map(|&i| &feats[i]).collect();
        let (ids, mask, _) = pad_ids(&refs, 1, model.device())?;
        let rows = model.embed(&ids, &mask)?.to_vec2::<f32>()?;
        for (&i, row) in chunk.iter().zip(rows) {
            out[i * h..(i + 1) * h].copy_from_slice(&row);
        }
        let done = ((b + 1) * SEQUENCE_BATCH).min(order.len()) as u64;
        let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress.update(done, total, &format!("{rate:.0} {unit}/s"));
    }
    Ok(out)
}

/// The cache file for these features under this encoder and these settings.
pub fn cache_path(record: &EncoderRecord, spec: &PretrainedSpec, feats: &[Features]) -> PathBuf {
    let mut key = format!(
        "stancekit-embeddings-v1\n{}\n{}\n{}\n{:?} {} {}\n{}\n",
        record.weights_sha256,
        record.config_sha256,
        record.tokenizer_sha256,
        spec.pooling,
        spec.normalize,
        spec.max_seq_len,
        feats.len()
    )
    .into_bytes();
    // Added after the key format was fixed: the default adds nothing, so caches stay valid.
    if spec.pool_layers != 1 {
        key.extend_from_slice(format!("pool_layers {}\n", spec.pool_layers).as_bytes());
    }
    if spec.kernels != Kernels::Exact {
        key.extend_from_slice(format!("kernels {:?}\n", spec.kernels).as_bytes());
    }
    for f in feats {
        key.extend_from_slice(&(f.word_ids.len() as u32).to_le_bytes());
        for id in &f.word_ids {
            key.extend_from_slice(&id.to_le_bytes());
        }
    }
    spec.cache_dir
        .join(format!("{}.safetensors", sha256_hex(&key)))
}

/// Attach each text's pooled embedding to `feats`, read from the cache when present, else
/// computed and written to it. Returns whether the cache had them.
pub fn attach(
    model: &dyn SentenceEncoder,
    record: &EncoderRecord,
    spec: &PretrainedSpec,
    feats: &mut [Features],
    label: &str,
    quiet: bool,
) -> Result<bool> {
    let h = model.hidden_size();
    let path = cache_path(record, spec, feats);
    let (values, hit) = match read(&path, feats.len(), h) {
        Some(v) => (v, true),
        None => {
            let mut progress = Progress::new(quiet);
            progress.start(&format!("embedding {label}"), feats.len() as u64);
            let started = Instant::now();
            let v = embed_all(model, feats, &mut progress, "sentences")?;
            progress.finish();
            progress.line(&format!(
                "embedded {} {label} texts in {:.1} s ({:.0} sentences/s); cached in {}",
                feats.len(),
                started.elapsed().as_secs_f64(),
                feats.len() as f64 / started.elapsed().as_secs_f64().max(1e-9),
                path.display()
            ));
            let t = Tensor::from_slice(&v, (feats.len(), h), &candle_core::Device::Cpu)?;
            save_tensors(&path, vec![(TENSOR.to_string(), t)])?;
            (v, false)
        }
    };
    for (i, f) in feats.iter_mut().enumerate() {
        f.pooled = Some(Arc::from(&values[i * h..(i + 1) * h]));
    }
    Ok(hit)
}

/// The cached matrix, if the file exists and has the expected shape (anything else is
/// treated as a miss and recomputed).
fn read(path: &Path, n: usize, h: usize) -> Option<Vec<f32>> {
    let map = candle_core::safetensors::load(path, &candle_core::Device::Cpu).ok()?;
    let t = map.get(TENSOR)?;
    if t.dims() != [n, h] {
        return None;
    }
    t.flatten_all().ok()?.to_vec1::<f32>().ok()
}
