//! JSON helpers shared by the platforms: ids that come as numbers or strings, and canonical
//! (sorted-key, compact) serialisation for signed parameters.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A platform id: 19-digit integers are sent as JSON numbers by some APIs and as strings by
/// others; both become the decimal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(Id(n.to_string())),
            Raw::Str(s) if !s.is_empty() && s.len() <= 128 => Ok(Id(s)),
            Raw::Str(s) => Err(serde::de::Error::custom(format!(
                "id `{s}` is empty or too long"
            ))),
        }
    }
}

/// An integer sent as a JSON number or a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(Int(n)),
            Raw::Str(s) => s
                .parse()
                .map(Int)
                .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an integer"))),
        }
    }
}

/// Compact JSON with every object's keys sorted (byte order), whatever serde_json's
/// `preserve_order` feature says: the form Douyin and Kuaishou sign.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_nested_keys() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":"<&>"}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":null,"d":[{"y":"<&>","z":1}]},"b":1}"#
        );
    }

    #[test]
    fn ids_and_ints() {
        let id: Id = serde_json::from_str("4781320682406083640").unwrap();
        assert_eq!(id.0, "4781320682406083640");
        let id: Id = serde_json::from_str(r#""abc""#).unwrap();
        assert_eq!(id.0, "abc");
        assert!(serde_json::from_str::<Id>(r#""""#).is_err());
        assert!(serde_json::from_str::<Id>("-1").is_err());
        assert_eq!(serde_json::from_str::<Int>(r#""12""#).unwrap().0, 12);
        assert!(serde_json::from_str::<Int>(r#""1.5""#).is_err());
    }
}
