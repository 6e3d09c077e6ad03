//! One table value as it travels from input to output, keeping what the input format said
//! about it: text, a missing value, a JSON literal exactly as written (a number such as
//! `12345678901234567890` or `1E2`, a boolean, a nested value), or a typed Arrow value from
//! parquet (f64, u64, bool, date, timestamp, decimal...). Nothing is converted on the way, so
//! every input column comes out of `classify` with its values unchanged. A record of cells is
//! a `Row`, or a `BadRow` when it cannot be read.

use crate::error::Error;
use polars::prelude::AnyValue;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Null or missing (a JSON `null`, a parquet null, a key absent from a JSON line).
    Null,
    /// Text, including the empty text of an empty csv field.
    Text(String),
    /// A JSON literal written as is (a number, `true`, `[1,2]`); plain text in csv.
    Raw(String),
    /// A non-text parquet value, written back with its Arrow type.
    Typed(AnyValue<'static>),
}

impl Cell {
    /// The value as text (`None` for null). Typed values are rendered as [`render`] does.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Null => None,
            Cell::Text(s) | Cell::Raw(s) => Some(Cow::Borrowed(s)),
            Cell::Typed(v) => Some(Cow::Owned(render(v))),
        }
    }

    /// A probability, written in full (shortest text that reads back as the same f32) so
    /// that thresholds applied to the written value agree with the ones applied here.
    pub fn float(v: f32) -> Cell {
        Cell::Raw(format!("{v}"))
    }

    /// The value as a JSON value's text: literals and typed numbers bare, the rest quoted.
    pub fn json(&self) -> Cow<'_, str> {
        match self {
            Cell::Null => Cow::Borrowed("null"),
            Cell::Raw(s) => Cow::Borrowed(s),
            Cell::Text(s) => Cow::Owned(quote(s)),
            Cell::Typed(v) => {
                let text = render(v);
                let bare = (v.is_integer() || v.is_float() || matches!(v, AnyValue::Boolean(_)))
                    && !matches!(text.as_str(), "NaN" | "inf" | "-inf");
                Cow::Owned(if bare { text } else { quote(&text) })
            }
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Text for a typed value: floats in their shortest exact form (`1e300`, `0.1`), integers of
/// every width exactly, the rest as polars displays them (ISO dates and timestamps).
pub fn render(v: &AnyValue<'static>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::Boolean(b) => b.to_string(),
        AnyValue::Float32(f) => format!("{f:?}"),
        AnyValue::Float64(f) => format!("{f:?}"),
        AnyValue::Int8(i) => i.to_string(),
        AnyValue::Int16(i) => i.to_string(),
        AnyValue::Int32(i) => i.to_string(),
        AnyValue::Int64(i) => i.to_string(),
        AnyValue::Int128(i) => i.to_string(),
        AnyValue::UInt8(i) => i.to_string(),
        AnyValue::UInt16(i) => i.to_string(),
        AnyValue::UInt32(i) => i.to_string(),
        AnyValue::UInt64(i) => i.to_string(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => {
            let s = other.to_string();
            // polars quotes strings inside its display; values here are never bare strings.
            s.trim_matches('"').to_string()
        }
    }
}

/// A JSON object's entries in the order written (serde_json's map would sort them), each
/// value kept as the text it was written as.
pub struct OrderedObject(pub Vec<(String, Cell)>);

fn cell_of(raw: &RawValue) -> Result<Cell, serde_json::Error> {
    let s = raw.get();
    Ok(match s.as_bytes().first() {
        Some(b'"') => Cell::Text(serde_json::from_str::<String>(s)?),
        _ if s == "null" => Cell::Null,
        _ => Cell::Raw(s.to_string()),
    })
}

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    let cell = cell_of(&v).map_err(serde::de::Error::custom)?;
                    out.push((k, cell));
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One good record: its values in column order and the line it starts on (row number for
/// parquet).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<Cell>,
}

/// A record that cannot be read as a row: why, the record as far as it could be read, and the
/// error to raise when bad rows are not skipped.
#[derive(Debug)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
    pub raw: String,
    pub error: Box<Error>,
}

pub type Record = std::result::Result<Row, BadRow>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_keep_key_order_and_values_as_written() {
        let o: OrderedObject = serde_json::from_str(
            r#"{"z":12345678901234567890,"a":"x","m":null,"e":1E2,"n":[1, 2]}"#,
        )
        .unwrap();
        assert_eq!(
            o.0,
            vec![
                ("z".to_string(), Cell::Raw("12345678901234567890".into())),
                ("a".to_string(), Cell::Text("x".into())),
                ("m".to_string(), Cell::Null),
                ("e".to_string(), Cell::Raw("1E2".into())),
                ("n".to_string(), Cell::Raw("[1, 2]".into())),
            ]
        );
        assert!(serde_json::from_str::<OrderedObject>("[1]").is_err());
    }

    #[test]
    fn typed_values_render_exactly() {
        assert_eq!(render(&AnyValue::Float64(1e300)), "1e300");
        assert_eq!(render(&AnyValue::Float64(0.1)), "0.1");
        assert_eq!(render(&AnyValue::UInt64(u64::MAX)), "18446744073709551615");
        assert_eq!(Cell::Typed(AnyValue::Boolean(true)).json(), "true");
        assert_eq!(Cell::Typed(AnyValue::Float64(f64::NAN)).json(), "\"NaN\"");
        assert_eq!(Cell::Text(String::new()).json(), "\"\"");
    }
}
