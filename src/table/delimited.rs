//! A strict RFC 4180 record reader for csv and tsv, the only one in stancekit.
//!
//! The `csv` crate and polars are lenient where leniency loses rows: they skip blank lines (in
//! a one-column file each is an empty text), and they accept text after a closing quote
//! (`"a" b`), so a quote opened by mistake silently swallows the following lines into one
//! field. This reader keeps every blank line as a record, flags a quote that closes in the
//! middle of a field and a quote left open at the end of the file, and hands back each
//! record's raw bytes and starting line so that a refused record can be reported or written
//! out exactly as it was. It reads `\n`, `\r\n` and a lone `\r` as line ends and drops a UTF-8
//! byte-order mark at the start, as Python's `csv` module does with `utf-8-sig`.

use std::io::{BufRead, Read};

/// Why a record could not be split into fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A quoted field closes and is followed by something other than a delimiter or a line
    /// end, on `line`. The record is taken to end at the end of that line.
    TextAfterQuote { line: u64 },
    /// A quote opened in this record is never closed: the record runs to the end of the file.
    UnclosedQuote,
}

impl Problem {
    pub fn reason(&self) -> String {
        match self {
            Problem::TextAfterQuote { line } => format!(
                "a quoted field closes on line {line} but text follows the closing quote \
                 (a stray quote at the start of a field? quote the whole field and double the \
                 quotes inside it)"
            ),
            Problem::UnclosedQuote => {
                "a quote opened here is never closed; it runs to the end of the file".into()
            }
        }
    }
}

/// One record: its fields, where it starts, and the bytes it was read from.
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    /// 1-based line on which the record starts.
    pub line: u64,
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// The record as written, without its line end.
    pub raw: Vec<u8>,
    /// An empty line: one empty field.
    pub blank: bool,
    pub problem: Option<Problem>,
}

impl RawRecord {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let f = &self.buf[start..end];
            start = end;
            f
        })
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.raw.clear();
        self.blank = false;
        self.problem = None;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote seen inside a quoted field: the end of the field, or the first of `""`.
    QuoteInQuoted,
    /// Skipping to the end of the line after text that followed a closing quote.
    Junk,
}

/// Reads records one at a time from any byte stream.
pub struct DelimitedReader<R> {
    inner: std::io::BufReader<R>,
    sep: u8,
    quoting: bool,
    /// The line the next byte is on.
    line: u64,
    /// Bytes consumed so far.
    offset: u64,
    started: bool,
    /// A `\r` was the last byte: a following `\n` belongs to the same line end.
    after_cr: bool,
}

impl<R: Read> DelimitedReader<R> {
    pub fn new(inner: R, sep: u8, quoting: bool) -> Self {
        DelimitedReader {
            inner: std::io::BufReader::with_capacity(1 << 16, inner),
            sep,
            quoting,
            line: 1,
            offset: 0,
            started: false,
            after_cr: false,
        }
    }

    /// Bytes read so far, for progress.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// Read the next record into `rec`; `false` at the end of the input.
    pub fn read(&mut self, rec: &mut RawRecord) -> std::io::Result<bool> {
        rec.clear();
        if !self.started {
            self.started = true;
            let buf = self.inner.fill_buf()?;
            if buf.starts_with(b"\xEF\xBB\xBF") {
                self.inner.consume(3);
                self.offset += 3;
            }
        }
        // A `\n` right after a `\r` that ended the previous record is part of that line end.
        if self.after_cr {
            self.after_cr = false;
            let buf = self.inner.fill_buf()?;
            if buf.first() == Some(&b'\n') {
                self.inner.consume(1);
                self.offset += 1;
            }
        }
        rec.line = self.line;
        let mut state = State::FieldStart;
        let mut any = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if !any {
                    return Ok(false);
                }
                match state {
                    State::Quoted => rec.problem = Some(Problem::UnclosedQuote),
                    State::Junk => {}
                    _ => rec.ends.push(rec.buf.len()),
                }
                return Ok(true);
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                used += 1;
                any = true;
                let line_end = b == b'\n' || b == b'\r';
                if line_end && state != State::Quoted {
                    if state != State::Junk {
                        if rec.ends.is_empty() && rec.buf.is_empty() && state == State::FieldStart {
                            rec.blank = true;
                        }
                        rec.ends.push(rec.buf.len());
                    }
                    self.after_cr = b == b'\r';
                    self.line += 1;
                    done = true;
                    break;
                }
                // A line end inside a quoted field: `\r\n` counts as one line.
                let after_cr_here = rec.raw.last() == Some(&b'\r');
                rec.raw.push(b);
                if b == b'\r' || (b == b'\n' && !after_cr_here) {
                    self.line += 1;
                }
                match state {
                    State::FieldStart if self.quoting && b == b'"' => state = State::Quoted,
                    State::FieldStart | State::Unquoted => {
                        if b == self.sep {
                            rec.ends.push(rec.buf.len());
                            state = State::FieldStart;
                        } else {
                            rec.buf.push(b);
                            state = State::Unquoted;
                        }
                    }
                    State::Quoted => {
                        if b == b'"' {
                            state = State::QuoteInQuoted;
                        } else {
                            rec.buf.push(b);
                        }
                    }
                    State::QuoteInQuoted => {
                        if b == b'"' {
                            rec.buf.push(b'"');
                            state = State::Quoted;
                        } else if b == self.sep {
                            rec.ends.push(rec.buf.len());
                            state = State::FieldStart;
                        } else {
                            rec.problem = Some(Problem::TextAfterQuote { line: self.line });
                            state = State::Junk;
                        }
                    }
                    State::Junk => {}
                }
            }
            self.inner.consume(used);
            self.offset += used as u64;
            if done {
                return Ok(true);
            }
        }
    }
}

