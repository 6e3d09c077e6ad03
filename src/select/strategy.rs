//! Which candidates to annotate next, given the model's probabilities (and, for `diverse`,
//! its representations). Pure functions of their inputs and a seed, so a selection can be
//! repeated exactly.

use crate::rng::SeededRng;

/// `--strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Smallest gap between the two most probable labels first.
    Margin,
    /// Highest entropy of the label distribution first.
    Entropy,
    /// A seeded random sample: the baseline the others must beat.
    Random,
    /// The most uncertain texts by margin, grouped into as many clusters of the model's own
    /// representations as rows wanted; the most uncertain of each cluster.
    Diverse,
}

/// Top-1 minus top-2 probability.
pub fn margin(p: &[f32]) -> f32 {
    let (mut a, mut b) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &x in p {
        if x > a {
            b = a;
            a = x;
        } else if x > b {
            b = x;
        }
    }
    if b == f32::NEG_INFINITY {
        return 1.0;
    }
    a - b
}

/// Shannon entropy in nats.
pub fn entropy(p: &[f32]) -> f32 {
    -p.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| x * x.ln())
        .sum::<f32>()
}

/// Candidates in the order the strategy would take them, with the score it used (margin:
/// lower first; entropy: higher first; random: draw order). Ties keep input order.
pub fn rank(strategy: Strategy, probs: &[Vec<f32>], seed: u64) -> Vec<(usize, f32)> {
    let mut order: Vec<(usize, f32)> = match strategy {
        Strategy::Margin | Strategy::Diverse => {
            probs.iter().map(|p| margin(p)).enumerate().collect()
        }
        Strategy::Entropy => probs.iter().map(|p| -entropy(p)).enumerate().collect(),
        Strategy::Random => {
            let mut idx: Vec<usize> = (0..probs.len()).collect();
            SeededRng::new(seed, 0x5e1ec7).shuffle(&mut idx);
            return idx
                .into_iter()
                .enumerate()
                .map(|(r, i)| (i, r as f32))
                .collect();
        }
    };
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    if strategy == Strategy::Entropy {
        order.iter_mut().for_each(|o| o.1 = -o.1);
    }
    order
}

/// The candidates `diverse` clusters: the 10 x `n` most uncertain of `ranked`.
pub fn shortlist(ranked: &[(usize, f32)], n: usize) -> Vec<(usize, f32)> {
    ranked.iter().copied().take(n.saturating_mul(10)).collect()
}

/// `diverse`: cluster the `shortlist` (most uncertain first; `reps[p]` is the representation
/// of its `p`-th entry) into `n` groups (k-means, seeded k-means++ start) and take each group's
/// most uncertain member; the picks come back most uncertain first.
pub fn diverse(pool: &[(usize, f32)], reps: &[Vec<f32>], n: usize, seed: u64) -> Vec<(usize, f32)> {
    if pool.len() <= n {
        return pool.to_vec();
    }
    let points: Vec<&[f32]> = reps.iter().map(Vec::as_slice).collect();
    let assignment = kmeans(&points, n, seed);
    let mut best: Vec<Option<usize>> = vec![None; n];
    // `pool` is in uncertainty order: the first member seen of a cluster is its pick.
    for (p, &c) in assignment.iter().enumerate() {
        if best[c].is_none() {
            best[c] = Some(p);
        }
    }
    let mut picks: Vec<usize> = best.into_iter().flatten().collect();
    picks.sort_unstable();
    picks.into_iter().map(|p| pool[p]).collect()
}

fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x - y) * f64::from(x - y))
        .sum()
}

