//! `stancekit data agreement`: how far annotators agree on double- or triple-coded rows, per
//! task, before their labels train anything. One row per (item, annotator); each label column
//! is a task. Reports Krippendorff's alpha (nominal) with a bootstrap interval, Cohen's kappa
//! and the confusion matrix for every pair of annotators, per-class agreement, and the items
//! they disagree on, for adjudication.

mod stats;

use crate::data::{read_table, Table};
use crate::error::{Error, Result};
use crate::table::TableFlags;
use serde::Serialize;
use stats::Item;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct AgreementOptions {
    pub item_column: String,
    pub annotator_column: String,
    /// One task per label column, named after it.
    pub label_columns: Vec<String>,
    pub read: TableFlags,
    /// Bootstrap resamples for alpha's interval (0 = none).
    pub resamples: usize,
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct AgreementReport {
    pub input: PathBuf,
    pub rows: usize,
    pub annotators: Vec<String>,
    pub tasks: BTreeMap<String, TaskAgreement>,
}

#[derive(Debug, Serialize)]
pub struct TaskAgreement {
    /// Items with at least one label for this task, and those with two or more (pairable).
    pub items: usize,
    pub pairable_items: usize,
    /// Rows whose label cell is empty (not counted).
    pub empty: usize,
    /// Rows repeating an (item, annotator) pair already read: only the first is used.
    pub repeated: usize,
    pub labels: Vec<String>,
    pub krippendorff_alpha: Option<f64>,
    pub krippendorff_alpha_ci95: Option<[f64; 2]>,
    pub per_class: Vec<ClassAgreement>,
    pub pairs: Vec<PairAgreement>,
    /// Pairable items whose coders did not all agree.
    pub disagreements: usize,
}

#[derive(Debug, Serialize)]
pub struct ClassAgreement {
    pub label: String,
    /// Share of this label's pairable values that another coder matched.
    pub agreement: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct PairAgreement {
    pub a: String,
    pub b: String,
    pub items: usize,
    pub observed: Option<f64>,
    pub cohen_kappa: Option<f64>,
    /// Rows: `a`'s label; columns: `b`'s, in `labels` order.
    pub confusion: Vec<Vec<u64>>,
}

/// One item the coders disagree on, for the adjudication file.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub item: String,
    pub task: String,
    /// `annotator=label`, in annotator order.
    pub codings: Vec<(String, String)>,
}

/// Read `input` and compute the agreement of every label column.
pub fn agreement(
    input: &Path,
    opts: &AgreementOptions,
) -> Result<(AgreementReport, Vec<Disagreement>)> {
    let table = read_table(input, opts.read.resolve(input)?)?;
    let col = |name: &str| table.column_index(input, name);
    let item_col = col(&opts.item_column)?;
    let coder_col = col(&opts.annotator_column)?;
    if opts.label_columns.is_empty() {
        return Err(Error::Input("name at least one --label-column".into()));
    }
    let mut annotators: Vec<String> = table
        .data
        .iter()
        .filter_map(|r| r[coder_col].clone())
        .collect();
    annotators.sort();
    annotators.dedup();
    let mut tasks = BTreeMap::new();
    let mut disagreements = Vec::new();
    for name in &opts.label_columns {
        let label_col = col(name)?;
        let (task, mut found) = task_agreement(
            &table,
            input,
            [item_col, coder_col, label_col],
            &annotators,
            opts,
        )?;
        for d in &mut found {
            d.task = name.clone();
        }
        disagreements.extend(found);
        tasks.insert(name.clone(), task);
    }
    let report = AgreementReport {
        input: input.to_path_buf(),
        rows: table.height(),
        annotators,
        tasks,
    };
    Ok((report, disagreements))
}

fn task_agreement(
    table: &Table,
    input: &Path,
    [item_col, coder_col, label_col]: [usize; 3],
    annotators: &[String],
    opts: &AgreementOptions,
) -> Result<(TaskAgreement, Vec<Disagreement>)> {
    // Items in order of first appearance, each with its (annotator, label) codings.
    let mut order: Vec<String> = Vec::new();
    let mut codings: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    let (mut empty, mut repeated) = (0, 0);
    for (r, row) in table.data.iter().enumerate() {
        let missing = |what: &str| Error::BadValue {
            path: input.to_path_buf(),
            line: table.lines[r],
            column: what.to_string(),
            message: format!("empty {what}: every row needs an item and an annotator"),
        };
        let item = row[item_col]
            .clone()
            .ok_or_else(|| missing(&opts.item_column))?;
        let coder = row[coder_col]
            .as_deref()
            .ok_or_else(|| missing(&opts.annotator_column))?;
        let Some(label) = row[label_col].clone() else {
            empty += 1;
            continue;
        };
        let coder = annotators.iter().position(|a| a == coder).unwrap_or(0);
        let entry = codings.entry(item.clone()).or_insert_with(|| {
            order.push(item);
            Vec::new()
        });
        match entry.iter().any(|(c, _)| *c == coder) {
            true => repeated += 1,
            false => entry.push((coder, label)),
        }
    }
    let mut labels: Vec<String> = codings.values().flatten().map(|(_, l)| l.clone()).collect();
    labels.sort();
    labels.dedup();
    let index = |l: &str| labels.iter().position(|x| x == l).unwrap_or(0);
    let items: Vec<Item> = order
        .iter()
        .map(|i| codings[i].iter().map(|(c, l)| (*c, index(l))).collect())
        .collect();
    let refs: Vec<&Item> = items.iter().collect();
    let o = stats::coincidences(&refs, labels.len());
    let mut pairs = Vec::new();
    for a in 0..annotators.len() {
        for b in a + 1..annotators.len() {
            let p = stats::pair(&refs, a, b, labels.len());
            if p.items > 0 {
                pairs.push(PairAgreement {
                    a: annotators[a].clone(),
                    b: annotators[b].clone(),
                    items: p.items,
                    observed: p.observed,
                    cohen_kappa: p.kappa,
                    confusion: p.confusion,
                });
            }
        }
    }
    let found: Vec<Disagreement> = order
        .iter()
        .filter(|i| {
            let c = &codings[*i];
            c.len() >= 2 && c.iter().any(|(_, l)| l != &c[0].1)
        })
        .map(|i| {
            let mut c: Vec<(String, String)> = codings[i]
                .iter()
                .map(|(a, l)| (annotators[*a].clone(), l.clone()))
                .collect();
            c.sort();
            Disagreement {
                item: i.clone(),
                task: String::new(),
                codings: c,
            }
        })
        .collect();
    let task = TaskAgreement {
        items: items.len(),
        pairable_items: items.iter().filter(|i| i.len() >= 2).count(),
        empty,
        repeated,
        krippendorff_alpha: stats::alpha(&o),
        krippendorff_alpha_ci95: stats::alpha_interval(
            &refs,
            labels.len(),
            opts.resamples,
            opts.seed,
        ),
        per_class: labels
            .iter()
            .zip(stats::per_class(&o))
            .map(|(l, a)| ClassAgreement {
                label: l.clone(),
                agreement: a,
            })
            .collect(),
        pairs,
        disagreements: found.len(),
        labels,
    };
    Ok((task, found))
}

/// Write the disagreements as CSV: item, task, one `annotator=label` list, atomically.
pub fn write_disagreements(path: &Path, rows: &[Disagreement]) -> Result<()> {
    crate::io::write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["item", "task", "codings"])?;
        for d in rows {
            let codings: Vec<String> = d.codings.iter().map(|(a, l)| format!("{a}={l}")).collect();
            out.write_record([
                d.item.as_str(),
                d.task.as_str(),
                codings.join("; ").as_str(),
            ])?;
        }
        out.flush()
    })
}

