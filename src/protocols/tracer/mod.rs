//! EPsolar Tracer charge controllers, the old MT-5 "remote meter" protocol of the Tracer-xxxxRN
//! series, as seen through serial-to-TCP bridges (spec: pi30_tracer.md of the shared
//! references, §8). Modbus Tracer-AN/BN traffic (§9) is not this protocol.
//!
//! - [`codes`]: command codes;
//! - [`frame`]: one frame (parse → borrowed [`frame::Frame`]; [`frame::build`] → bytes with
//!   the 0x1041 CRC), [`frame::fix_checksum`] and the shared splitter's framing;
//! - [`decode`]: the realtime block and the load switch;
//! - [`session`]: which direction polls, per connection.
//!
//! Framing is the shared length-driven splitter over [`frame::TracerFraming`]: resync at the
//! next preamble or sync; detection rule: two valid frames back to back, or a whole stream made
//! only of valid frames.

pub mod codes;
pub mod decode;
pub mod frame;
pub mod session;

use super::splitter::Splitter;
use super::{DecodeConfig, Decoder, Descriptor, Envelope, Message, Protocol};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "tracer",
    title: "EPsolar Tracer MT-5 charge controller",
    new_state: || Box::new(Splitter::<frame::TracerFraming>::default()),
    new_decoder: Some(new_decoder),
    fix_checksum: Some(frame::fix_checksum),
};

pub const PROTOCOL: Protocol = Protocol(&DESCRIPTOR);

fn new_decoder(_: &DecodeConfig) -> Result<Box<dyn Decoder>, String> {
    Ok(Box::new(session::Session::new()))
}

impl Decoder for session::Session {
    fn decode(&mut self, env: &Envelope<'_>, frame: &[u8]) -> Box<dyn Message> {
        Box::new(session::Session::decode(self, env, frame))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
