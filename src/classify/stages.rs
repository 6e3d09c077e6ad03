//! The two transformations: labelling statements with a checkpoint, and splitting articles
//! into statements. `classify --segment` chains them.

use super::labels::{push_empty_cells, push_task_cells, task_columns, LabelOptions, TaskCounts};
use super::stream::Stage;
use crate::checkpoint::LoadedModel;
use crate::error::{Error, Result};
use crate::segment::split_sentences;
use crate::table::Cell;
use crate::table::ColKind;
use crate::table::Row;
use std::path::Path;

/// Row status: why a row has (or lacks) a label.
pub const STATUS_OK: &str = "ok";
pub const STATUS_EMPTY: &str = "empty_text";
pub const STATUS_TRUNCATED: &str = "truncated";

fn find(input: &[(String, ColKind)], column: &str, path: &Path) -> Result<usize> {
    input
        .iter()
        .position(|(c, _)| c == column)
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            found: input
                .iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Labels each row's text with the chosen tasks of a checkpoint.
pub struct ClassifyStage<'m> {
    pub model: &'m LoadedModel,
    /// Indices into `model.tasks`, in output order.
    pub tasks: Vec<usize>,
    pub text_column: String,
    pub labels: LabelOptions,
    pub batch_size: usize,
    pub counts: Vec<TaskCounts>,
    pub empty_text: u64,
    pub truncated: u64,
    text_idx: usize,
}

impl<'m> ClassifyStage<'m> {
    pub fn new(
        model: &'m LoadedModel,
        tasks: Vec<usize>,
        text_column: String,
        labels: LabelOptions,
        batch_size: usize,
    ) -> Self {
        let counts = vec![TaskCounts::default(); tasks.len()];
        ClassifyStage {
            model,
            tasks,
            text_column,
            labels,
            batch_size: batch_size.max(1),
            counts,
            empty_text: 0,
            truncated: 0,
            text_idx: 0,
        }
    }
}

impl Stage for ClassifyStage<'_> {
    fn columns(
        &mut self,
        input: &[(String, ColKind)],
        path: &Path,
    ) -> Result<Vec<(String, ColKind)>> {
        self.text_idx = find(input, &self.text_column, path)?;
        let mut cols = input.to_vec();
        for &t in &self.tasks {
            cols.extend(task_columns(&self.model.tasks[t], &self.labels));
        }
        cols.push(("status".into(), ColKind::Text));
        for (name, _) in &cols[input.len()..] {
            if input.iter().any(|(c, _)| c == name) {
                return Err(Error::Input(format!(
                    "{}: the input already has a column `{name}`, which classify would add; rename it",
                    path.display()
                )));
            }
        }
        Ok(cols)
    }

    fn process(&mut self, mut rows: Vec<Row>) -> Result<(Vec<Row>, usize)> {
        let mut texts = Vec::with_capacity(rows.len());
        let mut which = Vec::with_capacity(rows.len());
        for row in &rows {
            match row.cells.get(self.text_idx).and_then(Cell::text) {
                Some(t) if !t.trim().is_empty() => {
                    which.push(Some(texts.len()));
                    texts.push(t);
                }
                _ => which.push(None),
            }
        }
        let refs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let preds = match refs.is_empty() {
            true => None,
            false => Some(self.model.predict(&refs, self.batch_size)?),
        };
        for (row, w) in rows.iter_mut().zip(&which) {
            let status = match (w, &preds) {
                (Some(i), Some(p)) => {
                    for (slot, &t) in self.tasks.iter().enumerate() {
                        push_task_cells(
                            &self.model.tasks[t],
                            &p.probs.probs[t][*i],
                            &self.labels,
                            &mut self.counts[slot],
                            &mut row.cells,
                        );
                    }
                    if p.truncated[*i] {
                        self.truncated += 1;
                        STATUS_TRUNCATED
                    } else {
                        STATUS_OK
                    }
                }
                _ => {
                    for &t in &self.tasks {
                        push_empty_cells(&self.model.tasks[t], &self.labels, &mut row.cells);
                    }
                    self.empty_text += 1;
                    STATUS_EMPTY
                }
            };
            row.cells.push(Cell::Text(status.into()));
        }
        let n = rows.len();
        Ok((rows, n))
    }
}

/// Splits each row's article body into statements.
pub struct SegmentStage {
    pub text_column: String,
    pub id_column: String,
    pub statements: u64,
    pub empty_bodies: u64,
    text_idx: usize,
    id_idx: usize,
}

impl SegmentStage {
    pub fn new(text_column: String, id_column: String) -> Self {
        SegmentStage {
            text_column,
            id_column,
            statements: 0,
            empty_bodies: 0,
            text_idx: 0,
            id_idx: 0,
        }
    }
}

/// The column holding each statement's text in `segment` output.
pub const SEGMENT_TEXT: &str = "text";

impl Stage for SegmentStage {
    fn columns(
        &mut self,
        input: &[(String, ColKind)],
        path: &Path,
    ) -> Result<Vec<(String, ColKind)>> {
        self.text_idx = find(input, &self.text_column, path)?;
        self.id_idx = find(input, &self.id_column, path)?;
        if [SEGMENT_TEXT, "statement_index", "start", "end"].contains(&self.id_column.as_str()) {
            return Err(Error::Input(format!(
                "--id-column `{}` clashes with a column segment writes; rename it",
                self.id_column
            )));
        }
        Ok(vec![
            (self.id_column.clone(), ColKind::Text),
            ("statement_index".into(), ColKind::Int),
            ("start".into(), ColKind::Int),
            ("end".into(), ColKind::Int),
            (SEGMENT_TEXT.into(), ColKind::Text),
        ])
    }

    fn process(&mut self, rows: Vec<Row>) -> Result<(Vec<Row>, usize)> {
        let mut out = Vec::with_capacity(rows.len() * 8);
        let n = rows.len();
        for row in rows {
            let id = row.cells.get(self.id_idx).cloned().unwrap_or(Cell::Null);
            let body = row
                .cells
                .get(self.text_idx)
                .and_then(Cell::text)
                .unwrap_or_default();
            let sentences = split_sentences(&body);
            if sentences.is_empty() {
                // An article without text still gets a row, so it is not lost downstream.
                self.empty_bodies += 1;
                out.push(Row {
                    line: row.line,
                    cells: vec![id, int(0), int(0), int(0), Cell::Null],
                });
                continue;
            }
            self.statements += sentences.len() as u64;
            for (i, s) in sentences.into_iter().enumerate() {
                out.push(Row {
                    line: row.line,
                    cells: vec![
                        id.clone(),
                        int(i),
                        int(s.start),
                        int(s.end),
                        Cell::Text(s.text),
                    ],
                });
            }
        }
        Ok((out, n))
    }
}

fn int(v: usize) -> Cell {
    Cell::Raw(v.to_string())
}

/// Two stages one after the other; rows covered are the first stage's.
pub struct Chain<A, B>(pub A, pub B);

impl<A: Stage, B: Stage> Stage for Chain<A, B> {
    fn columns(
        &mut self,
        input: &[(String, ColKind)],
        path: &Path,
    ) -> Result<Vec<(String, ColKind)>> {
        let mid = self.0.columns(input, path)?;
        self.1.columns(&mid, path)
    }

    fn process(&mut self, rows: Vec<Row>) -> Result<(Vec<Row>, usize)> {
        let (mid, covered) = self.0.process(rows)?;
        let (out, _) = self.1.process(mid)?;
        Ok((out, covered))
    }
}
