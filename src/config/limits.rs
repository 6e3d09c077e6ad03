//! Sizes that cannot work on this machine, refused at validation with the key that causes
//! them, instead of an allocation abort minutes into a run.

use super::types::ModelKind;
use super::Config;

/// Bytes of memory this machine has, when it can tell (Linux: MemTotal).
fn memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Parameters the model has at the least, from the config alone (the vocabulary, which
/// depends on the data, adds to this).
pub fn min_parameters(c: &Config, kind: ModelKind) -> f64 {
    let m = &c.model;
    let dim = m.dim as f64;
    let buckets = c.text.buckets as f64;
    match kind {
        ModelKind::Bow => (buckets + 1.0) * dim + m.hidden as f64 * dim,
        ModelKind::Cnn => {
            let widths: f64 = m.kernel_sizes.iter().map(|&k| k as f64).sum();
            (buckets + 1.0) * dim + m.filters as f64 * widths * dim
        }
        ModelKind::Transformer => {
            let layer = 4.0 * dim * dim + 2.0 * dim * m.ff_dim as f64;
            (buckets + 1.0) * dim + c.text.max_tokens as f64 * dim + m.layers as f64 * layer
        }
        ModelKind::Pretrained => m.hidden as f64 * 1024.0,
    }
}

/// `Err((key, message))` when the weights and the optimiser's two moments would not fit in
/// this machine's memory.
pub fn check_size(c: &Config, kind: ModelKind) -> Result<(), (&'static str, String)> {
    let Some(memory) = memory_bytes() else {
        return Ok(());
    };
    let params = min_parameters(c, kind);
    let bytes = params * 4.0 * 3.0;
    if bytes <= memory as f64 {
        return Ok(());
    }
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let key = match kind {
        ModelKind::Pretrained => "model.hidden",
        _ if c.model.dim as f64 >= c.text.buckets as f64 => "model.dim",
        ModelKind::Bow | ModelKind::Cnn if c.model.dim <= 4096 => "text.buckets",
        _ => "model.dim",
    };
    Err((
        key,
        format!(
            "the model would have at least {params:.3e} parameters, {:.1} GiB with the optimiser's state, but this machine has {:.1} GiB of memory (model.dim = {}, text.buckets = {})",
            gib(bytes),
            gib(memory as f64),
            c.model.dim,
            c.text.buckets
        ),
    ))
}
