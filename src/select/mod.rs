//! `stancekit select`: from an unlabelled pool, the rows most worth annotating next, with the
//! model's predictions as pre-annotations.
//!
//! A row is never proposed twice: texts already in the model's training data (every split it
//! was trained, tuned and tested on) or in `--exclude` files are left out, and so are repeats
//! within the pool, all by the normalised text (`text::dedup_key`). The choice depends only on
//! the model, the pool and the seed.

mod export;
mod strategy;

pub use export::Export;
pub use strategy::Strategy;

use crate::checkpoint::LoadedModel;
use crate::data::{load_corpus, read_table, Table};
use crate::error::{Error, Result};
use crate::eval::predict::argmax;
use crate::segment::split_sentences;
use crate::table::TableFlags;
use crate::text::dedup_key;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub struct SelectOptions {
    pub n: usize,
    pub strategy: Strategy,
    /// The task whose uncertainty ranks rows (default: the model's first).
    pub task: Option<String>,
    /// Spread the picks over the predicted labels of that task.
    pub stratify: bool,
    pub text_column: Option<String>,
    pub id_column: Option<String>,
    /// The pool holds whole articles: split `text_column` into statements first, each
    /// identified as `<id_column value>:<statement index>`.
    pub segment: bool,
    /// More labelled files whose texts must not be proposed (same text column).
    pub exclude: Vec<PathBuf>,
    pub read: TableFlags,
    pub seed: u64,
    pub to: Export,
}

/// One task's pre-annotation of a selected row.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub task: String,
    pub label: String,
    pub score: f32,
    pub margin: f32,
}

/// A selected row: its pool cells, id and text, rank (1 = first to annotate) and the score
/// the strategy ranked it by, and the model's predictions.
#[derive(Debug, Clone)]
pub struct Selected {
    pub cells: Vec<Option<String>>,
    pub id: String,
    pub text: String,
    pub rank: usize,
    pub score: f32,
    pub predictions: Vec<Prediction>,
}

#[derive(Debug, Serialize)]
pub struct SelectSummary {
    pub pool_rows: usize,
    pub empty_texts: usize,
    pub repeats_in_pool: usize,
    pub already_labelled: usize,
    pub candidates: usize,
    pub selected: usize,
    pub strategy: Strategy,
    pub task: String,
    pub output: PathBuf,
    pub to: Export,
    /// Selected rows per predicted label of the ranking task.
    pub predicted: BTreeMap<String, usize>,
}

/// Select from `input` and write the picks to `output`.
pub fn select(
    model: &LoadedModel,
    input: &Path,
    output: &Path,
    opts: &SelectOptions,
) -> Result<SelectSummary> {
    let cfg = &model.config;
    let task = match &opts.task {
        None => 0,
        Some(name) => model
            .tasks
            .iter()
            .position(|t| &t.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = model.tasks.iter().map(|t| t.name.as_str()).collect();
                Error::Input(format!(
                    "--task {name}: the model's tasks are {}",
                    names.join(", ")
                ))
            })?,
    };
    let given_text = opts
        .text_column
        .clone()
        .unwrap_or_else(|| cfg.raw.data.text_column.clone());
    let mut table = read_table(input, opts.read.resolve(input)?)?;
    let (mut text_column, mut id_column) = (given_text.clone(), opts.id_column.clone());
    if opts.segment {
        let article = id_column
            .as_deref()
            .ok_or_else(|| Error::Input("--segment needs --id-column, the article id".into()))?;
        table = segmented(&table, input, &text_column, article)?;
        text_column = STATEMENT_TEXT.into();
        id_column = Some(STATEMENT_ID.into());
    }
    let text_col = table.column_index(input, &text_column)?;
    let id_col = match id_column.as_deref().or(cfg.raw.data.id_column.as_deref()) {
        Some(c) if id_column.is_some() || table.columns.iter().any(|x| x == c) => {
            Some(table.column_index(input, c)?)
        }
        _ => None,
    };

    let task_names: Vec<&str> = model.tasks.iter().map(|t| t.name.as_str()).collect();
    if opts.to == Export::Csv {
        if let Some(c) = export::added_columns(&task_names)
            .iter()
            .find(|c| table.columns.contains(c))
        {
            return Err(Error::Input(format!(
                "{}: the pool already has a column `{c}`, which select would add; rename it",
                input.display()
            )));
        }
    }
    // `--exclude` files hold statements: under the pool's text column, or with --segment
    // (where that column holds articles) under the model's.
    let exclude_column = match opts.segment {
        true => &cfg.raw.data.text_column,
        false => &given_text,
    };
    let known = labelled_texts(model, exclude_column, opts)?;
    let mut seen: HashSet<String> = HashSet::new();
    let (mut empty, mut repeats, mut labelled) = (0, 0, 0);
    let mut candidates: Vec<usize> = Vec::new();
    for (r, row) in table.data.iter().enumerate() {
        let Some(text) = row[text_col].as_deref() else {
            empty += 1;
            continue;
        };
        let key = dedup_key(text);
        if known.contains(&key) {
            labelled += 1;
        } else if !seen.insert(key) {
            repeats += 1;
        } else {
            candidates.push(r);
        }
    }
    let text_of = |r: usize| table.data[r][text_col].as_deref().unwrap_or_default();
    let texts: Vec<&str> = candidates.iter().map(|&r| text_of(r)).collect();
    let probs = model.predict(&texts, 256)?.probs;
    let ranked = strategy::rank(opts.strategy, &probs.probs[task], opts.seed);
    let n = opts.n.min(candidates.len());
    let picked = match (opts.strategy, opts.stratify) {
        (Strategy::Diverse, _) => {
            // Only the most uncertain rows are clustered: represent just those.
            let shortlist = strategy::shortlist(&ranked, n);
            let sub: Vec<&str> = shortlist.iter().map(|(i, _)| texts[*i]).collect();
            let reps = model.represent(&sub, 256)?;
            strategy::diverse(&shortlist, &reps, n, opts.seed)
        }
        (_, true) => {
            let labels = model.tasks[task].labels.len();
            strategy::stratified(&ranked, &probs.argmax(task), labels, n)
        }
        (_, false) => ranked.into_iter().take(n).collect(),
    };

    let mut predicted: BTreeMap<String, usize> = BTreeMap::new();
    let rows: Vec<Selected> = picked
        .iter()
        .enumerate()
        .map(|(rank, &(c, score))| {
            let r = candidates[c];
            let predictions: Vec<Prediction> = model
                .tasks
                .iter()
                .enumerate()
                .map(|(t, spec)| {
                    let p = &probs.probs[t][c];
                    let best = argmax(p) as usize;
                    Prediction {
                        task: spec.name.clone(),
                        label: spec.labels[best].clone(),
                        score: p[best],
                        margin: strategy::margin(p),
                    }
                })
                .collect();
            *predicted
                .entry(predictions[task].label.clone())
                .or_default() += 1;
            Selected {
                cells: table.data[r].clone(),
                id: match id_col {
                    Some(i) => table.data[r][i].clone().unwrap_or_default(),
                    None => table.lines[r].to_string(),
                },
                text: text_of(r).to_string(),
                rank: rank + 1,
                score,
                predictions,
            }
        })
        .collect();
    export::write(output, opts.to, &rows, &table.columns, &task_names)?;
    Ok(SelectSummary {
        pool_rows: table.height(),
        empty_texts: empty,
        repeats_in_pool: repeats,
        already_labelled: labelled,
        candidates: candidates.len(),
        selected: rows.len(),
        strategy: opts.strategy,
        task: model.tasks[task].name.clone(),
        output: output.to_path_buf(),
        to: opts.to,
        predicted,
    })
}

