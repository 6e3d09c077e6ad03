//! Turning probabilities into output columns: label, score, margin, optional per-label
//! probabilities and top-k, and the abstain rule. Kept apart from I/O so the rules are tested
//! on plain numbers.

use crate::checkpoint::TaskLabels;
use crate::eval::thresholds::decide;
use crate::table::Cell;
use crate::table::ColKind;
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::eval::thresholds::ABSTAIN;

#[derive(Debug, Clone, Default)]
pub struct LabelOptions {
    /// One `<task>_p_<label>` column per label.
    pub probs: bool,
    /// `<task>_top<k>` and `<task>_top<k>_p` for k = 1..=top_k.
    pub top_k: usize,
    pub abstain_below: Option<f32>,
    /// Ignore the checkpoint's per-class thresholds (`--thresholds none`).
    pub ignore_thresholds: bool,
}

/// Counts per task for the end summary.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TaskCounts {
    /// Rows per written label (`abstain` included; empty texts are not counted).
    pub labels: BTreeMap<String, u64>,
    pub abstained: u64,
}

/// The classification columns of one task, in output order.
pub fn task_columns(task: &TaskLabels, opts: &LabelOptions) -> Vec<(String, ColKind)> {
    let t = &task.name;
    let mut cols = vec![
        (t.clone(), ColKind::Text),
        (format!("{t}_score"), ColKind::Float),
        (format!("{t}_margin"), ColKind::Float),
    ];
    if opts.probs {
        for l in &task.labels {
            cols.push((format!("{t}_p_{l}"), ColKind::Float));
        }
    }
    for k in 1..=opts.top_k {
        cols.push((format!("{t}_top{k}"), ColKind::Text));
        cols.push((format!("{t}_top{k}_p"), ColKind::Float));
    }
    cols
}

/// Append one task's cells for a row with probabilities `p` (in label order).
pub fn push_task_cells(
    task: &TaskLabels,
    p: &[f32],
    opts: &LabelOptions,
    counts: &mut TaskCounts,
    out: &mut Vec<Cell>,
) {
    let mut order: Vec<usize> = (0..p.len()).collect();
    // Stable sort: ties keep label order, as `Predictions::argmax` does.
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let top = order.first().map_or(0.0, |&i| p[i]);
    let second = order.get(1).map_or(0.0, |&i| p[i]);
    // Stored thresholds may pass over the top label for the next eligible one, or abstain.
    let chosen = match (&task.thresholds, opts.ignore_thresholds) {
        (Some(t), false) => decide(p, &t.values).map(|i| i as usize),
        _ => order.first().copied(),
    };
    let abstain = chosen.is_none() || opts.abstain_below.is_some_and(|t| top < t);
    let (label, score) = match chosen {
        Some(i) if !abstain => (task.labels.get(i).cloned().unwrap_or_default(), p[i]),
        _ => {
            counts.abstained += 1;
            (ABSTAIN.to_string(), top)
        }
    };
    *counts.labels.entry(label.clone()).or_default() += 1;
    out.push(Cell::Text(label));
    out.push(Cell::float(score));
    out.push(Cell::float(top - second));
    if opts.probs {
        out.extend(p.iter().map(|&v| Cell::float(v)));
    }
    for k in 0..opts.top_k {
        match order.get(k) {
            Some(&i) => {
                out.push(Cell::Text(task.labels.get(i).cloned().unwrap_or_default()));
                out.push(Cell::float(p[i]));
            }
            None => out.extend([Cell::Null, Cell::Null]),
        }
    }
}

