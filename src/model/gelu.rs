//! GELU (the erf form) as one vectorised CPU kernel.
//!
//! candle computes `gelu_erf` one value at a time through libm's scalar `erff`, on one thread;
//! profiled on the encoder, that was about a fifth of inference. Here erf is the rational
//! approximation Eigen and XLA use for f32 (within about 1e-7 of the exact value), written as
//! plain multiplies, adds and one divide, so the compiler vectorises it. Rust never fuses
//! `a * b + c` on its own, so the AVX-512, AVX2 and baseline builds of the loop give the same
//! bits on every CPU, and blocks run on the pool's threads with no reduction across them.
//! Other devices and dtypes keep candle's op.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// `x · Φ(x)`, the GELU BERT-family encoders use, with a backward pass.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1(GeluErf)
    } else {
        x.gelu_erf()
    }
}

/// Values per block handed to one thread: small tensors stay on the calling thread.
const BLOCK: usize = 1 << 14;

struct GeluErf;

/// d/dx x·Φ(x) = Φ(x) + x·φ(x); only the backward pass needs it, so it stays scalar.
struct GeluErfGrad;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "stancekit-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout)?;
        let mut out = vec![0f32; src.len()];
        if src.len() > BLOCK {
            out.par_chunks_mut(BLOCK)
                .zip(src.par_chunks(BLOCK))
                .for_each(|(o, s)| gelu_slice(s, o));
        } else {
            gelu_slice(src, &mut out);
        }
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let local = arg.contiguous()?.apply_op1_no_bwd(&GeluErfGrad)?;
        Ok(Some(grad_res.mul(&local)?))
    }
}

impl CustomOp1 for GeluErfGrad {
    fn name(&self) -> &'static str {
        "stancekit-gelu-erf-grad"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout)?;
        let scale = 1.0 / (2.0 * std::f32::consts::PI).sqrt();
        let out = src
            .iter()
            .map(|&x| {
                let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                cdf + x * scale * (-0.5 * x * x).exp()
            })
            .collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(all) = storage else {
        candle_core::bail!("gelu: f32 storage expected")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&all[start..end]),
        None => candle_core::bail!("gelu: contiguous input expected"),
    }
}

fn gelu_slice(src: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            unsafe { gelu_avx512(src, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { gelu_avx2(src, out) };
            return;
        }
    }
    gelu_loop(src, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gelu_avx512(src: &[f32], out: &mut [f32]) {
    gelu_loop(src, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gelu_avx2(src: &[f32], out: &mut [f32]) {
    gelu_loop(src, out);
}

#[inline(always)]
fn gelu_loop(src: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(src) {
        *o = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf for f32 as a rational function of x (Eigen's `generic_fast_erf_float`): outside
/// [-4, 4] erf is ±1 in f32, so the input is clamped there.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_600_1e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329_3e-3;
    q = x2 * q + -1.426_473_9e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn grid() -> Vec<f32> {
        (-40_000..=40_000).map(|i| i as f32 * 2.5e-4).collect()
    }

    #[test]
    fn erf_is_within_a_few_ulp_of_libm_over_the_whole_range() {
        for x in grid() {
            let exact = candle_core::cpu::erf::erf_f64(f64::from(x));
            assert!((f64::from(erf(x)) - exact).abs() < 5e-7, "erf({x})");
        }
        assert_eq!(erf(30.0), erf(4.0));
        assert_eq!(erf(-30.0), -erf(30.0));
    }

    #[test]
    fn gelu_matches_candles_gelu_erf_on_a_large_tensor() {
        let xs = grid();
        let t = Tensor::from_vec(xs.clone(), (xs.len(), 1), &Device::Cpu).unwrap();
        let fast = gelu_erf(&t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let slow = t
            .gelu_erf()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for ((x, a), b) in xs.iter().zip(&fast).zip(&slow) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + x.abs()),
                "gelu({x}): {a} vs {b}"
            );
        }
    }

    #[test]
    fn gelu_gradient_matches_candles() {
        let xs: Vec<f32> = (-600..=600).map(|i| i as f32 * 0.01).collect();
        let v = Var::from_vec(xs.clone(), xs.len(), &Device::Cpu).unwrap();
        let grad = |loss: Tensor| -> Vec<f32> {
            let grads = loss.backward().unwrap();
            grads.get(&v).unwrap().to_vec1::<f32>().unwrap()
        };
        let gf = grad(gelu_erf(v.as_tensor()).unwrap().sum_all().unwrap());
        let gs = grad(v.as_tensor().gelu_erf().unwrap().sum_all().unwrap());
        for ((x, a), b) in xs.iter().zip(&gf).zip(&gs) {
            assert!((a - b).abs() < 2e-5, "gelu'({x}): {a} vs {b}");
        }
    }

    #[test]
    fn gelu_reads_a_strided_view() {
        let t = Tensor::arange(0f32, 12.0, &Device::Cpu)
            .unwrap()
            .reshape((3, 4))
            .unwrap();
        let view = t.t().unwrap();
        let fast = gelu_erf(&view).unwrap().to_vec2::<f32>().unwrap();
        let slow = view.gelu_erf().unwrap().to_vec2::<f32>().unwrap();
        for (a, b) in fast.iter().flatten().zip(slow.iter().flatten()) {
            assert!((a - b).abs() < 1e-5);
        }
    }
}
