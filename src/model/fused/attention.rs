//! The attention's scale, padding mask and softmax as one op.
//!
//! Scaling the scores, adding the mask and the softmax were three ops, each a pass over the
//! largest tensor of a layer (`[batch, heads, tokens, tokens]`) forward and again backward,
//! each gradient built as zeros plus an add. Here they are one pass each way, with the bits of
//! the three: the scores are multiplied by the scale as candle's `affine` does, the mask is
//! added, then the softmax runs as `Softmax` does; the gradient is `SoftmaxGrad`'s, times the
//! scale, as `affine`'s backward multiplies it.

use super::{by_rows, fused, last_dim, slice, softmax_rows, SoftmaxGrad};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, D};

/// `softmax(x · scale + mask)` over the last dimension. `x`: `[B, .., T]`; `mask`: one additive
/// row of `T` per batch item (`[B, 1, 1, T]`, as the encoder builds it), a constant that gets
/// no gradient.
pub fn masked_softmax(x: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    match fused(x) {
        true => x.contiguous()?.apply_op2(
            &mask.contiguous()?,
            MaskedSoftmax {
                scale: scale as f32,
            },
        ),
        false => candle_nn::ops::softmax(&(x * scale)?.broadcast_add(mask)?, D::Minus1),
    }
}

struct MaskedSoftmax {
    scale: f32,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "stancekit-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, mask) = (slice(s1, l1)?, slice(s2, l2)?);
        let t = last_dim(l1);
        let batch = l1.shape().dims().first().copied().unwrap_or(1).max(1);
        if mask.len() != batch * t || x.len() % (batch * t) != 0 {
            candle_core::bail!(
                "masked softmax: mask {:?} for scores {:?}",
                l2.shape(),
                l1.shape()
            )
        }
        let rows_per_item = x.len() / (batch * t);
        let scale = self.scale;
        let mut out = vec![0f32; x.len()];
        by_rows(&mut out, t, |first, o| {
            for (r, orow) in o.chunks_mut(t).enumerate() {
                let row = first + r;
                let (xrow, mrow) = (
                    &x[row * t..(row + 1) * t],
                    &mask[(row / rows_per_item) * t..],
                );
                for ((o, &v), &m) in orow.iter_mut().zip(xrow).zip(mrow) {
                    *o = (v * scale + 0.0) + m;
                }
                softmax_rows(orow);
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _mask: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let scale = self.scale;
        let dx = res
            .contiguous()?
            .apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxGrad { scale })?;
        Ok((Some(dx), None))
    }
}
