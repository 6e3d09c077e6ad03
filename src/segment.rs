//! Sentence splitting for news articles, so that whole articles can be labelled statement by
//! statement.
//!
//! A small rule-based splitter rather than a model or a crate: news prose has a known set of
//! traps (titles and ranks, "U.S.", decimals, quotations that end after the period, ellipses,
//! initials), and explicit rules for them are predictable, fast and testable. Offsets are in
//! characters (Unicode scalar values), not bytes, so they mean the same in Python or a
//! spreadsheet.

/// One sentence: `text` is `body[start..end]` in characters (end exclusive), without the
/// surrounding whitespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Words that are never the end of a sentence when followed by a period: titles, ranks,
/// months and Latin shorthands (lower case, without the period).
const NEVER_FINAL: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "gen", "maj", "lt", "col", "capt", "cpt", "cmdr", "adm",
    "brig", "sgt", "cpl", "pvt", "sen", "rep", "gov", "pres", "rev", "hon", "amb", "supt", "insp",
    "st", "mt", "ft", "jr", "sr", "messrs", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "approx", "est", "vs", "cf", "ca", "al", "dept", "univ", "gen",
];

/// Abbreviations that stand before a number ("No. 3", "Art. 5").
const BEFORE_NUMBER: &[&str] = &["no", "nos", "art", "arts", "para", "vol", "p", "pp", "fig"];

/// Abbreviations that often end a sentence too ("... in the U.S. The ..."): they end one only
/// when the next word typically opens a sentence.
const MAYBE_FINAL: &[&str] = &["inc", "corp", "ltd", "co", "etc", "bros"];

/// Words that usually open a sentence; used to decide after ambiguous abbreviations.
const OPENERS: &[&str] = &[
    "the",
    "he",
    "she",
    "it",
    "they",
    "we",
    "i",
    "but",
    "this",
    "that",
    "these",
    "those",
    "there",
    "in",
    "on",
    "at",
    "a",
    "an",
    "his",
    "her",
    "its",
    "their",
    "our",
    "however",
    "meanwhile",
    "officials",
    "after",
    "when",
    "while",
    "if",
    "as",
];

/// Characters after which an unclosed quotation no longer holds sentences together.
const MAX_QUOTE: usize = 400;

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | '»' | ')' | ']')
}

fn is_opening(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '‘' | '«' | '(' | '[')
}

/// Split `body` into sentences. Blank lines always end a sentence; whitespace-only input gives
/// no sentences.
pub fn split_sentences(body: &str) -> Vec<Sentence> {
    let chars: Vec<char> = body.chars().collect();
    let n = chars.len();
    let mut cuts = Vec::new();
    // Where the open double quotation began: a quoted passage of several sentences stays one
    // statement ("This is not just a railway. It is a corridor of trust."), unless it runs so
    // long that the closing mark is probably missing.
    let mut quote_open: Option<usize> = None;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        match c {
            '"' => quote_open = if quote_open.is_some() { None } else { Some(i) },
            '“' => quote_open = Some(i),
            '”' => quote_open = None,
            _ => {}
        }
        if c == '\n' {
            let mut j = i + 1;
            while j < n && chars[j] != '\n' && chars[j].is_whitespace() {
                j += 1;
            }
            if j < n && chars[j] == '\n' {
                quote_open = None;
                cuts.push(i);
                i = j + 1;
                continue;
            }
        } else if is_terminator(c) {
            let mut j = i + 1;
            while j < n && is_terminator(chars[j]) {
                j += 1;
            }
            let run_end = j;
            while j < n && is_closing(chars[j]) {
                if matches!(chars[j], '"' | '”') {
                    quote_open = None;
                }
                j += 1;
            }
            let in_long_quote = quote_open.is_some_and(|q| i - q > MAX_QUOTE);
            let in_quote = quote_open.is_some() && !in_long_quote;
            if j < n
                && chars[j].is_whitespace()
                && !in_quote
                && ends_sentence(&chars, i, run_end, j)
            {
                cuts.push(j);
            }
            i = j;
            continue;
        }
        i += 1;
    }
    cuts.push(n);
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        if let Some(s) = trimmed(&chars, start, cut) {
            out.push(s);
        }
        start = cut;
    }
    out
}

fn trimmed(chars: &[char], mut start: usize, mut end: usize) -> Option<Sentence> {
    while start < end && chars[start].is_whitespace() {
        start += 1;
    }
    while end > start && chars[end - 1].is_whitespace() {
        end -= 1;
    }
    (start < end).then(|| Sentence {
        start,
        end,
        text: chars[start..end].iter().collect(),
    })
}

