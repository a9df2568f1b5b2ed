//! Decoders by protocol, behind one interface so `sedecode` can hold one per protocol for the
//! whole input (state such as C37.118 configurations and SolarEdge session keys spans flows).

use super::Protocol;

/// Where a frame was seen: the fields of the record it came in, when it has them.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameCtx {
    /// The connection (or UDP flow) number.
    pub conn: Option<u64>,
    /// Capture time of the packet that completed the frame.
    pub ts: Option<f64>,
}

/// Decodes frames of one protocol into JSON objects.
pub trait FrameDecoder {
    /// Appends the decoded form of `frame` (one complete frame) to `out` as a JSON object.
    fn decode_json(&mut self, ctx: &FrameCtx, frame: &[u8], out: &mut Vec<u8>);
}

impl FrameDecoder for super::c37118::decode::Decoder {
    fn decode_json(&mut self, _ctx: &FrameCtx, frame: &[u8], out: &mut Vec<u8>) {
        let d = self.decode(frame);
        // Serialising owned numbers and strings into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, &d);
    }
}

impl FrameDecoder for super::solaredge::session::Session {
    fn decode_json(&mut self, ctx: &FrameCtx, frame: &[u8], out: &mut Vec<u8>) {
        let m = self.decode(ctx, frame);
        let _ = serde_json::to_writer(&mut *out, &m);
    }
}

/// The decoder of a protocol with default settings (SolarEdge without keys), if it has one.
pub fn decoder_for(p: Protocol) -> Option<Box<dyn FrameDecoder>> {
    match p {
        Protocol::C37118 => Some(Box::new(super::c37118::decode::Decoder::new())),
        Protocol::SolarEdge => Some(Box::new(
            super::solaredge::session::Session::new(Vec::new()),
        )),
        Protocol::Sel => None,
    }
}