const STATEMENT_ID: &str = "statement_id";
const STATEMENT_TEXT: &str = "text";

/// The pool's articles as statements: `statement_id` (`<article>:<index>`), the article id,
/// `statement_index`, `start`, `end` (character offsets in the body) and `text`.
fn segmented(table: &Table, input: &Path, body: &str, article: &str) -> Result<Table> {
    let (b, a) = (
        table.column_index(input, body)?,
        table.column_index(input, article)?,
    );
    let mut out = Table {
        columns: [
            STATEMENT_ID,
            article,
            "statement_index",
            "start",
            "end",
            STATEMENT_TEXT,
        ]
        .map(String::from)
        .to_vec(),
        data: Vec::new(),
        lines: Vec::new(),
    };
    for (row, &line) in table.data.iter().zip(&table.lines) {
        let id = row[a].clone().unwrap_or_default();
        for (i, s) in split_sentences(row[b].as_deref().unwrap_or_default())
            .into_iter()
            .enumerate()
        {
            out.data.push(vec![
                Some(format!("{id}:{i}")),
                Some(id.clone()),
                Some(i.to_string()),
                Some(s.start.to_string()),
                Some(s.end.to_string()),
                Some(s.text),
            ]);
            out.lines.push(line);
        }
    }
    Ok(out)
}

/// Normalised texts the model was trained, tuned or tested on, and those of `--exclude`.
fn labelled_texts(
    model: &LoadedModel,
    text_column: &str,
    opts: &SelectOptions,
) -> Result<HashSet<String>> {
    let corpus = load_corpus(&model.config).map_err(|e| {
        Error::Input(format!(
            "cannot read the model's training data, so cannot keep its rows out of the selection: {e}"
        ))
    })?;
    let mut known: HashSet<String> = corpus
        .splits
        .iter()
        .flat_map(|s| &s.records)
        .filter_map(|r| r.text.as_deref())
        .map(dedup_key)
        .collect();
    for file in &opts.exclude {
        let t = read_table(file, opts.read.resolve(file)?)?;
        let c = t.column_index(file, text_column)?;
        known.extend(
            t.data
                .iter()
                .filter_map(|row| row[c].as_deref())
                .map(dedup_key),
        );
    }
    Ok(known)
}

/// The summary for a terminal.
pub fn render(s: &SelectSummary) -> String {
    let per_label: Vec<String> = s
        .predicted
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    format!(
        "pool: {} rows; left out: {} empty, {} repeats, {} already labelled; {} candidates\n\
         selected {} by {:?} on {} (predicted: {}) -> {}\n",
        s.pool_rows,
        s.empty_texts,
        s.repeats_in_pool,
        s.already_labelled,
        s.candidates,
        s.selected,
        s.strategy,
        s.task,
        per_label.join(", "),
        s.output.display()
    )
}
