//! IEEE C37.118.2 synchrophasor frames (spec: c37118.md of the shared references).

pub mod decode;
pub mod frame;
pub mod state;

use super::{DecodeConfig, Decoder, Descriptor, Envelope, Message, Protocol};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "c37118",
    title: "IEEE C37.118.2 synchrophasor",
    new_state: || Box::new(state::C37State::default()),
    new_decoder: Some(new_decoder),
    fix_checksum: None,
};

pub const PROTOCOL: Protocol = Protocol(&DESCRIPTOR);

fn new_decoder(_: &DecodeConfig) -> Result<Box<dyn Decoder>, String> {
    Ok(Box::new(decode::Decoder::new()))
}

impl Decoder for decode::Decoder {
    fn decode(&mut self, _env: &Envelope<'_>, frame: &[u8]) -> Box<dyn Message> {
        Box::new(decode::Decoder::decode(self, frame))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
