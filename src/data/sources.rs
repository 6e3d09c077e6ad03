//! Reading `[[data.sources]]` into the corpus: each extra source is read with its own options
//! and columns, split on its own (grouped by its own group column, so no group straddles
//! splits and the groups of two sources never merge), or added whole to training. Also the
//! cross-validation view of a corpus (`split.folds`), which splits the same way.

use super::{read_with, Columns, Corpus, Part, Record, SplitRecords};
use crate::config::{FileFormat, TaskSpec, ValidConfig};
use crate::error::Result;
use crate::table::ReadOptions;

/// The split of each record: seeded, grouped by `group`, stratified by the mapped label of
/// `task` (the config's stratify task as this source labels it).
pub(super) fn split_parts(cfg: &ValidConfig, task: &TaskSpec, records: &[Record]) -> Vec<Part> {
    let strata = strata(cfg, task, records);
    let groups: Vec<Option<&str>> = records.iter().map(|r| r.group.as_deref()).collect();
    let strata_ref: Vec<&str> = strata.iter().map(String::as_str).collect();
    super::grouped_split(
        &groups,
        &strata_ref,
        cfg.raw.split.dev,
        cfg.raw.split.test,
        cfg.split_seed(),
    )
}

/// Each record's stratification key: its mapped label for the stratify task ("" if none).
fn strata(cfg: &ValidConfig, task: &TaskSpec, records: &[Record]) -> Vec<String> {
    let t = cfg.stratify_task;
    records
        .iter()
        .map(|r| {
            r.labels[t]
                .as_deref()
                .map(|l| task.mapped(l))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// `split.folds`: replace the corpus's splits with one cross-validation fold of its training
/// split: fold `split.fold` as dev, the other folds as train, and no test split at all, so a
/// search over folds cannot see the test rows.
pub(super) fn apply_fold(cfg: &ValidConfig, corpus: &mut Corpus) {
    let (k, fold) = (cfg.raw.split.folds, cfg.raw.split.fold);
    if k < 2 {
        return;
    }
    let records = corpus
        .splits
        .iter_mut()
        .find(|s| s.part == Part::Train)
        .map(|s| std::mem::take(&mut s.records))
        .unwrap_or_default();
    let task = &cfg.tasks[cfg.stratify_task];
    let strata = strata(cfg, task, &records);
    let strata_ref: Vec<&str> = strata.iter().map(String::as_str).collect();
    // Keyed by source too: two sources' groups never merge.
    let keys: Vec<Option<String>> = records
        .iter()
        .map(|r| r.group.as_ref().map(|g| format!("{}\u{1f}{g}", r.source)))
        .collect();
    let groups: Vec<Option<&str>> = keys.iter().map(Option::as_deref).collect();
    let folds = super::split::grouped_folds(&groups, &strata_ref, k, cfg.split_seed());
    let (mut train, mut dev) = (Vec::new(), Vec::new());
    for (r, f) in records.into_iter().zip(folds) {
        match f == fold {
            true => dev.push(r),
            false => train.push(r),
        }
    }
    corpus.splits = vec![
        SplitRecords {
            part: Part::Train,
            records: train,
        },
        SplitRecords {
            part: Part::Dev,
            records: dev,
        },
    ];
}

/// Append every extra source's rows to the corpus splits, in source order.
pub(super) fn add_sources(cfg: &ValidConfig, corpus: &mut Corpus) -> Result<()> {
    for (i, s) in cfg.sources.iter().enumerate() {
        let source = i + 1;
        let opts = ReadOptions {
            format: FileFormat::resolve(&s.format, &s.path)?,
            delimiter: s.delimiter,
            quoting: s.quoting,
        };
        let cols = Columns {
            text: &s.text_column,
            id: s.id_column.as_deref(),
            group: s.group_column.as_deref(),
            labels: s
                .tasks
                .iter()
                .map(|t| t.as_ref().map(|t| t.column.as_str()))
                .collect(),
        };
        corpus.files.push(s.path.clone());
        let records = read_with(&s.path, opts, &cols, corpus.files.len() - 1, source)?;
        let parts = match (s.split, &s.tasks[cfg.stratify_task]) {
            (true, Some(task)) => split_parts(cfg, task, &records),
            (true, None) => split_parts(cfg, &cfg.tasks[cfg.stratify_task], &records),
            (false, _) => vec![Part::Train; records.len()],
        };
        for (r, p) in records.into_iter().zip(parts) {
            split_of(corpus, p).records.push(r);
        }
    }
    Ok(())
}

/// The corpus's split for `part`, created in order (train, dev, test) if it is not there.
fn split_of(corpus: &mut Corpus, part: Part) -> &mut SplitRecords {
    let at = match corpus.splits.iter().position(|s| s.part == part) {
        Some(i) => i,
        None => {
            let i = corpus
                .splits
                .iter()
                .position(|s| (s.part as usize) > (part as usize))
                .unwrap_or(corpus.splits.len());
            corpus.splits.insert(
                i,
                SplitRecords {
                    part,
                    records: Vec::new(),
                },
            );
            i
        }
    };
    &mut corpus.splits[at]
}
