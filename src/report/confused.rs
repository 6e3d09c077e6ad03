//! The most-confused label pairs: the off-diagonal cells of the confusion matrix by count,
//! each with a few statements, which is where error analysis starts.

use super::ConfusedPair;

pub const EXAMPLES: usize = 5;

/// The `limit` largest off-diagonal cells (ties: gold then predicted label order), with up to
/// five texts each in row order. `texts`, `gold` and `pred` are parallel.
pub fn most_confused(
    labels: &[String],
    texts: &[&str],
    gold: &[u32],
    pred: &[u32],
    limit: usize,
) -> Vec<ConfusedPair> {
    let k = labels.len();
    let mut cells: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    let mut index = vec![vec![usize::MAX; k]; k];
    for (row, (&g, &p)) in gold.iter().zip(pred).enumerate() {
        let (g, p) = (g as usize, p as usize);
        if g == p {
            continue;
        }
        if index[g][p] == usize::MAX {
            index[g][p] = cells.len();
            cells.push((g, p, Vec::new()));
        }
        cells[index[g][p]].2.push(row);
    }
    cells.sort_by(|a, b| b.2.len().cmp(&a.2.len()).then((a.0, a.1).cmp(&(b.0, b.1))));
    cells
        .into_iter()
        .take(limit)
        .map(|(g, p, rows)| ConfusedPair {
            gold: labels[g].clone(),
            predicted: labels[p].clone(),
            count: rows.len(),
            examples: rows
                .iter()
                .take(EXAMPLES)
                .map(|&r| texts[r].to_string())
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_ordered_by_count_with_examples_in_row_order() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // a->b twice (rows 1, 3), c->a once (row 4), b->c once (row 5), diagonal ignored.
        let texts = ["r0", "r1", "r2", "r3", "r4", "r5"];
        let gold = [0, 0, 1, 0, 2, 1];
        let pred = [0, 1, 1, 1, 0, 2];
        let pairs = most_confused(&labels, &texts, &gold, &pred, 10);
        let got: Vec<(&str, &str, usize)> = pairs
            .iter()
            .map(|p| (p.gold.as_str(), p.predicted.as_str(), p.count))
            .collect();
        // Ties at count 1 go by (gold, predicted): (b, c) before (c, a).
        assert_eq!(got, vec![("a", "b", 2), ("b", "c", 1), ("c", "a", 1)]);
        assert_eq!(pairs[0].examples, vec!["r1", "r3"]);
    }

    #[test]
    fn at_most_five_examples_and_limit_applies() {
        let labels: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let texts: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let gold = [0u32; 8];
        let pred = [1u32; 8];
        let pairs = most_confused(&labels, &refs, &gold, &pred, 10);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].count, 8);
        assert_eq!(pairs[0].examples, vec!["t0", "t1", "t2", "t3", "t4"]);
        assert!(most_confused(&labels, &refs, &gold, &pred, 0).is_empty());
    }

    #[test]
    fn all_correct_has_no_confused_pairs() {
        let labels: Vec<String> = vec!["a".into()];
        assert!(most_confused(&labels, &["x"], &[0], &[0], 10).is_empty());
    }
}
