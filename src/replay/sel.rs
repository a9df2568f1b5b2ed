//! SEL replay (sel.md §1–4): the relay answers each request of the master with what it sent
//! after the same request in the capture — relay definition (`A5C0`), Fast Meter
//! configuration and data (`A5C1`, `A5D1`), Fast Operate configuration (`A5CE`), ASCII
//! commands (`ID`, `DNA`, `ACC`…) with their lines and prompt. The layouts sekit decodes carry
//! no timestamp, so `--rewrite-time` leaves SEL frames as they are.

use super::serve::{Session, SessionCtx};
use super::source::Conversation;
use super::table::TableSession;
use super::Replayer;
use crate::protocols::sel::codes::PROMPT;
use crate::protocols::sel::frame::{bare_request_at_end, request_name};
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

/// A binary response answers the bare request of its own type (`A5C1` answers `A5 C1`,
/// sel.md §1), wherever the capture order put it.
fn answers(kind: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    (bytes.first() == Some(&0xA5) && !kind.ends_with("-req"))
        .then(|| bytes[..bytes.len().min(2)].to_vec())
}

/// Two bytes `A5 t` of a request type, nothing after them: the bare request (sel.md §1), which
/// the framer can only tell once the master has gone quiet.
/// Line ends before it (after the last frame) are skipped.
fn bare_request(tail: &[u8]) -> Option<(&'static str, usize)> {
    let at = tail.iter().position(|b| !matches!(b, b'\r' | b'\n' | 0))?;
    let req = &tail[at..];
    if req.len() == 2 && bare_request_at_end(req) {
        Some((request_name(req[1])?, at))
    } else {
        None
    }
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

    /// ASCII lines (and the password prompt) get a CR LF (the framer reports lines without
    /// it, sel.md §3);
    /// under Telnet (TCP port 23) 0xFF is doubled.
    fn wire(&self, conv: &Conversation, kind: &str, mut frame: Vec<u8>) -> Vec<u8> {
        // A password prompt ends its line too: the relay's next output starts a new one.
        let password = kind == PROMPT && frame.first() != Some(&b'=');
        if kind.ends_with("line") || password {
            frame.extend_from_slice(b"\r\n");
        }
        if conv.server.port() == 23 {
            telnet_escape(frame)
        } else {
            frame
        }
    }

    fn session(&self, ctx: SessionCtx) -> Box<dyn Session> {
        let telnet = ctx.conv.server.port() == 23;
        let mut s = TableSession::new(&ctx, Dir::S2C, key, answers);
        s.idle = Some(bare_request);
        // A Telnet relay opens with negotiation (IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD):
        // a reader decides Telnet by a direction's first byte (sel.md §4), and the 0xFF bytes
        // doubled below are only undone on a Telnet stream.
        if telnet {
            s.preamble = vec![0xFF, 0xFB, 0x01, 0xFF, 0xFB, 0x03];
        }
        Box::new(s)
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
