//! The raw bytes of each delimited record, kept alongside the `csv` parser.
//!
//! The parser gives fields, not the text they came from, and it accepts a quote left open at
//! the end of the file as a field that runs to the end. Keeping the bytes lets a rejected row
//! be written exactly as it was, and lets an unclosed quote be caught instead of silently
//! swallowing the rest of the file into one row.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

#[derive(Default)]
struct Tail {
    /// File offset of `buf[0]`.
    base: u64,
    buf: Vec<u8>,
}

/// A reader that remembers what it has handed out since the last [`RawTail::take`].
pub struct TeeReader<R> {
    inner: R,
    tail: Rc<RefCell<Tail>>,
}

/// The shared handle used to cut records out of what was read.
#[derive(Clone)]
pub struct RawTail(Rc<RefCell<Tail>>);

pub fn tee<R: Read>(inner: R) -> (TeeReader<R>, RawTail) {
    let tail = Rc::new(RefCell::new(Tail::default()));
    (
        TeeReader {
            inner,
            tail: tail.clone(),
        },
        RawTail(tail),
    )
}

impl<R: Read> Read for TeeReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.tail.borrow_mut().buf.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

impl RawTail {
    /// The bytes from file offset `start` to `end`, dropping everything before `end`.
    pub fn take(&self, start: u64, end: u64) -> Vec<u8> {
        let mut t = self.0.borrow_mut();
        let len = t.buf.len() as u64;
        let from = start.saturating_sub(t.base).min(len) as usize;
        let to = end.saturating_sub(t.base).min(len) as usize;
        let raw = t.buf[from..to.max(from)].to_vec();
        t.buf.drain(..to);
        t.base += to as u64;
        raw
    }
}

/// Whether a record's raw bytes end inside a quoted field (RFC 4180 quoting: a field is
/// quoted only if it starts with a quote; `""` inside it is an escaped quote).
pub fn ends_in_open_quote(raw: &[u8], sep: u8) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if in_quotes {
            if b == b'"' {
                if raw.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if field_start && b == b'"' {
            in_quotes = true;
            field_start = false;
        } else {
            field_start = b == sep || b == b'\n' || b == b'\r';
        }
        i += 1;
    }
    in_quotes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_quotes_are_told_from_closed_and_stray_ones() {
        assert!(ends_in_open_quote(b"5,\"unclosed\n6,x\n", b','));
        assert!(!ends_in_open_quote(b"5,\"closed \"\"x\"\" y\"\n", b','));
        assert!(!ends_in_open_quote(b"5,a stray \" quote\n", b','));
        assert!(ends_in_open_quote(b"5\t\"open", b'\t'));
    }

    #[test]
    fn take_returns_the_span_and_forgets_what_came_before() {
        let (mut r, tail) = tee(&b"abcdefgh"[..]);
        let mut buf = [0u8; 8];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(tail.take(0, 3), b"abc");
        assert_eq!(tail.take(3, 5), b"de");
        assert_eq!(tail.take(5, 8), b"fgh");
    }
}
