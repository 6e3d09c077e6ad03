//! How often the student says what its teacher says, overall and per teacher label: the
//! figure that tells whether distillation transferred the teacher's behaviour, next to the
//! gold metrics that tell whether either is right.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Agreement {
    pub n: usize,
    /// Share of rows where the student's label is the teacher's.
    pub agreement: f64,
    /// Per label the teacher gave: its rows, and the share the student labelled the same.
    pub per_class: BTreeMap<String, ClassAgreement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassAgreement {
    pub n: usize,
    pub agreement: f64,
}

/// Agreement of `student` with `teacher` (label indices into `labels`, row by row).
pub fn agreement(labels: &[String], teacher: &[u32], student: &[u32]) -> Agreement {
    let k = labels.len();
    let (mut n, mut same) = (vec![0usize; k], vec![0usize; k]);
    for (&t, &s) in teacher.iter().zip(student) {
        n[t as usize] += 1;
        same[t as usize] += usize::from(t == s);
    }
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let total: usize = n.iter().sum();
    Agreement {
        n: total,
        agreement: share(same.iter().sum(), total),
        per_class: labels
            .iter()
            .enumerate()
            .filter(|(i, _)| n[*i] > 0)
            .map(|(i, l)| {
                let c = ClassAgreement {
                    n: n[i],
                    agreement: share(same[i], n[i]),
                };
                (l.clone(), c)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_counts_rows_by_the_teachers_label() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let a = agreement(&labels, &[0, 0, 1, 1], &[0, 1, 1, 1]);
        assert_eq!(a.n, 4);
        assert!((a.agreement - 0.75).abs() < 1e-12);
        assert!((a.per_class["a"].agreement - 0.5).abs() < 1e-12);
        assert_eq!(a.per_class["b"].n, 2);
        assert!(!a.per_class.contains_key("c"));
    }
}
