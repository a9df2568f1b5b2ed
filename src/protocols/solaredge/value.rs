//! Decoded values (solaredge.md §3–4): one [`Value`] per field, [`Fields`] in output order,
//! binary32 floats with the "no value" sentinel, and Unix times as ISO 8601.

use crate::util::date::Civil;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The "no value" float: bytes `ff ff 7f ff` (−FLT_MAX little-endian, solaredge.md §4).
pub const NO_VALUE: [u8; 4] = [0xff, 0xff, 0x7f, 0xff];

/// One decoded value. `Float(None)` is the "no value" sentinel (serialised as null).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    UInt(u64),
    Int(i64),
    Float(Option<f64>),
    Str(String),
    List(Vec<Fields>),
}

impl Value {
    /// Any number as f64 (`None` for null, strings and lists).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::UInt(u) => Some(u as f64),
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => f,
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(u) => Some(u),
            Value::Int(i) => u64::try_from(i).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Fields]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The "no value" sentinel.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Float(None))
    }
}

/// Named values in output order; serialised as a JSON object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub Vec<(&'static str, Value)>);

impl Fields {
    /// The first value of that name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn push(&mut self, name: &'static str, value: Value) {
        self.0.push((name, value));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0.iter().map(|(n, v)| (*n, v))
    }

    pub(crate) fn uint(&mut self, name: &'static str, v: impl Into<u64>) {
        self.push(name, Value::UInt(v.into()));
    }

    pub(crate) fn int(&mut self, name: &'static str, v: impl Into<i64>) {
        self.push(name, Value::Int(v.into()));
    }

    pub(crate) fn float(&mut self, name: &'static str, v: Option<f64>) {
        self.push(name, Value::Float(v));
    }

    pub(crate) fn str(&mut self, name: &'static str, v: impl Into<String>) {
        self.push(name, Value::Str(v.into()));
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A binary32 at the start of `b` widened to f64; the "no value" bytes give `None`.
pub fn f32_value(b: [u8; 4]) -> Option<f64> {
    (b != NO_VALUE).then(|| f64::from(f32::from_le_bytes(b)))
}

/// Unix seconds (UTC) as ISO 8601, e.g. "2015-08-18T11:11:43Z".
pub fn iso_time(ts: u32) -> String {
    Civil::from_unix(i64::from(ts)).iso_z()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        // Expected values checked with Python datetime (UTC).
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_439_896_303), "2015-08-18T11:11:43Z"); // solaredge.md §4
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(iso_time(951_955_199), "2000-03-01T23:59:59Z");
        assert_eq!(iso_time(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(iso_time(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(iso_time(u32::MAX), "2106-02-07T06:28:15Z");
    }
}
