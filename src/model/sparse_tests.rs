use super::*;
use candle_core::{backprop::GradStore, Device, Result, Tensor, Var};
use std::collections::HashMap;

/// A table whose rows all hold `data` (row-major), as if each had been updated once.
fn table_of(data: &[f32], dim: usize) -> SparseTable {
    let mut t = SparseTable::new(data.len() / dim, dim, RowInit::Zeros);
    for row in 0..t.rows {
        t.preset(row, &data[row * dim..(row + 1) * dim]);
    }
    t
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Every row's current value, as a dense table would hold it.
fn dense(t: &SparseTable) -> Vec<f32> {
    let all: Vec<u32> = (0..t.rows as u32).collect();
    t.gather_vec(&all)
}

fn uniform(rows: usize, dim: usize) -> SparseTable {
    let init = RowInit::Uniform {
        seed: 0x5eed,
        bound: 1.0 / dim as f32,
    };
    SparseTable::new(rows, dim, init)
}

fn reload(t: &SparseTable) -> SparseTable {
    let weights: HashMap<String, Tensor> = t.weights("embed.table").unwrap().into_iter().collect();
    let mut back = SparseTable::new(t.rows, t.dim, RowInit::Zeros);
    back.load(&weights, "embed.table").unwrap();
    back
}

#[test]
fn lazy_decay_reads_as_if_every_row_had_decayed_at_every_step() {
    let start = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let mut t = table_of(&start, 2);
    let rates = [0.1, 0.05, 0.2];
    for (step, rate) in rates.iter().enumerate() {
        t.add_decay(*rate);
        if step == 1 {
            t.settle(1);
        }
    }
    let factor: f32 = rates.iter().map(|r| 1.0 - *r as f32).product();
    let got = dense(&t);
    let want: Vec<f32> = start.iter().map(|x| x * factor).collect();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
    assert_eq!(dense(&reload(&t)), got);
}

#[test]
fn untouched_rows_read_the_same_initial_values_in_any_order_and_after_a_reload() {
    let t = uniform(1000, 4);
    let a = t.gather_vec(&[7, 999, 3]);
    let b = t.gather_vec(&[3, 7, 999]);
    assert_eq!(&a[0..4], &b[4..8]);
    assert_eq!(&a[8..12], &b[0..4]);
    assert!(a.iter().all(|x| x.abs() <= 0.25), "{a:?}");
    assert!(a.iter().any(|x| *x != 0.0));
    assert_ne!(&a[0..4], &a[4..8], "rows must differ");
    assert_eq!(t.stored(), 0, "reading must not store a row");
    assert_eq!(dense(&reload(&t)), dense(&t));
}

fn opt(kind: OptimizerKind, wd: f64) -> Optimizer {
    let var = Var::from_slice(&[0f32], 1, &Device::Cpu).unwrap();
    let mut o = Optimizer::new(kind, wd, 0.0, vec![("w".into(), var)]).unwrap();
    o.step = 1;
    o
}

#[test]
fn a_checkpoint_stores_only_the_updated_rows_and_reads_back_every_row_alike() {
    for wd in [0.0, 0.1] {
        let mut t = uniform(50_000, 3);
        let o = opt(OptimizerKind::AdamW, wd);
        t.step(
            &o,
            &[40_000, 12],
            &[0.5, -0.5, 1.0, 0.25, 0.0, -1.0],
            0.1,
            1.0,
        );
        t.step(&o, &[12], &[1.0, 1.0, 1.0], 0.1, 1.0);
        assert_eq!(t.stored(), 2);
        let weights = t.weights("embed.table").unwrap();
        let size: usize = weights.iter().map(|(_, w)| w.elem_count()).sum();
        assert!(size < 20, "{size} values stored for 2 rows");
        let back = reload(&t);
        let stored = |t: &SparseTable| t.gather_vec(&[12, 40_000]);
        assert_eq!(stored(&back), stored(&t), "weight decay {wd}");
        // What labelling reads: the stored rows, and zero for the rest.
        let pool = |t: &SparseTable| {
            let mut out = vec![0f32; 3];
            t.pool_into(&[7, 12, 40_000, 9_999], &[], &mut out);
            out
        };
        assert_eq!(pool(&back), pool(&t));
        let mut only_stored = vec![0f32; 3];
        t.pool_into(&[12, 40_000], &[0.25, 0.25], &mut only_stored);
        assert_eq!(pool(&t), only_stored, "untouched rows must read as zero");
    }
}

#[test]
fn a_dense_table_from_an_older_checkpoint_still_loads() {
    let data: Vec<f32> = (0..6).map(|i| i as f32).collect();
    let weights = HashMap::from([(
        "embed.table".to_string(),
        Tensor::from_slice(&data, (3, 2), &Device::Cpu).unwrap(),
    )]);
    let mut t = SparseTable::new(3, 2, RowInit::Zeros);
    t.load(&weights, "embed.table").unwrap();
    assert_eq!(dense(&t), data);
}

#[test]
fn a_table_naming_a_row_twice_or_out_of_range_is_refused() {
    for rows in [[1u32, 1], [1, 3]] {
        let weights = HashMap::from([
            (
                "embed.table".to_string(),
                Tensor::zeros((2, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
            ),
            (
                "embed.table.rows".to_string(),
                Tensor::from_slice(&rows, 2, &Device::Cpu).unwrap(),
            ),
        ]);
        let mut t = SparseTable::new(3, 2, RowInit::Zeros);
        assert!(t.load(&weights, "embed.table").is_err(), "{rows:?}");
    }
}

#[test]
fn a_resumed_table_continues_as_an_unbroken_one_would() {
    let o = opt(OptimizerKind::AdamW, 0.1);
    let grad = [0.5, -0.5, 1.0, 0.25];
    let mut straight = uniform(100, 2);
    straight.step(&o, &[5, 9], &grad, 0.1, 1.0);
    let mut resumed = reload(&straight);
    let state: HashMap<String, Tensor> = straight.state().unwrap().into_iter().collect();
    resumed.load_state(&state).unwrap();
    for t in [&mut straight, &mut resumed] {
        t.step(&o, &[9, 70], &grad, 0.1, 1.0);
    }
    assert_eq!(dense(&straight), dense(&resumed));
}

/// A loss that touches rows 1 and 3 of a `[4, 3]` table only.
fn grads_of(var: &Var) -> Result<GradStore> {
    let ids = Tensor::new(&[1u32, 3], &Device::Cpu)?;
    let rows = var.as_tensor().index_select(&ids, 0)?;
    let w = Tensor::new(&[[1f32, -2.0, 0.5], [3.0, 0.25, -1.0]], &Device::Cpu)?;
    (rows.sqr()? * w)?.sum_all()?.backward()
}

#[test]
fn sparse_and_dense_steps_agree_on_every_row_with_and_without_weight_decay() {
    let data: Vec<f32> = (0..12).map(|i| (i as f32 - 5.0) / 7.0).collect();
    let runs = [
        (OptimizerKind::AdamW, 0.0, 0.0),
        (OptimizerKind::Sgd, 0.9, 0.0),
        // Decay reaches the rows no batch touched, though the sparse step never visits them.
        (OptimizerKind::AdamW, 0.0, 0.5),
    ];
    for (kind, momentum, wd) in runs {
        let var = Var::from_slice(&data, (4, 3), &Device::Cpu).unwrap();
        let mut opt = Optimizer::new(kind, wd, momentum, vec![("w".into(), var.clone())]).unwrap();
        let mut sparse = table_of(&data, 3);
        for _ in 0..3 {
            let before = values(var.as_tensor());
            let grads = grads_of(&var).unwrap();
            let g = values(grads.get(var.as_tensor()).unwrap());
            // The sparse table sees the same rows, with the gradient its own values give.
            let sparse_grads = {
                let v = Var::from_slice(&dense(&sparse), (4, 3), &Device::Cpu).unwrap();
                let all = values(grads_of(&v).unwrap().get(v.as_tensor()).unwrap());
                [&all[3..6], &all[9..12]].concat()
            };
            opt.step_dense(&grads, 0.01, 1.0).unwrap();
            sparse.step(&opt, &[1, 3], &sparse_grads, 0.01, 1.0);
            let after = values(var.as_tensor());
            let sparse_after = dense(&sparse);
            for i in 0..12 {
                let touched = (3..6).contains(&i) || (9..12).contains(&i);
                assert!(
                    (after[i] - sparse_after[i]).abs() < 1e-5,
                    "{kind:?} wd {wd} row value {i}"
                );
                if !touched && wd == 0.0 {
                    assert_eq!(after[i], before[i], "{kind:?}: untouched {i} moved");
                    assert_eq!(g[i], 0.0);
                }
            }
        }
    }
}

#[test]
fn a_preset_row_is_stored_labelled_with_and_reloaded_though_never_updated() {
    let mut t = uniform(5, 2);
    t.preset(3, &[0.5, -1.0]);
    assert_eq!(t.stored(), 1);
    let mut pooled = [0.0f32; 2];
    t.pool_into(&[3, 4], &[], &mut pooled);
    // Row 4 was never updated: it reads as zero when labelling; row 3 reads its preset.
    assert_eq!(pooled, [0.25, -0.5]);
    assert_eq!(reload(&t).gather_vec(&[3]), vec![0.5, -1.0]);
}
