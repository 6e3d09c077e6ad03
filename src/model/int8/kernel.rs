//! The int8 matrix product under `--quantize int8`: u8 activations times s8 weights, summed
//! into i32.
//!
//! Integer sums are exact whatever their order, so the AVX-512 VNNI kernel and the portable
//! loop give the same i32 results on every CPU; the scaling back to f32 happens afterwards in
//! one shared loop (in `super`), so the output bits do not depend on the CPU either.

/// Output columns in one packed block: one 512-bit register of i32 sums.
pub const LANES: usize = 16;
/// Blocks per panel: the columns one micro-tile computes at once.
pub const NB: usize = 4;
/// Rows per micro-tile. MR × NB accumulators plus NB weight registers and one broadcast fit
/// in AVX-512's 32 registers.
pub const MR: usize = 6;
/// Columns per panel.
pub const PANEL: usize = LANES * NB;

/// Weights packed for VNNI's `vpdpbusd`: per block of 16 output columns, the inputs in groups
/// of 4, each group holding the 16 columns' 4 bytes side by side (64 bytes).
pub struct Packed {
    /// Output columns, padded to whole panels with zero weights.
    pub n_pad: usize,
    /// Input groups of 4; the inputs are padded with zero weights to `4 * k4`.
    pub k4: usize,
    data: Vec<i8>,
}

impl Packed {
    /// Pack `w`, row-major `[n, k]` (one row per output column).
    pub fn new(w: &[i8], n: usize, k: usize) -> Self {
        let k4 = k.div_ceil(4);
        let n_pad = n.div_ceil(PANEL) * PANEL;
        let mut data = vec![0i8; n_pad * k4 * 4];
        for (o, row) in w.chunks_exact(k).take(n).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                data[Self::index(k4, o, i)] = v;
            }
        }
        Packed { n_pad, k4, data }
    }

    /// Where weight (output `o`, input `i`) lives in the packed layout.
    fn index(k4: usize, o: usize, i: usize) -> usize {
        ((o / LANES * k4 + i / 4) * LANES + o % LANES) * 4 + i % 4
    }

    /// Bytes per padded activation row.
    pub fn row_bytes(&self) -> usize {
        self.k4 * 4
    }
}

/// `out[r, o] = Σ_i a[r, i] · w[o, i]` for `a`'s rows (each `row_bytes` long; a whole
/// number of `MR`-row tiles) into `out` (rows of `n_pad` sums).
pub fn gemm(a: &[u8], w: &Packed, out: &mut [i32]) {
    let stride = w.row_bytes();
    let rows = a.len() / stride;
    debug_assert_eq!(rows % MR, 0);
    debug_assert_eq!(out.len(), rows * w.n_pad);
    #[cfg(target_arch = "x86_64")]
    {
        if vnni_available() {
            for (a_tile, out_tile) in a
                .chunks_exact(MR * stride)
                .zip(out.chunks_exact_mut(MR * w.n_pad))
            {
                for panel in 0..w.n_pad / PANEL {
                    // SAFETY: the CPU has AVX-512F/BW and VNNI (checked above); `a_tile`
                    // holds MR rows of `stride` bytes, `out_tile` MR rows of `n_pad` sums
                    // and the packed data whole panels of `k4` groups, which is every
                    // address the kernel reads or writes.
                    unsafe { tile_vnni(a_tile, w, panel, out_tile) };
                }
            }
            return;
        }
    }
    gemm_portable(a, w, out);
}

/// Whether this CPU runs the VNNI kernel (others take the portable loop, same results).
pub fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The reference: plain integer loops over the packed weights.
pub fn gemm_portable(a: &[u8], w: &Packed, out: &mut [i32]) {
    let stride = w.row_bytes();
    for (row, sums) in a.chunks_exact(stride).zip(out.chunks_exact_mut(w.n_pad)) {
        for (o, s) in sums.iter_mut().enumerate() {
            *s = row
                .iter()
                .enumerate()
                .map(|(i, &x)| i32::from(x) * i32::from(w.data[Packed::index(w.k4, o, i)]))
                .sum();
        }
    }
}

/// One MR × PANEL tile over the whole inner dimension, its sums kept in registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_vnni(a: &[u8], w: &Packed, panel: usize, out: &mut [i32]) {
    use std::arch::x86_64::*;
    let stride = w.row_bytes();
    let k4 = w.k4;
    let wp = w.data.as_ptr().add(panel * NB * k4 * 64);
    let ap = a.as_ptr();
    let mut acc = [[_mm512_setzero_si512(); NB]; MR];
    for g in 0..k4 {
        let mut wv = [_mm512_setzero_si512(); NB];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = _mm512_loadu_si512(wp.add((j * k4 + g) * 64).cast());
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let four = ap.add(r * stride + g * 4).cast::<i32>().read_unaligned();
            let av = _mm512_set1_epi32(four);
            for (s, v) in acc_r.iter_mut().zip(&wv) {
                *s = _mm512_dpbusd_epi32(*s, av, *v);
            }
        }
    }
    let op = out.as_mut_ptr();
    for (r, acc_r) in acc.iter().enumerate() {
        for (j, s) in acc_r.iter().enumerate() {
            _mm512_storeu_si512(op.add(r * w.n_pad + panel * PANEL + j * LANES).cast(), *s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the test needs no RNG crate.
    fn values(n: usize, seed: u32) -> Vec<u32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                x >> 8
            })
            .collect()
    }

    #[test]
    fn vnni_kernel_and_portable_loop_give_the_same_sums_as_plain_arithmetic() {
        // Sizes that are not whole panels or groups, to exercise the padding.
        let (rows, n, k) = (2 * MR, 70, 37);
        let w: Vec<i8> = values(n * k, 1)
            .iter()
            .map(|v| (v % 255) as i8 - 127 + 1)
            .collect();
        let packed = Packed::new(&w, n, k);
        let stride = packed.row_bytes();
        let mut a = vec![0u8; rows * stride];
        for (r, row) in a.chunks_exact_mut(stride).enumerate() {
            for (i, x) in row.iter_mut().take(k).enumerate() {
                *x = (values(1, (r * k + i) as u32)[0] % 256) as u8;
            }
        }
        let mut fast = vec![0i32; rows * packed.n_pad];
        let mut slow = vec![0i32; rows * packed.n_pad];
        gemm(&a, &packed, &mut fast);
        gemm_portable(&a, &packed, &mut slow);
        assert_eq!(fast, slow);
        for r in 0..rows {
            for o in 0..n {
                let want: i32 = (0..k)
                    .map(|i| i32::from(a[r * stride + i]) * i32::from(w[o * k + i]))
                    .sum();
                assert_eq!(fast[r * packed.n_pad + o], want, "row {r}, column {o}");
            }
        }
    }
}
