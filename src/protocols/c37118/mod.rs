//! IEEE C37.118.2 synchrophasor frames (spec: c37118.md of the shared references).
//!
//! - [`codes`]: frame types, command codes, unit and STAT names;
//! - [`frame`]: one frame (parse → borrowed [`frame::Frame`]; [`frame::build`] → bytes with
//!   FRAMESIZE and CHK) and the splitter's framing;
//! - [`decode`]: pure decoding, frame (+ configuration) → owned [`decode::Decoded`];
//! - [`session`]: configurations per IDCODE across flows, CFG-3 continuation;
//! - [`state`]: the per-stream splitter.

pub mod codes;
pub mod decode;
pub mod frame;
pub mod session;
pub mod state;

#[cfg(test)]
mod testdata;

use super::{DecodeConfig, Decoder, Descriptor, Envelope, Message, Protocol};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "c37118",
    title: "IEEE C37.118.2 synchrophasor",
    new_state: || Box::new(state::C37State::default()),
    new_decoder: Some(new_decoder),
    fix_checksum: Some(frame::fix_checksum),
};

pub const PROTOCOL: Protocol = Protocol(&DESCRIPTOR);

fn new_decoder(_: &DecodeConfig) -> Result<Box<dyn Decoder>, String> {
    Ok(Box::new(session::Session::new()))
}

impl Decoder for session::Session {
    fn decode(&mut self, _env: &Envelope<'_>, frame: &[u8]) -> Box<dyn Message> {
        Box::new(session::Session::decode(self, frame))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
