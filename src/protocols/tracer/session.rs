//! MT-5 roles across a whole input (pi30_tracer.md §8): a 0xAA manual-control frame looks the
//! same both ways (one data byte), so each connection remembers which direction polls (sent a
//! preamble or a short 0xA0 request); frames from it are requests, from the other replies.

use super::decode::{self, Message};
use super::frame::parse;
use crate::protocols::{Envelope, Parsed};
use std::collections::HashMap;

/// Connections tracked at once; past it the table is cleared.
pub const MAX_CONNS: usize = 4096;

#[derive(Default)]
pub struct Session {
    /// The polling direction per connection (`Dir` as its number).
    master: HashMap<u64, u8>,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    pub fn decode(&mut self, env: &Envelope<'_>, bytes: &[u8]) -> Message {
        let f = match parse(bytes) {
            Parsed::Frame(f) if f.bytes.len() == bytes.len() => f,
            _ => {
                return Message {
                    proto: "tracer",
                    id: None,
                    cmd: None,
                    cmd_name: String::new(),
                    role: None,
                    preamble: false,
                    data: String::new(),
                    crc: String::new(),
                    realtime: None,
                    load_on: None,
                    anomaly: Some("not a valid MT-5 frame"),
                }
            }
        };
        let conn = env.conn.unwrap_or(0);
        if let Some(dir) = env.dir {
            if decode::is_request(&f) {
                if self.master.len() >= MAX_CONNS && !self.master.contains_key(&conn) {
                    self.master.clear();
                }
                self.master.insert(conn, dir as u8);
            }
        }
        let role = match (env.dir, self.master.get(&conn)) {
            (Some(d), Some(&m)) => Some(if d as u8 == m { "request" } else { "reply" }),
            _ if decode::is_request(&f) => Some("request"),
            _ => None,
        };
        decode::decode(&f, role)
    }
}