/// Split `text` into records (for tests and small inputs).
pub fn parse_all(text: &[u8], sep: u8, quoting: bool) -> Vec<RawRecord> {
    let mut r = DelimitedReader::new(text, sep, quoting);
    let mut out = Vec::new();
    let mut rec = RawRecord::default();
    while let Ok(true) = r.read(&mut rec) {
        out.push(rec.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: &RawRecord) -> Vec<String> {
        r.fields()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn blank_lines_are_records_with_one_empty_field() {
        let recs = parse_all(b"text\na\n\nb\n\n\nc\n", b',', true);
        let got: Vec<Vec<String>> = recs.iter().map(fields).collect();
        assert_eq!(
            got,
            vec![
                vec!["text"],
                vec!["a"],
                vec![""],
                vec!["b"],
                vec![""],
                vec![""],
                vec!["c"]
            ]
        );
        assert!(recs[2].blank && !recs[1].blank);
        let lines: Vec<u64> = recs.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_line_ends() {
        let recs = parse_all(b"id,t\r\n1,\"a,\"\"b\"\"\r\nc\"\r\n2,x\r\n", b',', true);
        assert_eq!(fields(&recs[1]), vec!["1", "a,\"b\"\r\nc"]);
        assert_eq!(recs[2].line, 4);
        assert_eq!(fields(&recs[2]), vec!["2", "x"]);
        assert_eq!(recs[1].raw, b"1,\"a,\"\"b\"\"\r\nc\"");
    }

    #[test]
    fn text_after_a_closing_quote_is_a_problem_that_ends_at_its_line() {
        let recs = parse_all(
            b"id,text\n1,ok\n2,\"unbalanced start\n3,more\n4,end\" here\n5,last\n",
            b',',
            true,
        );
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[2].line, 3);
        assert_eq!(recs[2].problem, Some(Problem::TextAfterQuote { line: 5 }));
        assert_eq!(fields(&recs[3]), vec!["5", "last"]);
        assert_eq!(recs[3].line, 6);
    }

    #[test]
    fn an_unclosed_quote_runs_to_the_end_and_is_flagged() {
        let recs = parse_all(b"a\tb\n1\t\"open\n2\tx\n", b'\t', true);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].problem, Some(Problem::UnclosedQuote));
    }

    #[test]
    fn quotes_inside_unquoted_fields_and_without_quoting_are_text() {
        let recs = parse_all(b"a,b\n1,say \"hi\"\n", b',', true);
        assert_eq!(fields(&recs[1]), vec!["1", "say \"hi\""]);
        let recs = parse_all(b"a\tb\n\"x\ty\n", b'\t', false);
        assert_eq!(fields(&recs[1]), vec!["\"x", "y"]);
    }

    #[test]
    fn a_bom_is_dropped_and_a_lone_cr_ends_a_line() {
        let recs = parse_all(b"\xEF\xBB\xBFid,t\r1,a\r2,b", b',', true);
        let got: Vec<Vec<String>> = recs.iter().map(fields).collect();
        assert_eq!(got, vec![vec!["id", "t"], vec!["1", "a"], vec!["2", "b"]]);
        assert_eq!(recs[2].line, 3);
    }

    #[test]
    fn a_trailing_delimiter_gives_an_empty_last_field() {
        let recs = parse_all(b"a,b\n1,\n", b',', true);
        assert_eq!(fields(&recs[1]), vec!["1", ""]);
        assert!(!recs[1].blank);
    }
}