/// The report for a terminal.
pub fn render(r: &AgreementReport) -> String {
    use std::fmt::Write;
    let fmt = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} rows, {} annotators",
        r.input.display(),
        r.rows,
        r.annotators.len()
    );
    for (name, t) in &r.tasks {
        let ci = t
            .krippendorff_alpha_ci95
            .map_or(String::new(), |[lo, hi]| format!(" [{lo:.3}, {hi:.3}]"));
        let _ = writeln!(
            s,
            "\n{name}: {} items, {} coded twice or more; Krippendorff's alpha {}{ci}; {} disagreements",
            t.items,
            t.pairable_items,
            fmt(t.krippendorff_alpha),
            t.disagreements
        );
        for c in &t.per_class {
            let _ = writeln!(s, "  {:<20} agreement {}", c.label, fmt(c.agreement));
        }
        for p in &t.pairs {
            let _ = writeln!(
                s,
                "  {} vs {}: {} items, observed {}, Cohen's kappa {}",
                p.a,
                p.b,
                p.items,
                fmt(p.observed),
                fmt(p.cohen_kappa)
            );
        }
        if t.empty + t.repeated > 0 {
            let _ = writeln!(
                s,
                "  ({} empty labels skipped, {} repeated codings ignored)",
                t.empty, t.repeated
            );
        }
    }
    s
}
