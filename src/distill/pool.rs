//! Reading the unlabelled pool: the texts of one column of each `[[distill.pool]]` file,
//! through the same streaming reader as every other command, split into sentences when the
//! cells hold whole articles.

use crate::config::{FileFormat, PoolSpec};
use crate::error::{Error, Result};
use crate::table::{ReadOptions, RowReader};

/// The non-empty texts of `p`, in file order (sentences in article order with `articles`).
/// A malformed row stops the read with its file and line.
pub fn read_pool(p: &PoolSpec) -> Result<Vec<String>> {
    if !p.path.is_file() {
        let e = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "unlabelled pool file not found",
        );
        return Err(Error::io(&p.path, e));
    }
    let opts = ReadOptions {
        format: FileFormat::resolve(&p.format, &p.path)?,
        delimiter: p.delimiter,
        quoting: p.quoting,
    };
    let mut reader = RowReader::open(&p.path, opts)?;
    let col = reader.column_index(&p.text_column)?;
    let mut out = Vec::new();
    let mut rows = 0usize;
    while let Some(record) = reader.next_record()? {
        if p.max_rows > 0 && rows == p.max_rows {
            break;
        }
        rows += 1;
        let row = record.map_err(|bad| *bad.error)?;
        let Some(text) = row.cells.get(col).and_then(|c| c.text()) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match p.articles {
            true => out.extend(
                crate::segment::split_sentences(&text)
                    .into_iter()
                    .map(|s| s.text),
            ),
            false => out.push(text.into_owned()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &std::path::Path, articles: bool, max_rows: usize) -> PoolSpec {
        PoolSpec {
            path: path.to_path_buf(),
            format: "auto".into(),
            delimiter: None,
            quoting: true,
            text_column: "body".into(),
            articles,
            max_rows,
        }
    }

    #[test]
    fn a_pool_keeps_non_empty_texts_in_file_order_and_splits_articles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.csv");
        let body = "id,body\n1,Talks resumed. Both sides signed a deal.\n2,\n3,A third text\n";
        std::fs::write(&path, body).unwrap();
        let plain = read_pool(&spec(&path, false, 0)).unwrap();
        assert_eq!(
            plain,
            ["Talks resumed. Both sides signed a deal.", "A third text"]
        );
        let split = read_pool(&spec(&path, true, 0)).unwrap();
        assert_eq!(
            split,
            [
                "Talks resumed.",
                "Both sides signed a deal.",
                "A third text"
            ]
        );
        assert_eq!(read_pool(&spec(&path, false, 2)).unwrap().len(), 1);
    }

    #[test]
    fn a_pool_without_its_text_column_is_an_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.csv");
        std::fs::write(&path, "id,text\n1,a\n").unwrap();
        let e = read_pool(&spec(&path, false, 0)).unwrap_err().to_string();
        assert!(e.contains("body"), "{e}");
    }
}
