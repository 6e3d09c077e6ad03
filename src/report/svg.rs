//! Inline SVG charts for `report.html`: drawn here as plain markup so the page needs no
//! scripts, fonts or network, and renders the same in any browser.

use super::{CurvePoint, Interval, ReliabilityBin};
use crate::eval::ClassMetrics;
use std::fmt::Write;

pub const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// Escape text for HTML and SVG, in element content and in quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(s: &mut String, x: f64, y: f64, anchor: &str, extra: &str, body: &str) {
    let _ = write!(
        s,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" {extra}>{}</text>"#,
        esc(body)
    );
}

/// Confusion matrix heatmap; shading is the share of the gold row, so rare classes show too.
pub fn heatmap(labels: &[String], confusion: &[Vec<usize>]) -> String {
    let k = labels.len();
    let (cell, left, top) = (52.0, 140.0, 130.0);
    let (w, h) = (left + cell * k as f64 + 20.0, top + cell * k as f64 + 20.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>Confusion matrix</title>"#
    );
    text(
        &mut s,
        left + cell * k as f64 / 2.0,
        14.0,
        "middle",
        r#"font-weight="bold""#,
        "predicted",
    );
    for (j, l) in labels.iter().enumerate() {
        let x = left + cell * (j as f64 + 0.5);
        let _ = write!(
            s,
            r#"<text transform="translate({x:.1},{:.1}) rotate(-45)" text-anchor="start">{}</text>"#,
            top - 6.0,
            esc(l)
        );
    }
    for (i, (l, row)) in labels.iter().zip(confusion).enumerate() {
        let y = top + cell * i as f64;
        text(&mut s, left - 6.0, y + cell / 2.0 + 4.0, "end", "", l);
        let total: usize = row.iter().sum();
        for (j, &c) in row.iter().enumerate() {
            let f = if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            };
            let shade = |lo: f64, hi: f64| (lo + (hi - lo) * f).round() as u8;
            let x = left + cell * j as f64;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="rgb({},{},{})" stroke="#ffffff"/>"##,
                shade(247.0, 8.0),
                shade(251.0, 48.0),
                shade(255.0, 107.0)
            );
            let fill = if f > 0.5 { "#ffffff" } else { "#222222" };
            text(
                &mut s,
                x + cell / 2.0,
                y + cell / 2.0 + 5.0,
                "middle",
                &format!(r#"fill="{fill}""#),
                &c.to_string(),
            );
        }
    }
    text(
        &mut s,
        12.0,
        top - 6.0,
        "start",
        r#"font-weight="bold""#,
        "gold",
    );
    s.push_str("</svg>");
    s
}

/// Horizontal per-class F1 bars with bootstrap interval whiskers.
pub fn f1_bars(classes: &[ClassMetrics], intervals: &[Interval]) -> String {
    let (left, width, row) = (150.0, 420.0, 26.0);
    let h = 40.0 + row * classes.len() as f64;
    let total = left + width + 30.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{h}" viewBox="0 0 {total} {h}" role="img"><title>Per-class F1</title>"#
    );
    let axis_y = h - 24.0;
    for tick in 0..=5 {
        let v = tick as f64 / 5.0;
        let x = left + v * width;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="4" x2="{x:.1}" y2="{axis_y:.1}" stroke="#dddddd"/>"##
        );
        text(&mut s, x, axis_y + 16.0, "middle", "", &format!("{v:.1}"));
    }
    for (i, (c, iv)) in classes.iter().zip(intervals).enumerate() {
        let y = 8.0 + row * i as f64;
        text(&mut s, left - 6.0, y + 14.0, "end", "", &c.label);
        let _ = write!(
            s,
            r##"<rect x="{left}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#4c78a8"/>"##,
            c.f1 * width,
            row - 8.0
        );
        let (x0, x1, ym) = (
            left + iv.low * width,
            left + iv.high * width,
            y + (row - 8.0) / 2.0,
        );
        let _ = write!(
            s,
            r##"<g stroke="#111111" stroke-width="1.5"><line x1="{x0:.1}" y1="{ym:.1}" x2="{x1:.1}" y2="{ym:.1}"/><line x1="{x0:.1}" y1="{:.1}" x2="{x0:.1}" y2="{:.1}"/><line x1="{x1:.1}" y1="{:.1}" x2="{x1:.1}" y2="{:.1}"/></g>"##,
            ym - 5.0,
            ym + 5.0,
            ym - 5.0,
            ym + 5.0
        );
        text(
            &mut s,
            left + width + 4.0,
            y + 14.0,
            "start",
            r#"font-size="11""#,
            &format!("{:.2}", c.f1),
        );
    }
    s.push_str("</svg>");
    s
}

/// A plot area inside a chart.
#[derive(Clone, Copy)]
struct Frame {
    left: f64,
    top: f64,
    w: f64,
    h: f64,
}

