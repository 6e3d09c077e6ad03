//! The agreement statistics themselves, on codings already reduced to label indices:
//! Krippendorff's alpha (nominal) from the coincidence matrix, its bootstrap interval over
//! items, per-class agreement, and Cohen's kappa with the confusion matrix of two coders.

use crate::rng::SeededRng;

/// One item's codings: (coder index, label index), at most one per coder.
pub type Item = Vec<(usize, usize)>;

/// The coincidence matrix of `items` over `labels` categories: each pairable item (two or
/// more codings) adds every ordered pair of its values, weighted 1 / (m - 1).
pub fn coincidences(items: &[&Item], labels: usize) -> Vec<Vec<f64>> {
    let mut o = vec![vec![0f64; labels]; labels];
    for item in items.iter().filter(|i| i.len() >= 2) {
        let w = 1.0 / (item.len() - 1) as f64;
        for (a, &(_, c)) in item.iter().enumerate() {
            for (b, &(_, k)) in item.iter().enumerate() {
                if a != b {
                    o[c][k] += w;
                }
            }
        }
    }
    o
}

/// Krippendorff's alpha for nominal data: 1 - (n - 1) * D_o / D_e over the coincidence
/// matrix. `None` when it is undefined (fewer than two pairable values, or one category only).
pub fn alpha(o: &[Vec<f64>]) -> Option<f64> {
    let totals: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = totals.iter().sum();
    let matched: f64 = (0..o.len()).map(|c| o[c][c]).sum();
    let expected = n * n - totals.iter().map(|t| t * t).sum::<f64>();
    if n <= 1.0 || expected <= 0.0 {
        return None;
    }
    Some(1.0 - (n - 1.0) * (n - matched) / expected)
}

/// Per category: the share of its pairable values that another coder matched (o_cc / n_c).
pub fn per_class(o: &[Vec<f64>]) -> Vec<Option<f64>> {
    o.iter()
        .enumerate()
        .map(|(c, row)| {
            let n: f64 = row.iter().sum();
            (n > 0.0).then(|| row[c] / n)
        })
        .collect()
}

/// A 95% percentile interval for alpha from `resamples` bootstrap samples of the items.
pub fn alpha_interval(
    items: &[&Item],
    labels: usize,
    resamples: usize,
    seed: u64,
) -> Option<[f64; 2]> {
    let pairable: Vec<&Item> = items.iter().copied().filter(|i| i.len() >= 2).collect();
    if resamples == 0 || pairable.is_empty() {
        return None;
    }
    let mut rng = SeededRng::new(seed, 0xa1fa);
    let mut values: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            let sample: Vec<&Item> = (0..pairable.len())
                .map(|_| pairable[rng.below(pairable.len())])
                .collect();
            alpha(&coincidences(&sample, labels))
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some([at(0.025), at(0.975)])
}

/// Two coders on the items both coded: how many, the share they agree on, Cohen's kappa
/// (`None` when chance agreement is 1) and the confusion matrix (rows: the first coder).
pub struct Pair {
    pub items: usize,
    pub observed: Option<f64>,
    pub kappa: Option<f64>,
    pub confusion: Vec<Vec<u64>>,
}

pub fn pair(items: &[&Item], a: usize, b: usize, labels: usize) -> Pair {
    let mut confusion = vec![vec![0u64; labels]; labels];
    let mut n = 0u64;
    for item in items {
        let of = |coder: usize| item.iter().find(|(c, _)| *c == coder).map(|(_, l)| *l);
        if let (Some(x), Some(y)) = (of(a), of(b)) {
            confusion[x][y] += 1;
            n += 1;
        }
    }
    if n == 0 {
        return Pair {
            items: 0,
            observed: None,
            kappa: None,
            confusion,
        };
    }
    let nf = n as f64;
    let agree: u64 = (0..labels).map(|c| confusion[c][c]).sum();
    let p_o = agree as f64 / nf;
    let p_e: f64 = (0..labels)
        .map(|c| {
            let row: u64 = confusion[c].iter().sum();
            let col: u64 = confusion.iter().map(|r| r[c]).sum();
            (row as f64 / nf) * (col as f64 / nf)
        })
        .sum();
    Pair {
        items: n as usize,
        observed: Some(p_o),
        kappa: (p_e < 1.0).then(|| (p_o - p_e) / (1.0 - p_e)),
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_one_for_perfect_agreement_and_matches_a_hand_computed_case() {
        let items: Vec<Item> = vec![vec![(0, 0), (1, 0)], vec![(0, 1), (1, 1)]];
        let refs: Vec<&Item> = items.iter().collect();
        assert_eq!(alpha(&coincidences(&refs, 2)), Some(1.0));
        // Krippendorff (2011), nominal example reduced: three items, one disagreement.
        // o = [[2, 1], [1, 2]], n = 6, D_o = 2, expected = 36 - 18 = 18: 1 - 5 * 2 / 18.
        let items: Vec<Item> = vec![
            vec![(0, 0), (1, 0)],
            vec![(0, 1), (1, 1)],
            vec![(0, 0), (1, 1)],
        ];
        let refs: Vec<&Item> = items.iter().collect();
        let a = alpha(&coincidences(&refs, 2)).unwrap();
        assert!((a - (1.0 - 5.0 * 2.0 / 18.0)).abs() < 1e-12, "{a}");
    }

    #[test]
    fn alpha_is_undefined_without_pairable_values_or_variation() {
        let single: Vec<Item> = vec![vec![(0, 0)], vec![(1, 1)]];
        let refs: Vec<&Item> = single.iter().collect();
        assert_eq!(alpha(&coincidences(&refs, 2)), None);
        let same: Vec<Item> = vec![vec![(0, 0), (1, 0)], vec![(0, 0), (1, 0)]];
        let refs: Vec<&Item> = same.iter().collect();
        assert_eq!(alpha(&coincidences(&refs, 2)), None);
    }

    #[test]
    fn kappa_counts_only_items_both_coders_coded() {
        let items: Vec<Item> = vec![
            vec![(0, 0), (1, 0)],
            vec![(0, 1), (1, 1)],
            vec![(0, 0), (1, 1)],
            vec![(0, 1), (2, 0)],
        ];
        let refs: Vec<&Item> = items.iter().collect();
        let p = pair(&refs, 0, 1, 2);
        assert_eq!(p.items, 3);
        assert_eq!(p.confusion, vec![vec![1, 1], vec![0, 1]]);
        // p_o = 2/3; p_e = (2/3)(1/3) + (1/3)(2/3) = 4/9; kappa = (2/3 - 4/9) / (5/9) = 0.4.
        assert!((p.kappa.unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(pair(&refs, 1, 2, 2).items, 0);
    }
}
