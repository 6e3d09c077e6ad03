//! The order in which an epoch visits the training rows: a seeded shuffle, or balanced
//! sampling by class (`train.sampling`). Both are pure functions of (seed, epoch), so a resumed
//! run rebuilds the order it was interrupted in.

use super::Ctx;
use crate::rng::SeededRng;
use std::collections::BTreeMap;

const SHUFFLE_STREAM: u64 = 0x5407;

/// Example order for `epoch`: a pure function of (seed, epoch), so a resume can rebuild it.
/// `classes` (each row's class, for balanced sampling) draws rows class by class instead.
pub(super) fn epoch_order(
    seed: u64,
    epoch: usize,
    n: usize,
    classes: Option<&[u32]>,
) -> Vec<usize> {
    let mut rng = SeededRng::new(seed, SHUFFLE_STREAM.wrapping_add(epoch as u64 * 0x9e37));
    let Some(classes) = classes else {
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        return order;
    };
    let mut members: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (row, c) in classes.iter().enumerate() {
        members.entry(*c).or_default().push(row);
    }
    let groups: Vec<&Vec<usize>> = members.values().collect();
    (0..n)
        .map(|_| {
            let g = groups[rng.below(groups.len())];
            g[rng.below(g.len())]
        })
        .collect()
}

/// Each training row's class for balanced sampling (rows without a label form one class).
pub(super) fn sampling_classes(ctx: &Ctx) -> Option<Vec<u32>> {
    let v = &ctx.cfg.valid;
    (v.raw.train.sampling == crate::config::Sampling::Balanced).then(|| {
        ctx.train
            .iter()
            .map(|e| e.labels[v.stratify_task].unwrap_or(u32::MAX))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffled_epoch_visits_every_row_once_in_a_seeded_order() {
        let a = epoch_order(3, 1, 50, None);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(3, 1, 50, None));
        assert_ne!(a, epoch_order(3, 2, 50, None));
    }

    #[test]
    fn a_balanced_epoch_draws_each_class_about_equally_often() {
        // 90 rows of class 0, 10 of class 1.
        let classes: Vec<u32> = (0..100).map(|i| u32::from(i >= 90)).collect();
        let order = epoch_order(7, 0, 10_000, Some(&classes));
        assert_eq!(order, epoch_order(7, 0, 10_000, Some(&classes)));
        let minority = order.iter().filter(|&&r| classes[r] == 1).count();
        assert!((4_500..5_500).contains(&minority), "{minority} of 10000");
        let distinct: std::collections::BTreeSet<usize> = order
            .iter()
            .filter(|&&r| classes[r] == 1)
            .copied()
            .collect();
        assert_eq!(distinct.len(), 10, "every minority row is drawn");
    }
}
