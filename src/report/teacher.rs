//! The section a distilled student's dev and test reports add: how often it agrees with its
//! teacher, overall and per teacher label, next to the gold metrics above it.

use crate::distill::Agreement;
use std::collections::BTreeMap;
use std::fmt::Write;

const INTRO: &str = "Share of rows where the student's label is its teacher's (gold labels play no part); per label, among the rows the teacher gave that label.";

pub fn markdown(agreement: &BTreeMap<String, Agreement>) -> String {
    let mut s = String::new();
    for (task, a) in agreement {
        let _ = write!(
            s,
            "\n## Agreement with the teacher: `{}`\n\n{INTRO}\n\n| teacher's label | rows | agreement |\n|---|---:|---:|\n| **all** | {} | {:.4} |\n",
            super::markdown::cell(task),
            a.n,
            a.agreement
        );
        for (label, c) in &a.per_class {
            let label = super::markdown::cell(label);
            let _ = writeln!(s, "| {label} | {} | {:.4} |", c.n, c.agreement);
        }
    }
    s
}

pub fn html(agreement: &BTreeMap<String, Agreement>) -> String {
    let esc = super::svg::esc;
    let mut s = String::new();
    for (task, a) in agreement {
        let _ = write!(
            s,
            "<h2>Agreement with the teacher: <code>{}</code></h2><p class=\"meta\">{INTRO}</p><table><tr><th>teacher's label</th><th>rows</th><th>agreement</th></tr><tr><td><b>all</b></td><td class=\"n\">{}</td><td class=\"n\">{:.4}</td></tr>",
            esc(task),
            a.n,
            a.agreement
        );
        for (label, c) in &a.per_class {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.4}</td></tr>",
                esc(label),
                c.n,
                c.agreement
            );
        }
        s.push_str("</table>");
    }
    s
}
