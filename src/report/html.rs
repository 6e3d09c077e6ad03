//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no network) that can
//! be attached to a paper's supplement or opened from a CI artifact.

use super::svg::{self, esc};
use super::{Interval, Report, TaskReport};
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:1150px}\
h1{font-size:26px}h2{margin-top:36px;border-bottom:1px solid #ccc}h3{margin-top:22px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}\
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.charts{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}svg{font-size:12px;font-family:inherit}\
.meta{font-size:13px;color:#444}.ex{font-size:13px;color:#333}";

fn ci(i: &Interval) -> String {
    format!("[{:.3}, {:.3}]", i.low, i.high)
}

fn table(head: &[&str], rows: &[Vec<(String, bool)>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for (v, numeric) in r {
            let class = if *numeric { " class=\"n\"" } else { "" };
            let _ = write!(s, "<td{class}>{}</td>", esc(v));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

fn t(v: impl ToString) -> (String, bool) {
    (v.to_string(), false)
}

fn n(v: impl ToString) -> (String, bool) {
    (v.to_string(), true)
}

fn overall(r: &Report) -> String {
    let rows: Vec<Vec<(String, bool)>> = r
        .tasks
        .iter()
        .map(|x| {
            let (m, i) = (&x.metrics, &x.intervals);
            vec![
                t(&x.name),
                n(x.evaluated),
                n(format!("{:.3} {}", m.accuracy, ci(&i.accuracy))),
                n(format!("{:.3} {}", m.macro_f1, ci(&i.macro_f1))),
                n(format!("{:.3} {}", m.weighted_f1, ci(&i.weighted_f1))),
                n(format!("{:.3}", m.macro_precision)),
                n(format!("{:.3}", m.macro_recall)),
                n(format!("{:.4}", x.calibration.ece)),
                n(format!("{:.4}", x.calibration.brier)),
                n(x.missing_gold),
                n(x.unknown_gold),
            ]
        })
        .collect();
    table(
        &[
            "task",
            "n",
            "accuracy (95% CI)",
            "macro-F1 (95% CI)",
            "weighted-F1 (95% CI)",
            "macro-P",
            "macro-R",
            "ECE",
            "Brier",
            "missing gold",
            "unknown gold",
        ],
        &rows,
    )
}

fn task_section(task: &TaskReport) -> String {
    let mut s = format!("<h2>Task <code>{}</code></h2>", esc(&task.name));
    s.push_str("<h3>Per class</h3>");
    let rows: Vec<Vec<(String, bool)>> = task
        .metrics
        .classes
        .iter()
        .zip(&task.intervals.class_f1)
        .map(|(c, iv)| {
            let mark = |ok: bool| if ok { "" } else { "*" };
            vec![
                t(&c.label),
                n(format!("{:.3}{}", c.precision, mark(c.precision_defined))),
                n(format!("{:.3}{}", c.recall, mark(c.recall_defined))),
                n(format!("{:.3} {}", c.f1, ci(iv))),
                n(c.support),
                n(c.predicted),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "label",
            "precision",
            "recall",
            "F1 (95% CI)",
            "support",
            "predicted",
        ],
        &rows,
    ));
    s.push_str("<p class=\"meta\">* undefined (class never predicted, or absent from gold): reported as 0.</p>");
    s.push_str("<div class=\"charts\"><div><h3>Confusion matrix</h3>");
    s.push_str(&svg::heatmap(&task.labels, &task.metrics.confusion));
    s.push_str("<p class=\"meta\">Shading: share of the gold row.</p></div><div><h3>Per-class F1 with 95% CI</h3>");
    s.push_str(&svg::f1_bars(
        &task.metrics.classes,
        &task.intervals.class_f1,
    ));
    s.push_str("</div><div><h3>Reliability diagram</h3>");
    s.push_str(&svg::reliability(&task.calibration.bins));
    let _ = write!(
        s,
        "<p class=\"meta\">ECE {:.4} (15 bins, top label); Brier {:.4} (multi-class, 0 to 2). Bars: accuracy per bin; dots: mean confidence; dashed: perfect calibration.</p></div></div>",
        task.calibration.ece, task.calibration.brier
    );
    s.push_str("<h3>Most confused pairs</h3>");
    if task.most_confused.is_empty() {
        s.push_str("<p>No errors.</p>");
    } else {
        s.push_str("<ul>");
        for p in &task.most_confused {
            let _ = write!(
                s,
                "<li><b>{}</b> predicted as <b>{}</b>: {}<ul class=\"ex\">",
                esc(&p.gold),
                esc(&p.predicted),
                super::rows(p.count)
            );
            for e in &p.examples {
                let _ = write!(s, "<li>{}</li>", esc(e));
            }
            s.push_str("</ul></li>");
        }
        s.push_str("</ul>");
    }
    s
}

fn curves(r: &Report) -> String {
    if r.training_curve.is_empty() {
        return String::new();
    }
    let pts = &r.training_curve;
    let mut s = String::from("<h2>Training</h2><div class=\"charts\"><div><h3>Loss</h3>");
    let loss = vec![
        (
            "train loss".to_string(),
            pts.iter().map(|p| p.loss).collect(),
        ),
        (
            "dev loss".to_string(),
            pts.iter().map(|p| p.dev_loss).collect(),
        ),
    ];
    s.push_str(&svg::lines(pts, &loss, "loss"));
    s.push_str("</div><div><h3>Dev macro-F1</h3>");
    let f1: Vec<(String, Vec<Option<f64>>)> = r
        .tasks
        .iter()
        .enumerate()
        .map(|(k, task)| {
            (
                task.name.clone(),
                pts.iter()
                    .map(|p| p.dev_macro_f1.get(k).copied().flatten())
                    .collect(),
            )
        })
        .collect();
    s.push_str(&svg::lines(pts, &f1, "macro-F1"));
    s.push_str("</div></div>");
    s
}

/// Dev macro-F1 against the number of training labels (`train --learning-curve`).
fn learning(r: &Report) -> String {
    let pts = &r.learning_curve;
    if pts.is_empty() {
        return String::new();
    }
    let xs: Vec<usize> = pts.iter().map(|p| p.train_examples).collect();
    let series: Vec<(String, Vec<Option<f64>>)> = r
        .tasks
        .iter()
        .map(|t| {
            let dev = pts.iter().map(|p| p.dev_macro_f1.get(&t.name).copied());
            (t.name.clone(), dev.collect())
        })
        .collect();
    let mut s = String::from("<h2>Learning curve</h2><p class=\"meta\">The same config trained on nested fractions of the training split (same dev split): dev macro-F1 against the number of training labels. A curve still rising at the right means more annotation should pay.</p>");
    s.push_str(&svg::lines_over(
        &xs,
        "training labels",
        &series,
        "dev macro-F1",
    ));
    let mut rows = Vec::new();
    for p in pts {
        let mut row = vec![n(format!("{:.2}", p.fraction)), n(p.train_examples)];
        for t in &r.tasks {
            let v = p.dev_macro_f1.get(&t.name).copied().unwrap_or(0.0);
            row.push(n(format!("{v:.4}")));
        }
        rows.push(row);
    }
    let mut head = vec!["fraction".to_string(), "labels".to_string()];
    head.extend(r.tasks.iter().map(|t| format!("{} dev macro-F1", t.name)));
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    s.push_str(&table(&head, &rows));
    s
}

fn slices(r: &Report) -> String {
    let Some(col) = &r.slice_by else {
        return String::new();
    };
    let rows: Vec<Vec<(String, bool)>> = r
        .slices
        .iter()
        .flat_map(|sl| {
            sl.tasks.iter().map(move |x| {
                vec![
                    t(&sl.value),
                    t(&x.task),
                    n(sl.rows),
                    n(x.evaluated),
                    n(format!("{:.3}", x.accuracy)),
                    n(format!("{:.3}", x.macro_f1)),
                    n(format!("{:.3}", x.weighted_f1)),
                    n(x.missing_gold),
                    n(x.unknown_gold),
                ]
            })
        })
        .collect();
    format!(
        "<h2>Slices by <code>{}</code></h2>{}",
        esc(col),
        table(
            &[
                "value",
                "task",
                "rows",
                "n",
                "accuracy",
                "macro-F1",
                "weighted-F1",
                "missing gold",
                "unknown gold"
            ],
            &rows
        )
    )
}

pub fn render(r: &Report) -> String {
    let d = &r.data;
    let mut s = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>stancekit evaluation report</title><style>{STYLE}</style></head><body><h1>Evaluation report</h1>"
    );
    let split = d
        .split
        .as_deref()
        .map(|x| format!(" ({x} split)"))
        .unwrap_or_default();
    let _ = write!(
        s,
        "<p class=\"meta\">Model <code>{}</code>, step {}, seed {}, {} model, stancekit {}.<br>Data <code>{}</code>{}, sha256 <code>{}</code>; {} rows, {} with an empty text (not predicted).<br>Intervals: {:.0}% {} bootstrap, {} resamples, seed {}.</p>",
        esc(&r.model),
        r.manifest.step,
        r.manifest.seed,
        esc(&r.manifest.model_kind),
        esc(&r.stancekit_version),
        esc(&d.path),
        esc(&split),
        esc(&d.sha256),
        d.rows,
        d.empty_text,
        r.bootstrap.confidence * 100.0,
        esc(&r.bootstrap.method),
        r.bootstrap.resamples,
        r.bootstrap.seed
    );
    s.push_str("<h2>Overall</h2>");
    s.push_str(&overall(r));
    s.push_str("<p class=\"meta\">Rows with missing or unknown gold labels are excluded from that task's metrics and counted here.</p>");
    for task in &r.tasks {
        s.push_str(&task_section(task));
    }
    s.push_str(&super::thresholds::html(&r.thresholds));
    s.push_str(&super::teacher::html(&r.teacher_agreement));
    s.push_str(&slices(r));
    s.push_str(&curves(r));
    s.push_str(&learning(r));
    s.push_str("<h2>Definitions</h2><ul>");
    for x in &r.definitions {
        let _ = write!(s, "<li>{}</li>", esc(x));
    }
    s.push_str("</ul></body></html>\n");
    s
}