fn axes(s: &mut String, frame: &Frame, xlabel: &str, ylabel: &str, ymax: f64) {
    let Frame { left, top, w, h } = *frame;
    let _ = write!(
        s,
        r##"<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#888888"/>"##
    );
    for tick in 0..=5 {
        let f = tick as f64 / 5.0;
        let y = top + h - f * h;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eeeeee"/>"##,
            left + w
        );
        text(
            s,
            left - 4.0,
            y + 4.0,
            "end",
            r#"font-size="11""#,
            &format!("{:.2}", f * ymax),
        );
    }
    text(s, left + w / 2.0, top + h + 34.0, "middle", "", xlabel);
    let _ = write!(
        s,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        left - 40.0,
        top + h / 2.0,
        esc(ylabel)
    );
}

/// Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration.
pub fn reliability(bins: &[ReliabilityBin]) -> String {
    let (left, top, size) = (60.0, 10.0, 300.0);
    let mut s = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="360" viewBox="0 0 400 360" role="img"><title>Reliability diagram</title>"#,
    );
    let frame = Frame {
        left,
        top,
        w: size,
        h: size,
    };
    axes(&mut s, &frame, "confidence", "accuracy", 1.0);
    for b in bins.iter().filter(|b| b.count > 0) {
        let x = left + b.lower * size;
        let bw = (b.upper - b.lower) * size;
        let bh = b.accuracy * size;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{bh:.1}" fill="#4c78a8" fill-opacity="0.8" stroke="#ffffff"><title>{}</title></rect>"##,
            top + size - bh,
            esc(&format!(
                "{:.3}-{:.3}: {} rows, confidence {:.3}, accuracy {:.3}",
                b.lower, b.upper, b.count, b.confidence, b.accuracy
            ))
        );
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#d62728"/>"##,
            left + b.confidence * size,
            top + size - b.accuracy * size
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{top}" stroke="#555555" stroke-dasharray="4 3"/>"##,
        top + size,
        left + size
    );
    for t in 0..=5 {
        let v = t as f64 / 5.0;
        text(
            &mut s,
            left + v * size,
            top + size + 14.0,
            "middle",
            r#"font-size="11""#,
            &format!("{v:.1}"),
        );
    }
    s.push_str("</svg>");
    s
}

/// Line chart of named series over training steps; `None` values break nothing, they are skipped.
pub fn lines(points: &[CurvePoint], series: &[(String, Vec<Option<f64>>)], ylabel: &str) -> String {
    let xs: Vec<usize> = points.iter().map(|p| p.step).collect();
    lines_over(&xs, "step", series, ylabel)
}

/// Line chart of named series over `xs` (steps, or labelled rows for a learning curve).
pub fn lines_over(
    xs: &[usize],
    xlabel: &str,
    series: &[(String, Vec<Option<f64>>)],
    ylabel: &str,
) -> String {
    let (left, top, w, h) = (60.0, 10.0, 460.0, 220.0);
    let max_step = xs.iter().copied().max().unwrap_or(1).max(1) as f64;
    let ymax = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0f64, |a, &b| a.max(b))
        .max(1e-9);
    let ymax = if ymax <= 1.0 { 1.0 } else { ymax.ceil() };
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="560" height="{}" viewBox="0 0 560 {}" role="img"><title>{}</title>"#,
        h + 60.0 + 18.0 * series.len() as f64,
        h + 60.0 + 18.0 * series.len() as f64,
        esc(ylabel)
    );
    axes(&mut s, &Frame { left, top, w, h }, xlabel, ylabel, ymax);
    for t in 0..=4 {
        let v = max_step * t as f64 / 4.0;
        text(
            &mut s,
            left + w * t as f64 / 4.0,
            top + h + 14.0,
            "middle",
            r#"font-size="11""#,
            &format!("{v:.0}"),
        );
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<String> = xs
            .iter()
            .zip(values)
            .filter_map(|(&x, v)| {
                v.map(|v| {
                    format!(
                        "{:.1},{:.1}",
                        left + x as f64 / max_step * w,
                        top + h - v / ymax * h
                    )
                })
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            pts.join(" ")
        );
        let ly = top + h + 44.0 + 18.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{left}" y="{:.1}" width="14" height="4" fill="{color}"/>"#,
            ly - 4.0
        );
        text(&mut s, left + 20.0, ly, "start", "", name);
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc(r#"<b>"x" & 'y'"#),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn heatmap_shows_every_count_and_escapes_labels() {
        let labels = vec!["a<b".to_string(), "c".to_string()];
        let svg = heatmap(&labels, &[vec![3, 1], vec![0, 2]]);
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        for n in [">3<", ">1<", ">0<", ">2<"] {
            assert!(svg.contains(n), "count {n} missing");
        }
    }
}
