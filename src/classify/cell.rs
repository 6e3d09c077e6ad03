//! One table value as it travels from input to output, keeping the difference between text,
//! a missing value and a JSON literal (number, boolean, nested value), so that jsonl written
//! back keeps its numbers as numbers.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Null, missing, or an empty field in a delimited file.
    Null,
    Text(String),
    /// A JSON literal written as is (a number, `true`, `[1,2]`); plain text in csv.
    Raw(String),
}

impl Cell {
    /// The value as text (`None` for null).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Null => None,
            Cell::Text(s) | Cell::Raw(s) => Some(s),
        }
    }

    /// A probability, written in full (shortest text that reads back as the same f32) so
    /// that thresholds applied to the written value agree with the ones applied here.
    pub fn float(v: f32) -> Cell {
        Cell::Raw(format!("{v}"))
    }
}

impl From<serde_json::Value> for Cell {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Cell::Null,
            serde_json::Value::String(s) => Cell::Text(s),
            other => Cell::Raw(other.to_string()),
        }
    }
}

/// A JSON object's entries in the order written (serde_json's map would sort them).
pub struct OrderedObject(pub Vec<(String, Cell)>);

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
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    out.push((k, Cell::from(v)));
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_keep_key_order_and_value_kinds() {
        let o: OrderedObject = serde_json::from_str(r#"{"z":1,"a":"x","m":null}"#).unwrap();
        assert_eq!(
            o.0,
            vec![
                ("z".to_string(), Cell::Raw("1".into())),
                ("a".to_string(), Cell::Text("x".into())),
                ("m".to_string(), Cell::Null),
            ]
        );
        assert!(serde_json::from_str::<OrderedObject>("[1]").is_err());
    }
}
