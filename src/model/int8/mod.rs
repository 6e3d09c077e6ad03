//! int8 inference for a pretrained encoder's dense layers (`--quantize int8`).
//!
//! Activations are quantized per row (one token's vector) as they arrive: u8 with a zero
//! point, which keeps all 8 bits for GELU outputs that are almost never below zero. A few
//! channels of BERT models' activations run far larger than the rest, and one scale per row
//! would leave the others with few levels; following SmoothQuant (α = 0.5), each channel is
//! divided by a factor before quantizing and the weights that read it multiplied by the same
//! factor, which the product undoes exactly in real numbers. The factors come from each
//! layer's input ranges on a fixed calibration set shipped with the library (see
//! `LoadedModel::quantize_int8`), so a text's labels never depend on the other texts of a run.
//!
//! Weights are quantized once per output column to 15 bits and stored as two int8 planes
//! (`q = 128·hi + lo`); both run through the same u8 × s8 kernel. Measured on the default
//! model, 8-bit weights alone moved 1.3% of PLV labels, which misses the 99% agreement bar
//! on their own; the second plane doubles the integer work and brings agreement above it.
//!
//! Everything after the integer sums is element-wise, so a run is deterministic and its bits
//! do not depend on the CPU or the thread count.

mod kernel;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use kernel::{Packed, MR};
use rayon::prelude::*;

pub use kernel::vnni_available;

/// A lower-precision inference mode, recorded in reports made with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantize {
    /// int8 activations and two int8 weight planes in the encoder's dense layers.
    Int8,
}

/// A dense layer `y = x·Wᵀ + b` with int8 weights.
pub struct QLinear {
    /// The weights as two int8 planes: 128 times the first plus the second is a 15-bit
    /// weight.
    planes: Vec<Plane>,
    n: usize,
    k: usize,
    w_scale: Vec<f32>,
    bias: Vec<f32>,
    /// Per input channel, multiplied into the activations before they are quantized (the
    /// inverse of the factor folded into the weights); all ones when not smoothed.
    smooth: Vec<f32>,
}

/// One int8 plane of the weights.
struct Plane {
    packed: Packed,
    /// Σ_i w_q[o, i]: subtracts the activations' zero point in one multiply.
    col_sums: Vec<i32>,
    /// What this plane's sums are multiplied by.
    weight: f32,
}

impl Plane {
    fn new(q: &[i8], n: usize, k: usize, weight: f32) -> Self {
        Plane {
            packed: Packed::new(q, n, k),
            col_sums: q
                .chunks_exact(k)
                .map(|r| r.iter().map(|&v| i32::from(v)).sum())
                .collect(),
            weight,
        }
    }
}

