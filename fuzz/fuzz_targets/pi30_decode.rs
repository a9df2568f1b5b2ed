//! Byte 0 = flags, the rest is split on the marker `MARK` into frames, all decoded in order by
//! one `pi30::session::Session` (so requests and replies pair up across pieces). Flag bit 0:
//! before decoding, recompute each piece's CRC by Voltronic's rule when it is one whole frame
//! (`frame::fix_checksum`), so the fuzzer reaches the reply layouts. Flag bit 1: odd pieces are
//! on a second connection (pairing is per connection).
//!
//! Checks: no panic; every message serializes to valid JSON holding `"proto": "pi30"` and a
//! `role`; a piece whose CRC was recomputed decodes with `chk_ok` true.

#![no_main]

#[path = "pieces.rs"]
mod pieces;

use libfuzzer_sys::fuzz_target;
use pieces::pieces;
use sekit::protocols::pi30::frame::fix_checksum;
use sekit::protocols::pi30::session::Session;
use sekit::protocols::Envelope;
use serde_json::Value;

/// Separates frames in the input.
const MARK: &[u8] = b"\xDE\xAD\xBE\xEF";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Session::new();
    for (i, piece) in pieces(rest, MARK).into_iter().enumerate() {
        let mut frame = piece.to_vec();
        let fixed = flags & 1 != 0 && fix_checksum(&mut frame);
        let conn = if flags & 2 != 0 { 1 + (i as u64 % 2) } else { 1 };
        let env = Envelope {
            conn: Some(conn),
            ..Envelope::default()
        };
        let m = dec.decode(&env, &frame);
        let json = serde_json::to_vec(&m).expect("a message serializes");
        let v: Value = serde_json::from_slice(&json).expect("valid JSON");
        assert_eq!(v["proto"], "pi30");
        assert!(v["role"].is_string(), "role: {v}");
        if fixed {
            assert_eq!(v["chk_ok"], true, "a frame with its CRC recomputed checks: {v}");
        }
    }
});
