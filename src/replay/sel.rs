//! SEL replay (sel.md §1–4): the relay answers each request of the master with what it sent
//! after the same request in the capture — relay definition (`A5C0`), Fast Meter
//! configuration and data (`A5C1`, `A5D1`), Fast Operate configuration (`A5CE`), ASCII
//! commands (`ID`, `DNA`, `ACC`…) with their lines and prompt. The layouts sekit decodes carry
//! no timestamp, so `--rewrite-time` leaves SEL frames as they are.

use super::serve::{Session, SessionCtx};
use super::source::Conversation;
use super::table::TableSession;
use super::Replayer;
use crate::protocols::sel::PROTOCOL;
use crate::protocols::Protocol;
use crate::reassembly::Dir;

pub struct Sel;

/// ASCII commands by their text (white space and case ignored), loosely by their first
/// word; binary messages by their bytes, loosely by `A5 type`.
fn key(kind: &str, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    if kind.contains("line") || kind.contains("prompt") {
        let text: Vec<u8> = bytes
            .iter()
            .filter(|b| !b.is_ascii_whitespace())
            .map(u8::to_ascii_uppercase)
            .collect();
        let word = bytes
            .split(|b| b.is_ascii_whitespace())
            .find(|w| !w.is_empty())
            .unwrap_or_default()
            .to_ascii_uppercase();
        return (text, word);
    }
    (bytes.to_vec(), bytes[..bytes.len().min(2)].to_vec())
}

/// Telnet (TCP port 23) doubles every 0xFF data byte (RFC 854, sel.md §4).
pub fn telnet_escape(frame: Vec<u8>) -> Vec<u8> {
    if !frame.contains(&0xFF) {
        return frame;
    }
    let mut out = Vec::with_capacity(frame.len() + 8);
    for b in frame {
        out.push(b);
        if b == 0xFF {
            out.push(0xFF);
        }
    }
    out
}

impl Replayer for Sel {
    fn protocol(&self) -> Protocol {
        PROTOCOL
    }

    fn wire(&self, conv: &Conversation, frame: Vec<u8>) -> Vec<u8> {
        if conv.server.port() == 23 {
            telnet_escape(frame)
        } else {
            frame
        }
    }

    fn session(&self, ctx: SessionCtx) -> Box<dyn Session> {
        Box::new(TableSession::new(&ctx, Dir::S2C, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_spacing() {
        assert_eq!(
            key("ascii-line", b"id\r\n"),
            (b"ID".to_vec(), b"ID".to_vec())
        );
        assert_eq!(key("ascii-line", b"ACC 2\r\n").1, b"ACC".to_vec());
        assert_eq!(key("A5C0-req", &[0xA5, 0xC0]).1, vec![0xA5, 0xC0]);
        assert_eq!(telnet_escape(vec![1, 0xFF, 2]), vec![1, 0xFF, 0xFF, 2]);
    }
}
