//! Layer norm and softmax as single CPU kernels that also train.
//!
//! candle-nn's fused layer norm and softmax have no backward pass, so the encoder layers being
//! fine-tuned ran them as chains of element-wise ops (`layer_norm_slow`: eight, each a pass
//! over memory and a node in the graph; its backward twice that). Here each is one pass
//! forward and one backward, row by row. Rows are independent, so they run on the pool's
//! threads with the same bits on any thread count; the weight and bias gradients of layer
//! norm sum over rows in row order, on one thread. Other devices and dtypes keep candle's ops.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape};
use candle_core::{Tensor, D};
use rayon::prelude::*;

mod attention;
pub use attention::masked_softmax;

/// Rows per block handed to one thread.
const ROWS: usize = 64;

/// Layer norm over the last dimension, `(x - mean) / sqrt(var + eps) * weight + bias`, as
/// BERT computes it, with gradients for all three inputs.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f32) -> Result<Tensor> {
    match fused(x) {
        true => x.contiguous()?.apply_op3(weight, bias, LayerNorm { eps }),
        false => candle_nn::ops::layer_norm_slow(x, weight, bias, eps),
    }
}

/// `x + bias` over the last dimension, with a backward pass whose bias gradient sums the rows
/// in row order (candle reduces a broadcast's gradient on one thread through strided loops:
/// about 7% of a fine-tuning step).
pub fn add_bias(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    match fused(x) {
        true => x.contiguous()?.apply_op2(&bias.contiguous()?, AddBias),
        false => x.broadcast_add(bias),
    }
}

/// Softmax over the last dimension, with a backward pass.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    match fused(x) {
        true => x.contiguous()?.apply_op1(Softmax),
        false => candle_nn::ops::softmax(x, D::Minus1),
    }
}

fn fused(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

struct LayerNorm {
    eps: f32,
}

/// Arguments: x, the output's gradient, the weight. Output: `[rows + 2, h]`, the input's
/// gradient then the weight's and the bias's.
struct LayerNormGrad {
    eps: f32,
}

struct Softmax;

struct AddBias;

/// The sum of the rows of a `[.., h]` tensor, as `[h]`.
struct SumRows;

/// Arguments: the softmax's output and its gradient. The input's gradient comes out times
/// `scale` (1 for a plain softmax; the scores' scale in `masked_softmax`).
struct SoftmaxGrad {
    scale: f32,
}

/// The width of a row: the last dimension (at least 1, so `chunks` never sees 0).
fn last_dim(layout: &Layout) -> usize {
    layout.shape().dims().last().copied().unwrap_or(1).max(1)
}

fn slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(all) = storage else {
        candle_core::bail!("fused op: f32 storage expected")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&all[start..end]),
        None => candle_core::bail!("fused op: contiguous input expected"),
    }
}

/// Mean and 1 / sqrt(var + eps) of one row.
#[inline]
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// Softmax of one row, in place.
#[inline]
fn softmax_rows(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for o in row.iter_mut() {
        *o = (*o - max).exp();
        sum += *o;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|o| *o *= inv);
}

