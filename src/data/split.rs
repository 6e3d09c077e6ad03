//! Grouped, stratified, seeded train/dev/test splitting.
//!
//! Statements from one article must never straddle splits (that is leakage), so whole groups
//! are assigned. Within each stratum (the group's majority label) groups are shuffled with our
//! seeded RNG and dealt to test, then dev, until each reaches its share of rows.

use crate::rng::SeededRng;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Train,
    Dev,
    Test,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Dev => "dev",
            Part::Test => "test",
        }
    }
}

/// Rows grouped (`members[g]` lists group `g`'s rows, groups in order of first appearance,
/// so nothing depends on hash order), and the groups of each stratum (a group's stratum is its
/// majority key; ties go to the smallest key).
fn strata_of_groups<'a>(
    groups: &[Option<&str>],
    strata: &[&'a str],
) -> (Vec<Vec<usize>>, BTreeMap<&'a str, Vec<usize>>) {
    let mut group_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (row, g) in groups.iter().enumerate() {
        let idx = match g {
            Some(g) => *group_index.entry(g).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            }),
            None => {
                members.push(Vec::new());
                members.len() - 1
            }
        };
        members[idx].push(row);
    }
    let mut by_stratum: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (gi, rows) in members.iter().enumerate() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for &r in rows {
            *counts.entry(strata[r]).or_default() += 1;
        }
        // BTreeMap order reversed, and max_by_key keeps the last maximum: the smallest key.
        let key = counts
            .iter()
            .rev()
            .max_by_key(|(_, c)| **c)
            .map(|(k, _)| *k)
            .unwrap_or("");
        by_stratum.entry(key).or_default().push(gi);
    }
    (members, by_stratum)
}

/// Assign each row to one of `k` cross-validation folds, whole groups at a time. Within each
/// stratum the groups are shuffled with our seeded RNG and each goes to the fold that holds
/// the fewest of that stratum's rows so far (the lowest-numbered on ties), so folds come out
/// about equal in size and label mix.
pub fn grouped_folds(groups: &[Option<&str>], strata: &[&str], k: usize, seed: u64) -> Vec<usize> {
    let (members, mut by_stratum) = strata_of_groups(groups, strata);
    let mut rng = SeededRng::new(seed, FOLD_STREAM);
    let mut out = vec![0; groups.len()];
    for gids in by_stratum.values_mut() {
        rng.shuffle(gids);
        let mut sizes = vec![0usize; k.max(1)];
        for &g in gids.iter() {
            let fold = (0..sizes.len()).min_by_key(|&f| (sizes[f], f)).unwrap_or(0);
            sizes[fold] += members[g].len();
            for &r in &members[g] {
                out[r] = fold;
            }
        }
    }
    out
}

/// Assign each row to a part. `groups[i]` is row i's group (`None`: a group of its own);
/// `strata[i]` its stratification key.
pub fn grouped_split(
    groups: &[Option<&str>],
    strata: &[&str],
    dev: f64,
    test: f64,
    seed: u64,
) -> Vec<Part> {
    let (members, mut by_stratum) = strata_of_groups(groups, strata);
    let mut rng = SeededRng::new(seed, SPLIT_STREAM);
    let mut out = vec![Part::Train; groups.len()];
    for gids in by_stratum.values_mut() {
        rng.shuffle(gids);
        let total: usize = gids.iter().map(|g| members[*g].len()).sum();
        let want_test = (test * total as f64).round() as usize;
        let want_dev = (dev * total as f64).round() as usize;
        let (mut n_test, mut n_dev) = (0, 0);
        for &g in gids.iter() {
            let size = members[g].len();
            let part = if n_test < want_test {
                n_test += size;
                Part::Test
            } else if n_dev < want_dev {
                n_dev += size;
                Part::Dev
            } else {
                Part::Train
            };
            for &r in &members[g] {
                out[r] = part;
            }
        }
    }
    out
}

