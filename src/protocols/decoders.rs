//! Decoders by protocol, behind one interface so `sedecode` can hold one per protocol for the
//! whole input (state such as C37.118 configurations spans flows).

use super::Protocol;

/// Decodes frames of one protocol into JSON objects.
pub trait FrameDecoder {
    /// Appends the decoded form of `frame` (one complete frame) to `out` as a JSON object.
    fn decode_json(&mut self, frame: &[u8], out: &mut Vec<u8>);
}

impl FrameDecoder for super::c37118::decode::Decoder {
    fn decode_json(&mut self, frame: &[u8], out: &mut Vec<u8>) {
        let d = self.decode(frame);
        // Serialising owned numbers and strings into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, &d);
    }
}

/// The decoder of a protocol, if it has one yet.
pub fn decoder_for(p: Protocol) -> Option<Box<dyn FrameDecoder>> {
    match p {
        Protocol::C37118 => Some(Box::new(super::c37118::decode::Decoder::new())),
        Protocol::SolarEdge | Protocol::Sel => None,
    }
}