/// Split `out` into blocks of `ROWS` rows of `h` and run `f(first_row, block)` on each, on
/// the pool when there is more than one block.
fn by_rows(out: &mut [f32], h: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let block = ROWS * h;
    match out.len() > block {
        true => out
            .par_chunks_mut(block)
            .enumerate()
            .for_each(|(i, o)| f(i * ROWS, o)),
        false => f(0, out),
    }
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "stancekit-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, w, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let h = w.len();
        if h == 0 || b.len() != h || x.len() % h != 0 {
            candle_core::bail!("layer norm: {:?} against a weight of {h}", l1.shape())
        }
        let mut out = vec![0f32; x.len()];
        by_rows(&mut out, h, |first, o| {
            for (r, orow) in o.chunks_mut(h).enumerate() {
                let xrow = &x[(first + r) * h..(first + r + 1) * h];
                let (mean, inv) = moments(xrow, self.eps);
                for (((o, &v), &w), &b) in orow.iter_mut().zip(xrow).zip(w).zip(b) {
                    *o = (v - mean) * inv * w + b;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let h = weight.elem_count();
        let rows = x.elem_count() / h;
        let all = x.contiguous()?.apply_op3_no_bwd(
            &grad.contiguous()?,
            &weight.contiguous()?,
            &LayerNormGrad { eps: self.eps },
        )?;
        let dx = all.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dw = all.narrow(0, rows, 1)?.reshape(weight.shape())?;
        let db = all.narrow(0, rows + 1, 1)?.reshape(weight.shape())?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

impl CustomOp3 for LayerNormGrad {
    fn name(&self) -> &'static str {
        "stancekit-layer-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, g, w) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let h = w.len();
        let rows = x.len() / h;
        let mut out = vec![0f32; (rows + 2) * h];
        let (dx, sums) = out.split_at_mut(rows * h);
        // dx = inv · (g·w − mean(g·w) − x̂ · mean(g·w · x̂)), row by row.
        by_rows(dx, h, |first, o| {
            let mut gw = vec![0f32; h];
            for (r, orow) in o.chunks_mut(h).enumerate() {
                let at = (first + r) * h;
                let (xrow, grow) = (&x[at..at + h], &g[at..at + h]);
                let (mean, inv) = moments(xrow, self.eps);
                for ((t, &gv), &wv) in gw.iter_mut().zip(grow).zip(w) {
                    *t = gv * wv;
                }
                let n = h as f32;
                let m1 = gw.iter().sum::<f32>() / n;
                let m2 = gw
                    .iter()
                    .zip(xrow)
                    .map(|(t, &v)| t * (v - mean) * inv)
                    .sum::<f32>()
                    / n;
                for ((o, &t), &v) in orow.iter_mut().zip(&gw).zip(xrow) {
                    *o = inv * (t - m1 - (v - mean) * inv * m2);
                }
            }
        });
        let (dw, db) = sums.split_at_mut(h);
        for r in 0..rows {
            let (xrow, grow) = (&x[r * h..(r + 1) * h], &g[r * h..(r + 1) * h]);
            let (mean, inv) = moments(xrow, self.eps);
            for (((dw, db), &gv), &v) in dw.iter_mut().zip(db.iter_mut()).zip(grow).zip(xrow) {
                *dw += gv * (v - mean) * inv;
                *db += gv;
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, h))))
    }
}

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "stancekit-add-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, b) = (slice(s1, l1)?, slice(s2, l2)?);
        let h = b.len();
        if h == 0 || x.len() % h != 0 || l1.shape().dims().last() != Some(&h) {
            candle_core::bail!("add bias: {:?} against a bias of {h}", l1.shape())
        }
        let mut out = vec![0f32; x.len()];
        by_rows(&mut out, h, |first, o| {
            for (r, orow) in o.chunks_mut(h).enumerate() {
                let xrow = &x[(first + r) * h..(first + r + 1) * h];
                for ((o, &v), &b) in orow.iter_mut().zip(xrow).zip(b) {
                    *o = v + b;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let db = grad.contiguous()?.apply_op1_no_bwd(&SumRows)?;
        Ok((Some(grad.clone()), Some(db.reshape(bias.shape())?)))
    }
}

impl CustomOp1 for SumRows {
    fn name(&self) -> &'static str {
        "stancekit-sum-rows"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = slice(storage, layout)?;
        let h = last_dim(layout);
        let mut out = vec![0f32; h];
        for row in g.chunks(h) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        Ok((CpuStorage::F32(out), Shape::from(h)))
    }
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "stancekit-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice(storage, layout)?;
        let h = last_dim(layout);
        let mut out = vec![0f32; x.len()];
        by_rows(&mut out, h, |first, o| {
            for (r, orow) in o.chunks_mut(h).enumerate() {
                orow.copy_from_slice(&x[(first + r) * h..(first + r + 1) * h]);
                softmax_rows(orow);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(res.contiguous()?.apply_op2_no_bwd(
            &grad.contiguous()?,
            &SoftmaxGrad { scale: 1.0 },
        )?))
    }
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "stancekit-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (y, g) = (slice(s1, l1)?, slice(s2, l2)?);
        let h = last_dim(l1);
        if g.len() != y.len() {
            candle_core::bail!("softmax grad: {:?} against {:?}", l1.shape(), l2.shape())
        }
        // dx = y · (g − Σ g·y) · scale, row by row.
        let scale = self.scale;
        let mut out = vec![0f32; y.len()];
        by_rows(&mut out, h, |first, o| {
            for (r, orow) in o.chunks_mut(h).enumerate() {
                let at = (first + r) * h;
                let (yrow, grow) = (&y[at..at + h], &g[at..at + h]);
                let dot = yrow.iter().zip(grow).map(|(a, b)| a * b).sum::<f32>();
                for ((o, &yv), &gv) in orow.iter_mut().zip(yrow).zip(grow) {
                    *o = (yv * (gv - dot)) * scale + 0.0;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests;
