//! Checks of the fused kernels against candle's own ops, values and gradients.

use super::*;
use candle_core::{Device, Var};

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Inputs with more rows than one block, so the threaded path runs too.
fn input(rows: usize, h: usize, seed: u32) -> Vec<f32> {
    (0..rows * h)
        .map(|i| {
            let v = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
            (v % 2000) as f32 / 250.0 - 4.0
        })
        .collect()
}

#[test]
fn layer_norm_matches_candles_values_and_gradients() {
    let (rows, h) = (3 * ROWS + 5, 24);
    let dev = Device::Cpu;
    let x = Var::from_vec(input(rows, h, 1), (rows, h), &dev).unwrap();
    let w = Var::from_vec(input(1, h, 2), h, &dev).unwrap();
    let b = Var::from_vec(input(1, h, 3), h, &dev).unwrap();
    let mix = Tensor::from_vec(input(rows, h, 4), (rows, h), &dev).unwrap();
    let run = |f: &dyn Fn() -> Tensor| {
        let y = f();
        let grads = (y.clone() * &mix)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g = |v: &Var| flat(grads.get(v).unwrap());
        (flat(&y), g(&x), g(&w), g(&b))
    };
    let ours = run(&|| layer_norm(&x, &w, &b, 1e-12).unwrap());
    let theirs = run(&|| candle_nn::ops::layer_norm_slow(&x, &w, &b, 1e-12).unwrap());
    close(&ours.0, &theirs.0, 1e-5, "y");
    close(&ours.1, &theirs.1, 1e-4, "dx");
    close(&ours.2, &theirs.2, 1e-4, "dw");
    close(&ours.3, &theirs.3, 1e-4, "db");
}

#[test]
fn softmax_matches_candles_values_and_gradients() {
    let (rows, h) = (2 * ROWS + 7, 33);
    let dev = Device::Cpu;
    let x = Var::from_vec(input(rows, h, 5), (rows, 1, h), &dev).unwrap();
    let mix = Tensor::from_vec(input(rows, h, 6), (rows, 1, h), &dev).unwrap();
    let run = |y: Tensor| {
        let grads = (y.clone() * &mix)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        (flat(&y), flat(grads.get(&x).unwrap()))
    };
    let ours = run(softmax_last_dim(&x).unwrap());
    let theirs = run(candle_nn::ops::softmax(&x, D::Minus1).unwrap());
    close(&ours.0, &theirs.0, 1e-6, "y");
    close(&ours.1, &theirs.1, 1e-5, "dx");
}

#[test]
fn fused_ops_give_the_same_bits_on_one_thread_and_on_many() {
    let (rows, h) = (5 * ROWS + 3, 16);
    let dev = Device::Cpu;
    let x = Var::from_vec(input(rows, h, 7), (rows, h), &dev).unwrap();
    let w = Var::from_vec(input(1, h, 8), h, &dev).unwrap();
    let b = Var::from_vec(input(1, h, 9), h, &dev).unwrap();
    let run = || {
        let y = softmax_last_dim(&layer_norm(&x, &w, &b, 1e-5).unwrap()).unwrap();
        let grads = (y.clone() * &x.as_tensor().sin().unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        [
            flat(&y),
            flat(grads.get(&x).unwrap()),
            flat(grads.get(&w).unwrap()),
        ]
    };
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let one = pool(1).install(run);
    let four = pool(4).install(run);
    for (a, b) in one.iter().zip(&four) {
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b));
    }
}

#[test]
fn add_bias_matches_candles_broadcast_add_and_its_gradients() {
    let (b, t, h) = (5, 41, 40);
    let dev = Device::Cpu;
    let x = Var::from_vec(input(b * t, h, 10), (b, t, h), &dev).unwrap();
    let bias = Var::from_vec(input(1, h, 11), h, &dev).unwrap();
    let mix = Tensor::from_vec(input(b * t, h, 12), (b, t, h), &dev).unwrap();
    let run = |y: Tensor| {
        let grads = (y.clone() * &mix)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g = |v: &Var| flat(grads.get(v).unwrap());
        (flat(&y), g(&x), g(&bias))
    };
    let ours = run(add_bias(&x, &bias).unwrap());
    let theirs = run(x.broadcast_add(&bias).unwrap());
    assert_eq!(ours.0, theirs.0);
    assert_eq!(ours.1, theirs.1);
    close(&ours.2, &theirs.2, 1e-5, "dbias");
}

#[test]
fn the_masked_softmax_gives_the_bits_of_scale_then_mask_then_softmax() {
    // [batch 3, heads 4, tokens 13, tokens 13]: more rows than one block.
    let (b, heads, t) = (3, 4, 13);
    let dev = Device::Cpu;
    let x = Var::from_vec(input(b * heads * t, t, 13), (b, heads, t, t), &dev).unwrap();
    let mask: Vec<f32> = (0..b * t)
        .map(|i| {
            if i % t >= t - i / t * 3 {
                -10_000.0
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::from_vec(mask, (b, 1, 1, t), &dev).unwrap();
    let mix = Tensor::from_vec(input(b * heads * t, t, 14), (b, heads, t, t), &dev).unwrap();
    let scale = 1.0 / 32f64.sqrt();
    let run = |y: Tensor| {
        let grads = (y.clone() * &mix)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let bits = |v: Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        (bits(flat(&y)), bits(flat(grads.get(&x).unwrap())))
    };
    let three = |x: &Tensor| (x * scale).unwrap().broadcast_add(&mask).unwrap();
    let ours = run(masked_softmax(&x, &mask, scale).unwrap());
    let separate = run(softmax_last_dim(&three(&x)).unwrap());
    assert_eq!(ours.0, separate.0, "values");
    assert_eq!(ours.1, separate.1, "gradients");
    let f = |v: &[u32]| v.iter().map(|&u| f32::from_bits(u)).collect::<Vec<_>>();
    let candles = run(candle_nn::ops::softmax(&three(&x), D::Minus1).unwrap());
    close(&f(&ours.0), &f(&candles.0), 1e-6, "y");
    close(&f(&ours.1), &f(&candles.1), 1e-5, "dx");
}