/// Append one task's cells for a row that has no text: all empty.
pub fn push_empty_cells(task: &TaskLabels, opts: &LabelOptions, out: &mut Vec<Cell>) {
    let n = task_columns(task, opts).len();
    out.extend(std::iter::repeat_n(Cell::Null, n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskLabels {
        TaskLabels {
            name: "stance".into(),
            labels: vec!["a".into(), "b".into(), "c".into()],
            thresholds: None,
        }
    }

    fn cells(p: &[f32], opts: &LabelOptions) -> (Vec<Cell>, TaskCounts) {
        let mut counts = TaskCounts::default();
        let mut out = Vec::new();
        push_task_cells(&task(), p, opts, &mut counts, &mut out);
        assert_eq!(out.len(), task_columns(&task(), opts).len());
        (out, counts)
    }

    #[test]
    fn label_score_and_margin_come_from_the_two_most_probable_labels() {
        let (out, counts) = cells(&[0.2, 0.5, 0.3], &LabelOptions::default());
        assert_eq!(out[0], Cell::Text("b".into()));
        assert_eq!(out[1], Cell::float(0.5));
        assert_eq!(out[2], Cell::float(0.5 - 0.3));
        assert_eq!(counts.labels["b"], 1);
    }

    #[test]
    fn stored_thresholds_pass_over_an_unsure_top_label_or_abstain_unless_ignored() {
        let mut t = task();
        t.thresholds = Some(crate::eval::thresholds::Thresholds {
            objective: "f1".into(),
            values: vec![0.1, 0.6, 0.9],
        });
        let run = |p: &[f32], ignore: bool| {
            let opts = LabelOptions {
                ignore_thresholds: ignore,
                ..Default::default()
            };
            let (mut counts, mut out) = (TaskCounts::default(), Vec::new());
            push_task_cells(&t, p, &opts, &mut counts, &mut out);
            (out[0].clone(), out[1].clone(), counts.abstained)
        };
        let (label, score, _) = run(&[0.3, 0.5, 0.2], false);
        assert_eq!(label, Cell::Text("a".into()));
        assert_eq!(score, Cell::float(0.3));
        assert_eq!(run(&[0.05, 0.5, 0.45], false).2, 1);
        assert_eq!(run(&[0.3, 0.5, 0.2], true).0, Cell::Text("b".into()));
    }

    #[test]
    fn abstain_below_threshold_labels_abstain() {
        let opts = LabelOptions {
            abstain_below: Some(0.6),
            ..Default::default()
        };
        let (out, counts) = cells(&[0.2, 0.5, 0.3], &opts);
        assert_eq!(out[0], Cell::Text(ABSTAIN.into()));
        assert_eq!(
            out[1],
            Cell::float(0.5),
            "the score stays the top probability"
        );
        assert_eq!(counts.abstained, 1);
        let (out, _) = cells(&[0.1, 0.7, 0.2], &opts);
        assert_eq!(out[0], Cell::Text("b".into()));
    }

    #[test]
    fn probs_and_top_k_columns_follow_label_and_rank_order() {
        let opts = LabelOptions {
            probs: true,
            top_k: 2,
            ..Default::default()
        };
        let names: Vec<String> = task_columns(&task(), &opts)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(
            names,
            [
                "stance",
                "stance_score",
                "stance_margin",
                "stance_p_a",
                "stance_p_b",
                "stance_p_c",
                "stance_top1",
                "stance_top1_p",
                "stance_top2",
                "stance_top2_p"
            ]
        );
        let (out, _) = cells(&[0.2, 0.5, 0.3], &opts);
        assert_eq!(
            out[3..6],
            [Cell::float(0.2), Cell::float(0.5), Cell::float(0.3)]
        );
        assert_eq!(out[6], Cell::Text("b".into()));
        assert_eq!(out[8], Cell::Text("c".into()));
        assert_eq!(out[9], Cell::float(0.3));
    }

    #[test]
    fn top_k_beyond_the_label_count_is_left_empty() {
        let opts = LabelOptions {
            top_k: 4,
            ..Default::default()
        };
        let (out, _) = cells(&[0.2, 0.5, 0.3], &opts);
        assert_eq!(out[out.len() - 2..], [Cell::Null, Cell::Null]);
    }
}