thread_local! {
    /// Each thread's quantized rows and integer sums, kept between calls.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<i32>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// How strongly outliers move from activations into weights (SmoothQuant's α).
const ALPHA: f32 = 0.5;

impl QLinear {
    /// Quantize `weight` (`[n, k]`) and `bias` (`[n]`). `input_range`, when given, is an
    /// estimate of each input channel's magnitude (from the layer norm that feeds it).
    pub fn new(
        weight: &Tensor,
        bias: Option<&Tensor>,
        input_range: Option<&[f32]>,
    ) -> Result<Self> {
        let (n, k) = weight.dims2()?;
        let w = weight.to_vec2::<f32>()?;
        let factors: Vec<f32> = match input_range {
            Some(range) if range.len() == k => (0..k)
                .map(|i| {
                    let wmax = w.iter().map(|row| row[i].abs()).fold(0f32, f32::max);
                    let f = range[i].max(1e-5).powf(ALPHA) / wmax.max(1e-5).powf(1.0 - ALPHA);
                    if f.is_finite() && f > 0.0 {
                        f
                    } else {
                        1.0
                    }
                })
                .collect(),
            Some(range) => candle_core::bail!("int8: {} input ranges for {k} inputs", range.len()),
            None => vec![1.0; k],
        };
        // 15-bit weights: q = 128·hi + lo with hi in [-127, 127] and lo in [-64, 63].
        let top = 16256.0;
        let mut hi = Vec::with_capacity(n * k);
        let mut lo = Vec::with_capacity(n * k);
        let mut w_scale = Vec::with_capacity(n);
        for row in &w {
            let scaled: Vec<f32> = row.iter().zip(&factors).map(|(v, f)| v * f).collect();
            let max = scaled.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / top } else { 1.0 };
            for v in &scaled {
                let q = (v / scale).round().clamp(-top, top) as i32;
                let h = (q + 64).div_euclid(128);
                hi.push(h as i8);
                lo.push((q - 128 * h) as i8);
            }
            w_scale.push(scale);
        }
        let planes = vec![Plane::new(&hi, n, k, 128.0), Plane::new(&lo, n, k, 1.0)];
        let bias = match bias {
            Some(b) => b.to_vec1::<f32>()?,
            None => vec![0.0; n],
        };
        Ok(QLinear {
            planes,
            n,
            k,
            w_scale,
            bias,
            smooth: factors.iter().map(|f| 1.0 / f).collect(),
        })
    }

    /// `x`: `[..., k]` f32 on the CPU; returns `[..., n]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }

    /// Quantize, multiply and rescale `x`'s rows into `out` (rows of `n`), in AVX-512
    /// where the CPU has it: every step is element by element (or an exact min and max), so
    /// the bits are the same either way.
    fn rows(&self, x: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                // SAFETY: the CPU has AVX-512F and BW, checked just above.
                unsafe { self.rows_avx512(x, out) };
                return;
            }
        }
        self.rows_plain(x, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn rows_avx512(&self, x: &[f32], out: &mut [f32]) {
        self.rows_plain(x, out);
    }

    #[inline(always)]
    fn rows_plain(&self, x: &[f32], out: &mut [f32]) {
        let rows = x.len() / self.k;
        let tiles = rows.div_ceil(MR) * MR;
        let first = &self.planes[0].packed;
        let (stride, n_pad) = (first.row_bytes(), first.n_pad);
        // Reused from the last call without clearing: each real row's first k bytes are
        // written below (any after them meet zero weights), and padding rows' sums are
        // never read. Taken out rather than borrowed in a closure, which would not inherit
        // the caller's target features.
        let (mut a, mut sums) = SCRATCH.take();
        a.resize(tiles * stride, 0);
        sums.resize(tiles * n_pad, 0);
        self.rows_with(x, out, &mut a, &mut sums);
        SCRATCH.set((a, sums));
    }

    #[inline(always)]
    fn rows_with(&self, x: &[f32], out: &mut [f32], a: &mut [u8], sums: &mut [i32]) {
        let first = &self.planes[0].packed;
        let (stride, n_pad) = (first.row_bytes(), first.n_pad);
        let mut params = Vec::with_capacity(x.len() / self.k);
        for (src, dst) in x.chunks_exact(self.k).zip(a.chunks_exact_mut(stride)) {
            params.push(quantize_row(src, &self.smooth, dst));
        }
        out.fill(0.0);
        for plane in &self.planes {
            kernel::gemm(a, &plane.packed, sums);
            for ((y, s), &(_, zero)) in out
                .chunks_exact_mut(self.n)
                .zip(sums.chunks_exact(n_pad))
                .zip(&params)
            {
                for ((y, &s), &c) in y.iter_mut().zip(s).zip(&plane.col_sums) {
                    *y += (s - zero * c) as f32 * plane.weight;
                }
            }
        }
        for (y, (scale, _)) in out.chunks_exact_mut(self.n).zip(params) {
            for ((y, &w), &b) in y.iter_mut().zip(&self.w_scale).zip(&self.bias) {
                *y = *y * (scale * w) + b;
            }
        }
    }
}

/// Quantize one row to u8 with a zero point (the range always includes 0); returns the
/// scale and zero point. Written so that it vectorises: the range is kept per lane and
/// reduced at the end (min and max are exact, so the order does not matter), and rounding
/// adds 1.5 · 2²³ to the clamped value, which leaves round-to-nearest-even of it in the low
/// bits of the float, where libm's `roundf` would be one call per value.
#[inline(always)]
fn quantize_row(x: &[f32], smooth: &[f32], out: &mut [u8]) -> (f32, i32) {
    const W: usize = 16;
    const ROUND: f32 = 12_582_912.0;
    let (mut lo, mut hi) = ([0f32; W], [0f32; W]);
    let mut chunks = x.chunks_exact(W).zip(smooth.chunks_exact(W));
    for (xc, sc) in &mut chunks {
        for j in 0..W {
            let v = xc[j] * sc[j];
            lo[j] = if v < lo[j] { v } else { lo[j] };
            hi[j] = if v > hi[j] { v } else { hi[j] };
        }
    }
    let tail = x.len() / W * W;
    for (v, s) in x[tail..].iter().zip(&smooth[tail..]) {
        let v = v * s;
        lo[0] = if v < lo[0] { v } else { lo[0] };
        hi[0] = if v > hi[0] { v } else { hi[0] };
    }
    let lo = lo.iter().fold(0f32, |m, &v| if v < m { v } else { m });
    let hi = hi.iter().fold(0f32, |m, &v| if v > m { v } else { m });
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let inv = 1.0 / scale;
    let zero = ((-lo * inv).clamp(0.0, 255.0) + ROUND).to_bits() as u8;
    let z = f32::from(zero);
    for ((o, v), s) in out.iter_mut().zip(x).zip(smooth) {
        *o = (((v * s) * inv + z).clamp(0.0, 255.0) + ROUND).to_bits() as u8;
    }
    (scale, i32::from(zero))
}

