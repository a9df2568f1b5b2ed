//! Byte 0 = flags, the rest is split on the marker `MARK` into frames, all decoded in order by
//! one `sel::session::Session` (so configurations, name tables, logins and data interact).
//! Flag bit 0: before decoding, make each piece of 5 to 255 bytes that starts with `A5`
//! (room for the header and the longest, 2-byte check) consistent — `len` = its
//! length, the check (sum8 or CRC-16) recomputed — so the fuzzer reaches the layouts instead of
//! stopping at the checksum. Flag bit 1: pieces alternate directions (c2s, s2c) so that
//! commands, responses and logins pair up. Flag bit 2: the decoder reveals secrets.
//!
//! Checks: no panic; every record serializes to valid JSON holding `"proto": "sel"` and a
//! `msg` name; a data message reported decoded names the configuration it used; without
//! reveal, no record holds the text of a line that followed an access command in clear.

#![no_main]

#[path = "pieces.rs"]
mod pieces;

use libfuzzer_sys::fuzz_target;
use pieces::pieces;
use sekit::protocols::sel::frame::fix_checksum;
use sekit::protocols::sel::session::Session;
use sekit::protocols::Envelope;
use sekit::reassembly::Dir;
use serde_json::Value;

/// Separates frames in the input.
const MARK: &[u8] = b"\xA5\xA5\xA5\xA5";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Session::new(flags & 4 != 0);
    for (i, piece) in pieces(rest, MARK).into_iter().enumerate() {
        let mut frame = piece.to_vec();
        if flags & 1 != 0 && frame.len() >= 5 && frame.len() <= 255 && frame[0] == 0xA5 {
            frame[2] = frame.len() as u8;
            assert!(fix_checksum(&mut frame), "a message of len bytes gets its check");
        }
        let dir = if flags & 2 != 0 && i % 2 == 1 {
            Dir::S2C
        } else {
            Dir::C2S
        };
        let env = Envelope {
            conn: Some(1),
            dir: Some(dir),
            ..Envelope::default()
        };
        let r = dec.decode(&env, &frame);
        let json = serde_json::to_vec(&r).expect("a record serializes");
        let v: Value = serde_json::from_slice(&json).expect("valid JSON");
        assert_eq!(v["proto"], "sel");
        assert!(v["msg"].is_string(), "msg name: {v}");
        if v["msg"] == "A5D1" && v["decoded"] == true {
            assert_eq!(v["config"], "A5C1", "data decoded with its configuration: {v}");
        }
        if v["msg"] == "ascii-secret" && flags & 4 == 0 {
            assert_eq!(v["secret"]["redacted"], true);
            assert!(v["secret"].get("password").is_none());
        }
    }
});
