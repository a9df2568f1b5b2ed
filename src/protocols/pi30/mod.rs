//! Voltronic PI30 (Axpert, MPP Solar and rebrands) inverter protocol as seen through
//! serial-to-TCP bridges and Eybond WiFi dongles (spec: pi30_tracer.md of the shared
//! references, §1–7).
//!
//! - [`codes`]: commands, setters, modes, warning bits, flags;
//! - [`frame`]: one frame (parse → borrowed [`frame::Frame`]; [`frame::build`] → bytes with
//!   the bumped CRC-XMODEM) and [`frame::fix_checksum`];
//! - [`decode`]: pure decoding of requests and replies;
//! - [`session`]: pairing replies with their commands per connection;
//! - [`state`]: the per-direction framer (Eybond removal, split on CR, NUL padding).

pub mod codes;
pub mod decode;
pub mod frame;
pub mod session;
pub mod state;

use super::{DecodeConfig, Decoder, Descriptor, Envelope, Message, Protocol};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "pi30",
    title: "Voltronic PI30 (Axpert) inverter",
    new_state: || Box::new(state::Pi30State::new()),
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
