//! Transitional: the frame context SolarEdge's session still takes, and an ordered JSON object
//! for decoders that still write JSON text.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

/// Where a frame was seen: the fields of the record it came in, when it has them.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameCtx {
    /// The connection (or UDP flow) number.
    pub conn: Option<u64>,
    /// Capture time of the packet that completed the frame.
    pub ts: Option<f64>,
}

/// A JSON object's members in their order.
#[derive(Debug)]
pub struct JsonObject(pub Vec<(String, Box<RawValue>)>);

impl JsonObject {
    pub fn parse(text: &[u8]) -> JsonObject {
        let map: Vec<(String, Box<RawValue>)> =
            serde_json::from_slice::<OrderedMembers>(text).map_or_else(|_| Vec::new(), |m| m.0);
        JsonObject(map)
    }
}

struct OrderedMembers(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for OrderedMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    v.push(kv);
                }
                Ok(OrderedMembers(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