impl CustomOp1 for QLinear {
    fn name(&self) -> &'static str {
        "stancekit-int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(all) = storage else {
            candle_core::bail!("int8: f32 input expected")
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("int8: contiguous input expected")
        };
        let x = &all[start..end];
        let dims = layout.shape().dims();
        if dims.last() != Some(&self.k) {
            candle_core::bail!("int8: input {dims:?} does not end in {}", self.k)
        }
        let rows = x.len() / self.k;
        let mut out = vec![0f32; rows * self.n];
        // Blocks of whole tiles, about four per thread: each row's result is the same
        // whichever block it falls in.
        let per = rows
            .div_ceil(4 * rayon::current_num_threads())
            .div_ceil(MR)
            .max(1)
            * MR;
        out.par_chunks_mut(per * self.n)
            .zip(x.par_chunks(per * self.k))
            .for_each(|(o, src)| self.rows(src, o));
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = self.n;
        }
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module};

    fn linear(n: usize, k: usize) -> (Tensor, Tensor) {
        let dev = Device::Cpu;
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 70.0)
            .collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 / 10.0 - 1.0).collect();
        (
            Tensor::from_vec(w, (n, k), &dev).unwrap(),
            Tensor::from_vec(b, n, &dev).unwrap(),
        )
    }

    #[test]
    fn int8_linear_is_close_to_f32_and_identical_run_to_run() {
        let (w, b) = linear(40, 50);
        let x: Vec<f32> = (0..3 * 7 * 50)
            .map(|i| ((i * 13 % 29) as f32 - 9.0) / 5.0)
            .collect();
        let x = Tensor::from_vec(x, (3, 7, 50), &Device::Cpu).unwrap();
        let exact = candle_nn::Linear::new(w.clone(), Some(b.clone()))
            .forward(&x)
            .unwrap();
        for range in [None, Some(vec![2.0; 50])] {
            let q = QLinear::new(&w, Some(&b), range.as_deref()).unwrap();
            let y = q.forward(&x).unwrap();
            assert_eq!(y.dims(), &[3, 7, 40]);
            let err = (&y - &exact).unwrap().abs().unwrap().max_all().unwrap();
            let err = err.to_scalar::<f32>().unwrap();
            let top = exact
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(err < 0.02 * top, "error {err} against values up to {top}");
            let again = q.forward(&x).unwrap();
            let same = (y.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                == again.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(same);
        }
    }

    #[test]
    fn the_avx512_and_plain_row_loops_give_the_same_bits() {
        let (w, b) = linear(40, 50);
        let q = QLinear::new(&w, Some(&b), Some(&[1.5; 50])).unwrap();
        let x: Vec<f32> = (0..13 * 50)
            .map(|i| ((i * 31 % 97) as f32 - 40.0) / 9.0)
            .collect();
        let (mut fast, mut plain) = (vec![0f32; 13 * 40], vec![0f32; 13 * 40]);
        q.rows(&x, &mut fast);
        q.rows_plain(&x, &mut plain);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&plain));
    }

    #[test]
    fn smoothing_keeps_small_channels_precise_beside_an_outlier_channel() {
        // One input channel 60× the rest, as BERT's layer-norm outputs have.
        let (w, b) = linear(16, 32);
        let mut x: Vec<f32> = (0..8 * 32)
            .map(|i| ((i * 7 % 23) as f32 - 11.0) / 11.0)
            .collect();
        for row in x.chunks_exact_mut(32) {
            row[5] *= 60.0;
        }
        let x = Tensor::from_vec(x, (8, 32), &Device::Cpu).unwrap();
        let exact = candle_nn::Linear::new(w.clone(), Some(b.clone()))
            .forward(&x)
            .unwrap();
        let mut range = vec![1.0f32; 32];
        range[5] = 60.0;
        let err = |q: QLinear| {
            let y = q.forward(&x).unwrap();
            (&y - &exact)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        let plain = err(QLinear::new(&w, Some(&b), None).unwrap());
        let smoothed = err(QLinear::new(&w, Some(&b), Some(&range)).unwrap());
        assert!(
            smoothed < plain / 2.0,
            "smoothed {smoothed} vs plain {plain}"
        );
    }
}
