//! A JSON value read with its numbers as written: the text of every number is kept, so a
//! float goes to a CSV cell or a state document exactly as the record wrote it (Rust's shortest
//! round-trip digits in sedecode's records, Python's `repr` in semonitor's lines) and reads back
//! equal. Object members keep their order. Used by se2csv and se2state (docs/CSV_STATE.md).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// Deepest nesting read; deeper values are kept as their JSON text (a string cell).
const MAX_DEPTH: usize = 32;

/// One JSON value; numbers are their text.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Node<'a>>),
    Obj(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// Members of an object, in order, each as raw JSON.
struct RawMembers<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawMembers<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    v.push((k, m.next_value::<&'de RawValue>()?));
                }
                Ok(RawMembers(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Node<'a> {
    /// Parses one JSON text (a whole line).
    pub fn parse(text: &'a str) -> Result<Node<'a>, serde_json::Error> {
        let raw: &'a RawValue = serde_json::from_str(text)?;
        Node::from_raw(raw, 0)
    }

    fn from_raw(raw: &'a RawValue, depth: usize) -> Result<Node<'a>, serde_json::Error> {
        let s = raw.get();
        Ok(match s.as_bytes().first() {
            Some(b'{') if depth < MAX_DEPTH => {
                let m: RawMembers<'a> = serde_json::from_str(s)?;
                let mut v = Vec::with_capacity(m.0.len());
                for (k, r) in m.0 {
                    v.push((k, Node::from_raw(r, depth + 1)?));
                }
                Node::Obj(v)
            }
            Some(b'[') if depth < MAX_DEPTH => {
                let m: Vec<&'a RawValue> = serde_json::from_str(s)?;
                let mut v = Vec::with_capacity(m.len());
                for r in m {
                    v.push(Node::from_raw(r, depth + 1)?);
                }
                Node::Arr(v)
            }
            Some(b'{' | b'[') => Node::Str(Cow::Borrowed(s)),
            Some(b'"') => Node::Str(serde_json::from_str(s)?),
            Some(b't') => Node::Bool(true),
            Some(b'f') => Node::Bool(false),
            Some(b'n') => Node::Null,
            _ => Node::Num(s),
        })
    }

    /// The member `k` of an object.
    pub fn get(&self, k: &str) -> Option<&Node<'a>> {
        match self {
            Node::Obj(m) => m.iter().find(|(n, _)| n == k).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text: strings unquoted, numbers as written, `true`/`false`, null as "".
    pub fn text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Node::Null => Cow::Borrowed(""),
            Node::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Node::Num(s) => Cow::Borrowed(s),
            Node::Str(s) => Cow::Borrowed(s),
            _ => return None,
        })
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Node::Arr(_) | Node::Obj(_))
    }

    /// Appends this value as JSON.
    pub fn write_json(&self, o: &mut String) {
        match self {
            Node::Null => o.push_str("null"),
            Node::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
            Node::Num(s) => o.push_str(s),
            Node::Str(s) => json_string(o, s),
            Node::Arr(v) => {
                o.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    x.write_json(o);
                }
                o.push(']');
            }
            Node::Obj(m) => {
                o.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    json_string(o, k);
                    o.push(':');
                    x.write_json(o);
                }
                o.push('}');
            }
        }
    }
}

/// Appends `s` as a JSON string.
pub fn json_string(o: &mut String, s: &str) {
    // serde_json's escaping of a &str never fails.
    o.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_members_their_order() {
        let n = Node::parse(r#"{"b":1.50,"a":[1e+16,null,true],"c":{"d":"x\"y"}}"#).unwrap();
        let Node::Obj(m) = &n else { panic!() };
        assert_eq!(m[0], ("b".into(), Node::Num("1.50")));
        assert_eq!(
            m[1].1,
            Node::Arr(vec![Node::Num("1e+16"), Node::Null, Node::Bool(true)])
        );
        assert_eq!(n.get("c").unwrap().get("d").unwrap().as_str(), Some("x\"y"));
        let mut o = String::new();
        n.write_json(&mut o);
        assert_eq!(o, r#"{"b":1.50,"a":[1e+16,null,true],"c":{"d":"x\"y"}}"#);
        assert!(Node::parse("{\"a\":").is_err());
        assert!(Node::parse("nope").is_err());
    }

    #[test]
    fn deep_nesting_is_kept_as_text() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(Node::parse(&deep).is_ok());
    }
}