/// Cluster index per point: k-means++ start from the seed, then Lloyd iterations until no
/// point moves (at most 30).
fn kmeans(points: &[&[f32]], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = SeededRng::new(seed, 0x6b6d);
    let mut centres: Vec<Vec<f32>> = vec![points[rng.below(points.len())].to_vec()];
    let mut nearest: Vec<f64> = points.iter().map(|p| distance(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 {
            let mut target = f64::from(rng.uniform()) * total;
            nearest
                .iter()
                .position(|&d| {
                    target -= d;
                    target <= 0.0
                })
                .unwrap_or(points.len() - 1)
        } else {
            rng.below(points.len())
        };
        centres.push(points[next].to_vec());
        for (d, p) in nearest.iter_mut().zip(points) {
            *d = d.min(distance(p, &centres[centres.len() - 1]));
        }
    }
    let closest = |p: &[f32], centres: &[Vec<f32>]| {
        (0..centres.len())
            .min_by(|&a, &b| distance(p, &centres[a]).total_cmp(&distance(p, &centres[b])))
            .unwrap_or(0)
    };
    let mut assignment: Vec<usize> = points.iter().map(|p| closest(p, &centres)).collect();
    for _ in 0..30 {
        let dim = points[0].len();
        let mut sums = vec![vec![0f64; dim]; k];
        let mut counts = vec![0usize; k];
        for (p, &c) in points.iter().zip(&assignment) {
            counts[c] += 1;
            for (s, x) in sums[c].iter_mut().zip(p.iter()) {
                *s += f64::from(*x);
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                centres[c] = sums[c]
                    .iter()
                    .map(|s| (s / counts[c] as f64) as f32)
                    .collect();
            }
        }
        let next: Vec<usize> = points.iter().map(|p| closest(p, &centres)).collect();
        if next == assignment {
            break;
        }
        assignment = next;
    }
    assignment
}

/// Take `n` from `ranked`, the same number from each predicted label where the pool allows
/// (round robin in label order), then the rest in rank order.
pub fn stratified(
    ranked: &[(usize, f32)],
    predicted: &[u32],
    labels: usize,
    n: usize,
) -> Vec<(usize, f32)> {
    let mut per_label: Vec<Vec<(usize, f32)>> = vec![Vec::new(); labels];
    for &r in ranked {
        per_label[predicted[r.0] as usize].push(r);
    }
    let mut taken = vec![false; predicted.len()];
    let mut out = Vec::with_capacity(n);
    let mut depth = 0;
    while out.len() < n && per_label.iter().any(|l| l.len() > depth) {
        for l in &per_label {
            if out.len() < n {
                if let Some(&r) = l.get(depth) {
                    taken[r.0] = true;
                    out.push(r);
                }
            }
        }
        depth += 1;
    }
    out.extend(ranked.iter().filter(|r| !taken[r.0]).take(n - out.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_and_entropy_put_the_least_certain_rows_first() {
        let probs = vec![
            vec![0.9, 0.05, 0.05],
            vec![0.4, 0.35, 0.25],
            vec![0.6, 0.3, 0.1],
        ];
        let by_margin: Vec<usize> = rank(Strategy::Margin, &probs, 0)
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(by_margin, vec![1, 2, 0]);
        let by_entropy: Vec<usize> = rank(Strategy::Entropy, &probs, 0)
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(by_entropy, vec![1, 2, 0]);
        let a = rank(Strategy::Random, &probs, 3);
        assert_eq!(a, rank(Strategy::Random, &probs, 3), "random is seeded");
    }

    #[test]
    fn diverse_takes_one_row_from_each_cluster_of_representations() {
        // Two tight groups of near-copies; the two most uncertain rows are in the same group.
        let reps = vec![
            vec![0.0, 0.0],
            vec![0.01, 0.0],
            vec![5.0, 5.0],
            vec![5.0, 5.01],
            vec![0.0, 0.02],
        ];
        let ranked = vec![(0, 0.1), (1, 0.11), (2, 0.2), (3, 0.3), (4, 0.4)];
        let pool = shortlist(&ranked, 2);
        let picks: Vec<usize> = diverse(&pool, &reps, 2, 7).iter().map(|r| r.0).collect();
        assert_eq!(picks, vec![0, 2]);
        assert_eq!(diverse(&pool, &reps, 2, 7), diverse(&pool, &reps, 2, 7));
    }

    #[test]
    fn stratified_selection_spreads_over_predicted_labels_then_fills_by_rank() {
        let ranked = vec![(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4), (4, 0.5)];
        let predicted = [0, 0, 0, 1, 0];
        let got: Vec<usize> = stratified(&ranked, &predicted, 2, 3)
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(got, vec![0, 3, 1]);
    }
}