/// Whether the terminator run `chars[term..run_end]`, followed by closing marks up to `after`
/// (which is whitespace), ends a sentence.
fn ends_sentence(chars: &[char], term: usize, run_end: usize, after: usize) -> bool {
    let next_word: String = chars[after..]
        .iter()
        .skip_while(|c| c.is_whitespace())
        .skip_while(|c| is_opening(**c))
        .take_while(|c| c.is_alphanumeric())
        .collect();
    let Some(first) = next_word.chars().next() else {
        return true;
    };
    // "we will see... the minister", "he said "no." and left": the sentence goes on.
    if first.is_lowercase() {
        return false;
    }
    let single_period = run_end - term == 1 && chars[term] == '.';
    let quoted = after > run_end;
    if !single_period || quoted {
        return true;
    }
    let word_start = chars[..term]
        .iter()
        .rposition(|c| c.is_whitespace())
        .map_or(0, |p| p + 1);
    let word: String = chars[word_start..term]
        .iter()
        .skip_while(|c| is_opening(**c))
        .collect();
    let lower = word.to_lowercase();
    let mut letters = word.chars();
    // Initials: "J. R. Okafor".
    if let (Some(c), None) = (letters.next(), letters.next()) {
        if c.is_uppercase() {
            return false;
        }
    }
    if NEVER_FINAL.contains(&lower.as_str()) || lower == "e.g" || lower == "i.e" {
        return false;
    }
    if BEFORE_NUMBER.contains(&lower.as_str()) && first.is_ascii_digit() {
        return false;
    }
    // "U.S.", "a.m.", "Inc.": ends a sentence only before a typical sentence opener.
    if lower.contains('.') || MAYBE_FINAL.contains(&lower.as_str()) {
        return OPENERS.contains(&next_word.to_lowercase().as_str());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<String> {
        split_sentences(body).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn a_realistic_article_splits_only_at_real_sentence_ends() {
        let body =
            "ABUJA, Jan. 5 — Maj. Gen. Tiémoko Diarra met Lt. Col. Ade Bello and Dr. Halima \
Oduya at St. Mary's hall. The U.S. envoy, Mr. J. R. Okafor, said growth of 3.5 percent and \
$1.2 billion in aid were approx. enough, e.g. for Road No. 3 repairs.\n\nHe said: \"We will not \
yield.\" The talks resumed. We will see... The minister left! Did he? Yes.";
        assert_eq!(
            texts(body),
            [
                "ABUJA, Jan. 5 — Maj. Gen. Tiémoko Diarra met Lt. Col. Ade Bello and Dr. Halima \
Oduya at St. Mary's hall.",
                "The U.S. envoy, Mr. J. R. Okafor, said growth of 3.5 percent and $1.2 billion in \
aid were approx. enough, e.g. for Road No. 3 repairs.",
                "He said: \"We will not yield.\"",
                "The talks resumed.",
                "We will see...",
                "The minister left!",
                "Did he?",
                "Yes.",
            ]
        );
    }

    #[test]
    fn a_quotation_of_several_sentences_stays_one_statement() {
        assert_eq!(
            texts("\"This is not a railway. It is trust.\" The talks resumed. She said: \"We will see... Step by step.\" Then she left."),
            [
                "\"This is not a railway. It is trust.\"",
                "The talks resumed.",
                "She said: \"We will see... Step by step.\"",
                "Then she left."
            ]
        );
    }

    #[test]
    fn an_unclosed_quotation_does_not_swallow_the_article() {
        let long = "Word after word. ".repeat(40);
        let body = format!("He said: \"{long}");
        assert!(split_sentences(&body).len() > 10);
    }

    #[test]
    fn offsets_are_characters_into_the_body() {
        let body = "  Ça va. Élan «vital» ici.";
        let s = split_sentences(body);
        let chars: Vec<char> = body.chars().collect();
        assert_eq!(s.len(), 2);
        for sentence in &s {
            let slice: String = chars[sentence.start..sentence.end].iter().collect();
            assert_eq!(slice, sentence.text);
        }
        assert_eq!((s[0].start, s[0].end), (2, 8));
    }

    #[test]
    fn a_blank_line_always_ends_a_sentence() {
        assert_eq!(
            texts("Headline without a period\n\n  \nFirst line\nstill first."),
            ["Headline without a period", "First line\nstill first."]
        );
    }

    #[test]
    fn an_ellipsis_before_a_lower_case_word_does_not_split() {
        assert_eq!(
            texts("We will see... the minister said."),
            ["We will see... the minister said."]
        );
    }

    #[test]
    fn an_acronym_ends_a_sentence_only_before_a_sentence_opener() {
        assert_eq!(
            texts("Aid came from the U.S. The talks ended."),
            ["Aid came from the U.S.", "The talks ended."]
        );
        assert_eq!(texts("The U.S. Senate voted."), ["The U.S. Senate voted."]);
    }

    #[test]
    fn empty_and_whitespace_bodies_give_no_sentences() {
        assert!(split_sentences("").is_empty());
        assert!(split_sentences(" \n\n\t").is_empty());
    }
}