/// Stream ids for the split's and the folds' RNGs, distinct from initialisation and shuffling
/// streams.
const SPLIT_STREAM: u64 = 0x5917;
const FOLD_STREAM: u64 = 0xf01d;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    fn corpus() -> (Vec<String>, Vec<&'static str>) {
        // 60 articles of 1-5 statements, labels cycling through 3 classes.
        let mut groups = Vec::new();
        let mut strata = Vec::new();
        for a in 0..60 {
            for s in 0..(1 + a % 5) {
                groups.push(format!("art-{a}"));
                strata.push(["x", "y", "z"][(a + s) % 3]);
            }
        }
        (groups, strata)
    }

    #[test]
    fn split_is_deterministic_for_a_seed() {
        let (g, s) = corpus();
        let g: Vec<Option<&str>> = g.iter().map(|x| Some(x.as_str())).collect();
        let a = grouped_split(&g, &s, 0.2, 0.2, 11);
        let b = grouped_split(&g, &s, 0.2, 0.2, 11);
        let c = grouped_split(&g, &s, 0.2, 0.2, 12);
        assert_eq!(a, b);
        assert_ne!(a, c, "a different seed should move some groups");
    }

    #[test]
    fn no_group_lands_in_two_parts() {
        let (g, s) = corpus();
        let g: Vec<Option<&str>> = g.iter().map(|x| Some(x.as_str())).collect();
        for seed in 0..20 {
            let parts = grouped_split(&g, &s, 0.15, 0.15, seed);
            let mut seen: HashMap<&str, Part> = HashMap::new();
            for (grp, part) in g.iter().zip(&parts) {
                let prev = seen.entry(grp.unwrap()).or_insert(*part);
                assert_eq!(
                    prev, part,
                    "group {grp:?} straddles splits with seed {seed}"
                );
            }
        }
    }

    #[test]
    fn every_part_gets_about_its_share_and_every_stratum() {
        let (g, s) = corpus();
        let g: Vec<Option<&str>> = g.iter().map(|x| Some(x.as_str())).collect();
        let parts = grouped_split(&g, &s, 0.2, 0.2, 5);
        let n = parts.len() as f64;
        for want in [Part::Dev, Part::Test] {
            let got = parts.iter().filter(|p| **p == want).count() as f64 / n;
            assert!((0.12..0.3).contains(&got), "{want:?} share {got}");
            let labels: BTreeSet<&str> = parts
                .iter()
                .zip(&s)
                .filter(|(p, _)| **p == want)
                .map(|(_, l)| *l)
                .collect();
            assert_eq!(labels.len(), 3, "{want:?} lacks a stratum: {labels:?}");
        }
    }

    #[test]
    fn rows_without_group_are_their_own_groups() {
        let g = vec![None; 100];
        let s = vec!["a"; 100];
        let parts = grouped_split(&g, &s, 0.1, 0.1, 1);
        assert_eq!(parts.iter().filter(|p| **p == Part::Test).count(), 10);
        assert_eq!(parts.iter().filter(|p| **p == Part::Dev).count(), 10);
    }

    #[test]
    fn folds_keep_groups_whole_come_out_even_and_follow_the_seed() {
        let (g, s) = corpus();
        let g: Vec<Option<&str>> = g.iter().map(|x| Some(x.as_str())).collect();
        let folds = grouped_folds(&g, &s, 3, 5);
        assert_eq!(folds, grouped_folds(&g, &s, 3, 5));
        assert_ne!(folds, grouped_folds(&g, &s, 3, 6));
        let mut fold_of: HashMap<&str, usize> = HashMap::new();
        for (grp, f) in g.iter().zip(&folds) {
            let prev = *fold_of.entry(grp.unwrap()).or_insert(*f);
            assert_eq!(prev, *f, "group {grp:?} straddles folds");
        }
        let n = folds.len() as f64;
        for k in 0..3 {
            let share = folds.iter().filter(|f| **f == k).count() as f64 / n;
            assert!((0.25..0.42).contains(&share), "fold {k} share {share}");
            let labels: BTreeSet<&str> = folds
                .iter()
                .zip(&s)
                .filter(|(f, _)| **f == k)
                .map(|(_, l)| *l)
                .collect();
            assert_eq!(labels.len(), 3, "fold {k} lacks a stratum");
        }
    }
}
