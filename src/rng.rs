//! The one source of randomness: a seeded ChaCha stream.
//!
//! Candle's CPU RNG cannot be seeded, so weight initialisation, shuffling, dropout masks and
//! bootstrap resamples all draw from here. Its position can be saved and restored, which is
//! what makes an interrupted-and-resumed run bit-identical to a straight one.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct SeededRng {
    inner: ChaCha8Rng,
}

/// A saved RNG position.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RngState {
    pub seed: [u8; 32],
    pub stream: u64,
    /// The word position, as a decimal string (u128 does not fit JSON numbers).
    pub word_pos: String,
}

impl SeededRng {
    /// A generator for `seed`; `stream` separates independent uses of one seed
    /// (initialisation, shuffling, dropout) so that changing one does not shift the others.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        SeededRng { inner }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1), with 24 bits of precision (exact in f32).
    pub fn uniform(&mut self) -> f32 {
        (self.inner.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    /// Uniform integer in [0, n), without modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        let n = n as u64;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.inner.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    /// Standard normal, by Box-Muller (one value per call, so the stream position is simple).
    pub fn normal(&mut self) -> f32 {
        let u1 = ((self.inner.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.inner.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    pub fn state(&self) -> RngState {
        RngState {
            seed: self.inner.get_seed(),
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos().to_string(),
        }
    }

    pub fn from_state(state: &RngState) -> Option<Self> {
        let mut inner = ChaCha8Rng::from_seed(state.seed);
        inner.set_stream(state.stream);
        inner.set_word_pos(state.word_pos.parse().ok()?);
        Some(SeededRng { inner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let mut a = SeededRng::new(7, 1);
        let mut b = SeededRng::new(7, 1);
        let xs: Vec<u64> = (0..10).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..10).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(
            SeededRng::new(7, 2).next_u64(),
            SeededRng::new(7, 1).next_u64()
        );
    }

    #[test]
    fn restored_state_continues_the_stream() {
        let mut a = SeededRng::new(3, 0);
        for _ in 0..5 {
            a.normal();
        }
        let mut b = SeededRng::from_state(&a.state()).unwrap();
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(a.uniform(), b.uniform());
    }

    #[test]
    fn below_stays_in_range_and_uniform_in_unit_interval() {
        let mut r = SeededRng::new(1, 0);
        for n in 1..50 {
            assert!(r.below(n) < n);
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
