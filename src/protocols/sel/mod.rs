//! SEL relay protocols on TCP (spec: sel.md of the shared references): binary Fast Meter /
//! Fast Operate / Fast Message messages and the SEL ASCII command side, usually inside Telnet.
//!
//! - [`codes`]: message type codes (sel.md §1 table), the labels of ASCII units and the SEL
//!   command words (§3.1);
//! - [`frame`]: one binary message at the start of a buffer (sel.md §1, §2), bare 2-byte
//!   requests, building a message and fixing its check (§1 "Checksums"), the compressed-ASCII
//!   line checksum (§3.2);
//! - [`state`]: per direction, Telnet removal ([`crate::protocols::unwrap::telnet`], §4),
//!   then the scanner that splits binary messages from ASCII lines and prompts (§3, §4
//!   "slipstreaming"), resync and anomalies. Frame offsets are raw stream offsets (before
//!   Telnet removal); frame bytes are the decoded bytes;
//! - [`evidence`]: what speaks for SEL in a direction, and the detection rule;
//! - [`decode`]: pure decoding of one binary message (sel.md §2) into typed bodies;
//! - [`session`]: per-conversation state (configurations, name tables, logins) and the ASCII
//!   side (sel.md §3), one record per frame;
//! - [`secrets`]: password redaction with a salted hash (sel.md §3.4).

pub mod codes;
pub mod decode;
pub mod evidence;
pub mod frame;
pub mod secrets;
pub mod session;
pub mod state;

use super::{DecodeConfig, Decoder, Descriptor, Envelope, Message, Protocol};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "sel",
    title: "SEL relay (Fast Meter, Fast Operate, Fast Message, ASCII)",
    new_state: || Box::new(state::SelState::default()),
    new_decoder: Some(new_decoder),
    fix_checksum: Some(frame::fix_checksum),
};

pub const PROTOCOL: Protocol = Protocol(&DESCRIPTOR);

fn new_decoder(cfg: &DecodeConfig) -> Result<Box<dyn Decoder>, String> {
    Ok(Box::new(session::Session::new(cfg.reveal_secrets)))
}

impl Decoder for session::Session {
    fn decode(&mut self, env: &Envelope<'_>, frame: &[u8]) -> Box<dyn Message> {
        Box::new(session::Session::decode(self, env, frame))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
