//! PI30 pairing across a whole input (pi30_tracer.md §7): a reply cannot be decoded without
//! its command (QPIGS and QPIRI are both bare number lists), so each connection keeps the
//! commands it has sent and not yet seen answered, first in first out (PI30 is half-duplex:
//! one reply per command, in order). A reply with no command pending is decoded by its shape
//! where that is unambiguous ([`super::decode::guess`]), else left raw with an anomaly.

use super::decode::{self, Message};
use super::frame::{parse, Role};
use crate::protocols::{Envelope, Parsed};
use std::collections::{HashMap, VecDeque};

/// Commands kept per connection (the inverter tolerates one or two outstanding).
pub const MAX_PENDING: usize = 8;
/// Connections tracked at once; past it the table is cleared.
pub const MAX_CONNS: usize = 4096;

#[derive(Default)]
pub struct Session {
    pending: HashMap<u64, VecDeque<String>>,
    /// Replies decoded without their request.
    pub unpaired: u64,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Decodes one frame seen at `env` (its `conn` keys the pairing).
    pub fn decode(&mut self, env: &Envelope<'_>, bytes: &[u8]) -> Message {
        let f = match parse(bytes) {
            Parsed::Frame(f) if f.bytes.len() == bytes.len() => f,
            _ => return Message::invalid(),
        };
        let conn = env.conn.unwrap_or(0);
        if self.pending.len() >= MAX_CONNS && !self.pending.contains_key(&conn) {
            self.pending.clear();
        }
        let q = self.pending.entry(conn).or_default();
        match f.role {
            Role::Request => {
                let m = decode::request(&f);
                if q.len() >= MAX_PENDING {
                    q.pop_front();
                }
                // A setter pairs by its full text so the reply shows its argument.
                q.push_back(String::from_utf8_lossy(f.text).into_owned());
                m
            }
            Role::Reply => {
                let sent = q.pop_front();
                if sent.is_none() {
                    self.unpaired += 1;
                }
                let req = sent.as_deref().and_then(parse_request);
                let mut m = decode::reply(&f, req.as_ref().and_then(|r| r.command.as_deref()));
                if let Some(r) = req {
                    m.argument = r.argument;
                    if let Some(s) = r.values.get("setting") {
                        m.values.insert("setting".into(), s.clone());
                    }
                }
                m
            }
        }
    }
}

/// The decoded request of a command text kept in the queue.
fn parse_request(text: &str) -> Option<Message> {
    let frame = super::frame::build(text.as_bytes());
    match parse(&frame) {
        Parsed::Frame(f) => Some(decode::request(&f)),
        _ => None,
    }
}
