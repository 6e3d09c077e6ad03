//! The order in which an epoch visits the training rows: a seeded shuffle, or balanced
//! sampling by class (`train.sampling`), optionally regrouped into batches of similar length
//! (`train.group_by_length`). All are pure functions of (seed, epoch), so a resumed run
//! rebuilds the order it was interrupted in.

use super::Ctx;
use crate::rng::SeededRng;
use std::collections::BTreeMap;

const SHUFFLE_STREAM: u64 = 0x5407;
const GROUP_STREAM: u64 = 0x6a09;
/// Batches per sorted run: long enough that neighbours in length share a batch, short
/// enough that a batch's rows still come from all over the epoch's shuffled order.
const GROUP_BATCHES: usize = 64;

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

/// `order` regrouped so each batch holds rows of similar `lengths`: every run of
/// `GROUP_BATCHES` batches is sorted by length (stable) and cut into batches, then the full
/// batches are shuffled (seeded by seed and epoch). A short last batch stays last, so the
/// trainer's fixed `batch`-sized slices still cut the same batches.
pub(super) fn group_by_length(
    order: Vec<usize>,
    lengths: &[usize],
    batch: usize,
    seed: u64,
    epoch: usize,
) -> Vec<usize> {
    let batch = batch.max(1);
    let mut batches: Vec<Vec<usize>> = Vec::with_capacity(order.len().div_ceil(batch));
    for run in order.chunks(batch * GROUP_BATCHES) {
        let mut run = run.to_vec();
        run.sort_by_key(|&r| std::cmp::Reverse(lengths.get(r).copied().unwrap_or(0)));
        batches.extend(run.chunks(batch).map(<[usize]>::to_vec));
    }
    let short = match batches.last() {
        Some(b) if b.len() < batch => batches.pop(),
        _ => None,
    };
    let mut rng = SeededRng::new(seed, GROUP_STREAM.wrapping_add(epoch as u64 * 0x9e37));
    rng.shuffle(&mut batches);
    batches.extend(short);
    batches.concat()
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
    fn grouping_by_length_keeps_every_row_and_batches_rows_of_similar_length() {
        let lengths: Vec<usize> = (0..1000).map(|i| (i * 37) % 101).collect();
        let order = epoch_order(5, 0, 1000, None);
        let grouped = group_by_length(order.clone(), &lengths, 8, 5, 0);
        let mut sorted = grouped.clone();
        sorted.sort();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_eq!(grouped, group_by_length(order.clone(), &lengths, 8, 5, 0));
        assert_ne!(grouped, group_by_length(order.clone(), &lengths, 8, 5, 1));
        let padding = |o: &[usize]| -> usize {
            o.chunks(8)
                .map(|b| {
                    let max = b.iter().map(|&r| lengths[r]).max().unwrap_or(0);
                    b.iter().map(|&r| max - lengths[r]).sum::<usize>()
                })
                .sum()
        };
        assert!(
            padding(&grouped) * 10 < padding(&order),
            "grouped {} against shuffled {}",
            padding(&grouped),
            padding(&order)
        );
    }

    #[test]
    fn grouping_by_length_leaves_the_short_batch_last() {
        let lengths: Vec<usize> = (0..21).collect();
        let grouped = group_by_length((0..21).collect(), &lengths, 4, 1, 0);
        // The run is sorted longest first, so the short batch holds the shortest row.
        assert_eq!(grouped[20], 0);
        let first_batches: std::collections::BTreeSet<usize> =
            grouped[..20].iter().copied().collect();
        assert_eq!(first_batches.len(), 20);
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
